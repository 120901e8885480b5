{{/* Chart name. */}}
{{- define "otelcol-llt.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name. */}}
{{- define "otelcol-llt.fullname" -}}
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

{{- define "otelcol-llt.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "otelcol-llt.selectorLabels" -}}
app.kubernetes.io/name: {{ include "otelcol-llt.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "otelcol-llt.labels" -}}
helm.sh/chart: {{ include "otelcol-llt.chart" . }}
{{ include "otelcol-llt.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- end }}

{{- define "otelcol-llt.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "otelcol-llt.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Fails rendering on an invalid mode or topology. */}}
{{- define "otelcol-llt.validate" -}}
{{- if not (has .Values.mode (list "deployment" "daemonset")) }}
{{- fail (printf "mode must be \"deployment\" or \"daemonset\", not %q" (toString .Values.mode)) }}
{{- end }}
{{- if not (has .Values.topology (list "launcher" "sidecar" "agent" "gateway")) }}
{{- fail (printf "topology must be \"launcher\", \"sidecar\", \"agent\" or \"gateway\", not %q" (toString .Values.topology)) }}
{{- end }}
{{- if and (eq .Values.topology "agent") (ne .Values.mode "daemonset") }}
{{- fail (printf "topology agent runs one collector per node: mode must be \"daemonset\", not %q" (toString .Values.mode)) }}
{{- end }}
{{- if and (eq .Values.topology "agent") (not .Values.fleet.gateway.service) }}
{{- fail "fleet.gateway.service must name the gateway's headless Service (topology agent), e.g. llt-gateway-otelcol-llt-headless" }}
{{- end }}
{{- if and (eq .Values.topology "agent") (not (has .Values.fleet.resolver (list "dns" "k8s"))) }}
{{- fail (printf "fleet.resolver must be \"dns\" or \"k8s\", not %q" (toString .Values.fleet.resolver)) }}
{{- end }}
{{- if and (eq .Values.topology "gateway") (ne .Values.mode "deployment") }}
{{- fail (printf "topology gateway: mode must be \"deployment\", not %q" (toString .Values.mode)) }}
{{- end }}
{{- if and (eq .Values.topology "gateway") .Values.gpu.enabled }}
{{- fail "gpu.enabled must be false with topology gateway: the gateway runs no GPU work" }}
{{- end }}
{{- if and (eq .Values.topology "gateway") (not (index .Values.ports "otlp-grpc").enabled) }}
{{- fail "ports.otlp-grpc.enabled must be true with topology gateway: the agents send OTLP/gRPC to it" }}
{{- end }}
{{- if not .Values.image.repository }}
{{- fail "image.repository must be set (e.g. <your registry>/otelcol-llt)" }}
{{- end }}
{{- end }}

{{/* The default collector config, before .Values.config is merged over it. */}}
{{- define "otelcol-llt.defaultConfig" -}}
{{- if eq .Values.topology "agent" }}
{{- include "otelcol-llt.agentConfig" . }}
{{- else if eq .Values.topology "gateway" }}
{{- include "otelcol-llt.gatewayConfig" . }}
{{- else }}
{{- include "otelcol-llt.podConfig" . }}
{{- end }}
{{- end }}

{{/* The default config of the launcher and sidecar topologies: llama-server in the pod. */}}
{{- define "otelcol-llt.podConfig" -}}
{{- $launcher := eq .Values.topology "launcher" }}
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
  {{- if $launcher }}
  llamalauncher:
    model: ${env:LLT_MODEL}
    {{- with .Values.launcher.executable }}
    executable: {{ . | quote }}
    {{- end }}
    host: 127.0.0.1
    port: 8080
    context_size: {{ .Values.launcher.contextSize }}
    parallel: {{ .Values.launcher.parallel }}
    gpu:
      devices: ${env:LLT_GPU_DEVICES:-[]}
      layers: all
      flash_attn: auto
  {{- end }}
receivers:
  llamacpp:
    {{- if $launcher }}
    launcher: llamalauncher
    {{- else }}
    endpoint: http://127.0.0.1:{{ .Values.llamacpp.port }}
    {{- end }}
    collection_interval: 1s
    gateway:
      endpoint: 0.0.0.0:8081
      capture_content: {{ .Values.captureContent }}
  nvml:
    collection_interval: 1s
    {{- if $launcher }}
    launcher: llamalauncher
    {{- end }}
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
        endpoint: 0.0.0.0:4318
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
  batch: {}
  genaienrich:
    normalize:
      enabled: true
      keep_original: false
    {{- if $launcher }}
    launcher: llamalauncher
    {{- else }}
    models:
      - name: {{ .Values.model.file | quote }}
        gguf: {{ printf "/models/%s" .Values.model.file | quote }}
    {{- end }}
exporters:
  debug:
    verbosity: basic
  plotlyhtml:
    path: /tmp/dashboard.html
    interval: 10s
    serve:
      endpoint: 0.0.0.0:8050
      refresh: 2s
    retention: 1h
    dashboards: [overview, live, unified]
service:
  extensions:
    - health_check
    {{- if $launcher }}
    - llamalauncher
    {{- end }}
  pipelines:
    traces:
      receivers: [otlp, llamacpp]
      processors: [memory_limiter, genaienrich, batch]
      exporters: [debug, plotlyhtml]
    metrics:
      receivers: [otlp, llamacpp, nvml]
      processors: [memory_limiter, genaienrich, batch]
      exporters: [debug, plotlyhtml]
    logs:
      receivers: [otlp, llamacpp]
      processors: [memory_limiter, batch]
      exporters: [debug, plotlyhtml]
{{- end }}

{{/* The final collector config as a dict: default, .Values.config merged over it, then .Values.exporters. */}}
{{- define "otelcol-llt.configDict" -}}
{{- $cfg := mustMergeOverwrite (include "otelcol-llt.defaultConfig" . | fromYaml) (deepCopy (.Values.config | default dict)) }}
{{- range $name, $exp := .Values.exporters }}
{{- $exporters := $cfg.exporters | default dict }}
{{- $_ := set $exporters $name ($exp.config | default dict) }}
{{- $_ := set $cfg "exporters" $exporters }}
{{- range $p := ($exp.pipelines | default (list "traces" "metrics" "logs")) }}
{{- $pipeline := index $cfg.service.pipelines $p }}
{{- if not $pipeline }}
{{- fail (printf "exporters.%s.pipelines: no pipeline %q in config.service.pipelines" $name $p) }}
{{- end }}
{{- $_ := set $pipeline "exporters" (append ($pipeline.exporters | default list) $name | uniq) }}
{{- end }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/* resources of the container that runs llama-server, with the GPU limit when gpu.enabled. */}}
{{- define "otelcol-llt.gpuResources" -}}
{{- $res := deepCopy (.resources | default dict) }}
{{- if .gpu.enabled }}
{{- $limits := $res.limits | default dict }}
{{- $_ := set $limits "nvidia.com/gpu" (int .gpu.count) }}
{{- $_ := set $res "limits" $limits }}
{{- end }}
{{- toYaml $res }}
{{- end }}

{{- define "otelcol-llt.runtimeClassName" -}}
{{- if .Values.runtimeClassName }}
{{- .Values.runtimeClassName }}
{{- else if .Values.gpu.enabled }}
{{- "nvidia" }}
{{- end }}
{{- end }}

{{/* The enabled ports of .Values.ports that something listens on in this topology, as a YAML map:
the llamacpp gateway (8081) only where llama-server is in the pod (launcher, sidecar), the dashboard
(8050) not on agents. */}}
{{- define "otelcol-llt.ports" -}}
{{- $ports := dict }}
{{- range $name, $port := .Values.ports }}
{{- if and $port.enabled (not (and (eq $name "gateway") (has $.Values.topology (list "agent" "gateway")))) (not (and (eq $name "dashboard") (eq $.Values.topology "agent"))) }}
{{- $_ := set $ports $name $port }}
{{- end }}
{{- end }}
{{- toYaml $ports }}
{{- end }}

{{/* The pod spec shared by the Deployment and the DaemonSet. */}}
{{- define "otelcol-llt.podTemplate" -}}
metadata:
  annotations:
    checksum/config: {{ include "otelcol-llt.configDict" . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  labels:
    {{- include "otelcol-llt.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "otelcol-llt.serviceAccountName" . }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with (include "otelcol-llt.runtimeClassName" .) }}
  runtimeClassName: {{ . }}
  {{- end }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: otelcol-llt
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      {{- if .Values.command.name }}
      command:
        - {{ .Values.command.name | quote }}
      {{- end }}
      args:
        - --config=/conf/config.yaml
        {{- range .Values.command.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      env:
        - name: MY_POD_IP
          valueFrom:
            fieldRef:
              fieldPath: status.podIP
        - name: OTEL_K8S_NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        # The name k8s_observer's `node` and k8s_attributes' `filter.node_from_env_var` read.
        - name: K8S_NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        - name: OTEL_K8S_POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: OTEL_K8S_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        {{- if and (eq .Values.topology "agent") .Values.gpu.enabled }}
        # nvml reads every GPU of the node without claiming one (the NVIDIA container runtime
        # mounts them for this variable); the llama-server pods hold the nvidia.com/gpu limits.
        - name: NVIDIA_VISIBLE_DEVICES
          value: all
        - name: NVIDIA_DRIVER_CAPABILITIES
          value: utility
        {{- end }}
        {{- if eq .Values.topology "launcher" }}
        - name: LLT_MODEL
          value: {{ printf "/models/%s" .Values.model.file | quote }}
        - name: LLT_GPU_DEVICES
          value: {{ ternary "[0]" "[]" .Values.gpu.enabled | quote }}
        {{- end }}
        {{- with .Values.extraEnvs }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        {{- range $name, $port := (include "otelcol-llt.ports" . | fromYaml) }}
        - name: {{ $name }}
          containerPort: {{ $port.containerPort }}
          protocol: {{ $port.protocol | default "TCP" }}
        {{- end }}
        - name: health
          containerPort: 13133
          protocol: TCP
      {{- with .Values.livenessProbe }}
      livenessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.readinessProbe }}
      readinessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if eq .Values.topology "launcher" }}
      {{- with (include "otelcol-llt.gpuResources" (dict "resources" .Values.resources "gpu" .Values.gpu) | fromYaml) }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- else }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- end }}
      volumeMounts:
        - name: config
          mountPath: /conf
          readOnly: true
        {{- if has .Values.topology (list "launcher" "sidecar") }}
        - name: models
          mountPath: /models
          readOnly: true
        {{- end }}
        - name: tmp
          mountPath: /tmp
    {{- if eq .Values.topology "sidecar" }}
    - name: llama-server
      image: "{{ .Values.llamacpp.image.repository }}:{{ .Values.llamacpp.image.tag }}"
      imagePullPolicy: {{ .Values.llamacpp.image.pullPolicy }}
      args:
        - -m
        - {{ printf "/models/%s" .Values.model.file | quote }}
        - --host
        - 127.0.0.1
        - --port
        - {{ .Values.llamacpp.port | quote }}
        - --ctx-size
        - {{ .Values.llamacpp.contextSize | quote }}
        - --parallel
        - {{ .Values.llamacpp.parallel | quote }}
        - --metrics
        - --slots
        - -ngl
        - {{ ternary "999" "0" .Values.gpu.enabled | quote }}
        {{- range .Values.llamacpp.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      {{- with .Values.llamacpp.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with (include "otelcol-llt.gpuResources" (dict "resources" .Values.llamacpp.resources "gpu" .Values.gpu) | fromYaml) }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: models
          mountPath: /models
          readOnly: true
    {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "otelcol-llt.fullname" . }}
        items:
          - key: relay
            path: config.yaml
    {{- if has .Values.topology (list "launcher" "sidecar") }}
    - name: models
      {{- if .Values.model.pvc.claimName }}
      persistentVolumeClaim:
        claimName: {{ .Values.model.pvc.claimName }}
        readOnly: true
      {{- else if .Values.model.hostPath.path }}
      hostPath:
        path: {{ .Values.model.hostPath.path }}
        type: Directory
      {{- else }}
      emptyDir: {}
      {{- end }}
    {{- end }}
    - name: tmp
      emptyDir: {}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- $tolerations := .Values.tolerations | default list }}
  {{- if .Values.gpu.enabled }}
  {{- $tolerations = append $tolerations (dict "key" "nvidia.com/gpu" "operator" "Exists" "effect" "NoSchedule") }}
  {{- end }}
  {{- with $tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
