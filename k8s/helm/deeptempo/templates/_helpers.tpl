{{/* Names and labels, as `helm create` makes them. */}}
{{- define "deeptempo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "deeptempo.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "deeptempo.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "deeptempo.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "deeptempo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "deeptempo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "deeptempo.labels" -}}
{{ include "deeptempo.selectorLabels" . }}
app.kubernetes.io/part-of: deeptempo-ai-soc
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret the pods read: existingSecret, else the chart's (its values, or an ExternalSecret's). */}}
{{- define "deeptempo.secretName" -}}
{{- .Values.existingSecret | default (printf "%s-secrets" (include "deeptempo.fullname" .)) -}}
{{- end -}}

{{/* Whether the chart renders the Secret itself from .Values.secrets. */}}
{{- define "deeptempo.managesSecret" -}}
{{- if and (not .Values.existingSecret) (not .Values.externalSecret.enabled) -}}true{{- end -}}
{{- end -}}

{{/* The database the backend uses: "external", "postgresql" (in the release) or "" (none: JSON files). */}}
{{- define "deeptempo.database" -}}
{{- if and .Values.postgresql.enabled .Values.externalDatabase.host -}}
{{- fail "set externalDatabase.host or postgresql.enabled, not both: the backend uses one database" -}}
{{- else if .Values.postgresql.enabled -}}postgresql
{{- else if .Values.externalDatabase.host -}}external
{{- end -}}
{{- end -}}

{{- define "deeptempo.postgresql.fullname" -}}
{{- printf "%s-postgresql" (include "deeptempo.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "deeptempo.postgresql.selectorLabels" -}}
app.kubernetes.io/name: {{ include "deeptempo.name" . }}-postgresql
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "deeptempo.postgresql.labels" -}}
{{ include "deeptempo.postgresql.selectorLabels" . }}
app.kubernetes.io/component: database
app.kubernetes.io/part-of: deeptempo-ai-soc
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret and key holding the database password: the chart's own Secret's POSTGRES_PASSWORD (the
     key the backend reads), unless an existingSecret of the database's says otherwise. */}}
{{- define "deeptempo.databaseSecret" -}}
{{- $database := include "deeptempo.database" . -}}
{{- if and (eq $database "postgresql") .Values.postgresql.auth.existingSecret -}}{{ .Values.postgresql.auth.existingSecret }}
{{- else if and (eq $database "external") .Values.externalDatabase.existingSecret -}}{{ .Values.externalDatabase.existingSecret }}
{{- else -}}{{ include "deeptempo.secretName" . }}
{{- end -}}
{{- end -}}

{{- define "deeptempo.databaseSecretKey" -}}
{{- $database := include "deeptempo.database" . -}}
{{- if and (eq $database "postgresql") .Values.postgresql.auth.existingSecret -}}{{ .Values.postgresql.auth.secretKeys.userPasswordKey }}
{{- else if and (eq $database "external") .Values.externalDatabase.existingSecret -}}{{ .Values.externalDatabase.existingSecretPasswordKey }}
{{- else -}}POSTGRES_PASSWORD
{{- end -}}
{{- end -}}

{{/* Whether the database password lives in another Secret than the backend's other secrets. */}}
{{- define "deeptempo.databaseSecretApart" -}}
{{- if and (include "deeptempo.database" .) (ne (include "deeptempo.databaseSecret" .) (include "deeptempo.secretName" .)) -}}true{{- end -}}
{{- end -}}

{{/* An image's reference, Bitnami's way: global.imageRegistry over the image's own registry (none: the
     node's default), then the repository, then @digest when set, else :tag.
     Called with (dict "image" .Values.image "global" .Values.global). */}}
{{- define "deeptempo.imageReference" -}}
{{- $registry := (.global | default dict).imageRegistry | default .image.registry -}}
{{- $repository := ternary (printf "%s/%s" $registry .image.repository) .image.repository (ne ($registry | toString) "") -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (.image.tag | toString) -}}
{{- end -}}
{{- end -}}

{{/* The pod's imagePullSecrets: global.imagePullSecrets and the image's pullSecrets, each a name or
     {name: ...} as Bitnami's charts take them, once each; nothing when there are none.
     Called with (dict "image" .Values.image "global" .Values.global). */}}
{{- define "deeptempo.imagePullSecrets" -}}
{{- $names := list -}}
{{- range concat ((.global | default dict).imagePullSecrets | default list) (.image.pullSecrets | default list) -}}
{{- if kindIs "map" . -}}{{- $names = append $names .name -}}{{- else -}}{{- $names = append $names . -}}{{- end -}}
{{- end -}}
{{- if $names -}}
imagePullSecrets:
{{- range $names | uniq }}
  - name: {{ . | quote }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* A pod's labels: the chart's, with the user's podLabels beside them; the chart's win a clash, since
     the Service, the PodDisruptionBudget and the NetworkPolicy select the pods by them.
     Called with (dict "labels" (include "...labels" .) "podLabels" .Values.podLabels). */}}
{{- define "deeptempo.podLabels" -}}
{{- toYaml (merge (fromYaml .labels) (.podLabels | default dict)) -}}
{{- end -}}

{{/* The test hook's labels: the release's, under a name of its own, so that neither the Service nor the
     PodDisruptionBudget nor the NetworkPolicies of the backend and PostgreSQL select it. */}}
{{- define "deeptempo.test.selectorLabels" -}}
app.kubernetes.io/name: {{ include "deeptempo.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "deeptempo.test.labels" -}}
{{ include "deeptempo.test.selectorLabels" . }}
app.kubernetes.io/component: test
app.kubernetes.io/part-of: deeptempo-ai-soc
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
