{{- define "pushd.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pushd.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "pushd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pushd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "pushd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "pushd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* True (non-empty) when the store is the embedded single-node one. */}}
{{- define "pushd.sqlite" -}}
{{- if eq (toString .Values.store) "sqlite" -}}true{{- end -}}
{{- end -}}

{{- define "pushd.secretName" -}}
{{- default (include "pushd.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* Whether pods read a Secret at all: one of ours with something in it, or the operator's. */}}
{{- define "pushd.hasSecret" -}}
{{- if or .Values.secrets.existingSecret .Values.secrets.clusterSecret .Values.secrets.adminToken -}}true{{- end -}}
{{- end -}}

{{- define "pushd.publicUrl" -}}
{{- default (printf "http://%s.%s.svc:%v" (include "pushd.fullname" .) .Release.Namespace .Values.service.port) .Values.publicUrl -}}
{{- end -}}

{{/*
Refusals made at render time, so a setup pushd would refuse at start never
reaches the cluster as a crash-looping pod.
*/}}
{{- define "pushd.validate" -}}
{{- if and (include "pushd.sqlite" .) (gt (int .Values.replicaCount) 1) -}}
{{- fail "store: sqlite is one node's embedded database: replicaCount must be 1 (use a scylla:// store for more nodes)" -}}
{{- end -}}
{{- if and (include "pushd.sqlite" .) .Values.cluster.enabled -}}
{{- fail "cluster.enabled needs a scylla:// store: nodes find each other and route through the shared store" -}}
{{- end -}}
{{- if and .Values.cluster.enabled (not .Values.secrets.existingSecret) (lt (len (toString .Values.secrets.clusterSecret)) 16) -}}
{{- fail "cluster.enabled needs secrets.clusterSecret (at least 16 characters, e.g. openssl rand -hex 32) or secrets.existingSecret" -}}
{{- end -}}
{{- if and .Values.secrets.adminToken (lt (len (toString .Values.secrets.adminToken)) 16) -}}
{{- fail "secrets.adminToken must be at least 16 characters" -}}
{{- end -}}
{{- end -}}
