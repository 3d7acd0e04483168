{{- define "virtsnap.labels" -}}
app.kubernetes.io/name: virtsnap
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "virtsnap.selectorLabels" -}}
app.kubernetes.io/name: virtsnap
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: agent
{{- end }}

{{- define "virtsnap.agentName" -}}
{{- printf "%s-agent" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
