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
