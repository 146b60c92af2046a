{{/* Chart name, overridable. */}}
{{- define "dittofs-hooks.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of every resource: the release name, plus the chart name unless the release name already contains it.
Truncated to 63 characters (DNS label limit).
*/}}
{{- define "dittofs-hooks.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "dittofs-hooks.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "dittofs-hooks.labels" -}}
helm.sh/chart: {{ include "dittofs-hooks.chart" . }}
{{ include "dittofs-hooks.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dittofs
{{- end }}

{{/* Labels that select the hook pods: never change them (Deployment selectors are immutable). */}}
{{- define "dittofs-hooks.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dittofs-hooks.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the hook pods run as. */}}
{{- define "dittofs-hooks.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dittofs-hooks.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: a digest wins over the tag; the tag defaults to the appVersion. */}}
{{- define "dittofs-hooks.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding HOOKS_SECRET_KEY. */}}
{{- define "dittofs-hooks.secretKeyName" -}}
{{- default (printf "%s-secret-key" (include "dittofs-hooks.fullname" .)) .Values.secretKey.existingSecret }}
{{- end }}

{{/* One hook of the CompositeController; call with (dict "root" $ "path" "/sync" "timeout" "15s"). */}}
{{- define "dittofs-hooks.hook" -}}
version: {{ .root.Values.compositeController.hookVersion }}
webhook:
  service:
    name: {{ include "dittofs-hooks.fullname" .root }}
    namespace: {{ .root.Release.Namespace }}
    port: {{ .root.Values.service.port }}
    protocol: http
  path: {{ .path }}
  timeout: {{ .timeout }}
{{- end }}
