{{/* Generated from the secrets spec by `deeptempo-deploy render helm`; a test keeps it equal. */}}
{{- define "deeptempo.specSecrets" -}}CLAUDE_API_KEY ANTHROPIC_API_KEY AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY TIMESKETCH_PASSWORD SPLUNK_PASSWORD CRIBL_PASSWORD GITHUB_TOKEN POSTGRESQL_CONNECTION_STRING POSTGRES_PASSWORD{{- end -}}
