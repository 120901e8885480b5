{{/*
A GPU fleet: topology agent (a DaemonSet, one collector per GPU node) and topology gateway (a
Deployment the agents send to). See deploy/helm/README.md, "A GPU fleet: agents and a gateway".
*/}}

{{/* The gateway's headless Service: what the agents' load_balancing exporters resolve. */}}
{{- define "otelcol-llt.headlessServiceName" -}}
{{- printf "%s-headless" (include "otelcol-llt.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{/* The load_balancing resolver of the agents: the gateway's headless Service by DNS or by its EndpointSlices. */}}
{{- define "otelcol-llt.agentResolver" -}}
{{- $gw := .Values.fleet.gateway }}
{{- $ns := $gw.namespace | default .Release.Namespace }}
{{- if eq .Values.fleet.resolver "k8s" }}
k8s:
  service: {{ printf "%s.%s" $gw.service $ns }}
  ports: [{{ $gw.port }}]
{{- else }}
dns:
  hostname: {{ printf "%s.%s.svc" $gw.service $ns }}
  port: {{ $gw.port | toString | quote }}
{{- end }}
{{- end }}

{{/*
The agent: k8s_observer watches the pods (and the node object) of its own node; receiver_creator
starts a llamacpp receiver per annotated llama-server port and one nvml receiver for the node's
GPUs (the node endpoint gives the GPU series k8s.node.name); k8s_attributes adds the workload;
three load_balancing exporters send everything to the gateway pods, spans by trace ID (a trace
stays on one gateway), series by resource (one llama-server's series stay on one gateway).
*/}}
{{- define "otelcol-llt.agentConfig" -}}
{{- $interval := .Values.fleet.collectionInterval }}
{{- $resolver := include "otelcol-llt.agentResolver" . | fromYaml }}
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
  k8s_observer:
    auth_type: serviceAccount
    node: ${env:K8S_NODE_NAME}
    observe_pods: true
    observe_nodes: true
receivers:
  receiver_creator:
    watch_observers: [k8s_observer]
    receivers:
      # Pods annotated llamatelemetry.io/scrape: "true": the container port named by number in
      # llamatelemetry.io/port, or every declared port of the pod without that annotation.
      # The llamacpp receiver takes receiver_creator's host:port endpoint as http://host:port.
      llamacpp/annotated:
        rule: >-
          type == "port" && pod.annotations["llamatelemetry.io/scrape"] == "true" &&
          pod.annotations["llamatelemetry.io/port"] in ["", string(port)]
        config:
          collection_interval: {{ $interval }}
      # This node (the observer reports only its own): the GPUs, with k8s.node.name.
      nvml/node:
        rule: type == "k8s.node"
        config:
          collection_interval: {{ $interval }}
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
  k8s_attributes:
    auth_type: serviceAccount
    passthrough: false
    filter:
      node_from_env_var: K8S_NODE_NAME
    extract:
      metadata:
        - k8s.namespace.name
        - k8s.pod.name
        - k8s.pod.uid
        - k8s.node.name
        - k8s.deployment.name
        - k8s.statefulset.name
        - k8s.daemonset.name
    pod_association:
      - sources: [{from: resource_attribute, name: k8s.pod.uid}]
      - sources: [{from: resource_attribute, name: k8s.pod.ip}]
      - sources: [{from: connection}]
  batch: {}
exporters:
  load_balancing/traces:
    routing_key: traceID
    protocol:
      otlp:
        tls:
          insecure: true
    resolver:
      {{- toYaml $resolver | nindent 6 }}
  load_balancing/metrics:
    routing_key: resource
    protocol:
      otlp:
        tls:
          insecure: true
    resolver:
      {{- toYaml $resolver | nindent 6 }}
  load_balancing/logs:
    routing_key: traceID
    protocol:
      otlp:
        tls:
          insecure: true
    resolver:
      {{- toYaml $resolver | nindent 6 }}
service:
  extensions: [health_check, k8s_observer]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, k8s_attributes, batch]
      exporters: [load_balancing/traces]
    metrics:
      receivers: [receiver_creator, otlp]
      processors: [memory_limiter, k8s_attributes, batch]
      exporters: [load_balancing/metrics]
    logs:
      receivers: [otlp]
      processors: [memory_limiter, k8s_attributes, batch]
      exporters: [load_balancing/logs]
{{- end }}

{{/* The gateway: OTLP from the agents, GenAI enrichment, the dashboards. */}}
{{- define "otelcol-llt.gatewayConfig" -}}
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
receivers:
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
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, genaienrich, batch]
      exporters: [debug, plotlyhtml]
    metrics:
      receivers: [otlp]
      processors: [memory_limiter, genaienrich, batch]
      exporters: [debug, plotlyhtml]
    logs:
      receivers: [otlp]
      processors: [memory_limiter, genaienrich, batch]
      exporters: [debug, plotlyhtml]
{{- end }}

{{/*
The ClusterRole's rules, as {rules: [...]}, derived from the final collector config: what its
Kubernetes components read through the API with the pod's service account, plus clusterRole.rules.
- k8s_observer (auth_type serviceAccount): pods (observe_pods, on by default), nodes
  (observe_nodes), services (observe_services), networking.k8s.io ingresses (observe_ingresses).
- k8s_attributes in a pipeline, not passthrough: pods, namespaces, nodes, and apps replicasets
  (read when the config asks for k8s.deployment.uid or deployment/replicaset labels).
- load_balancing in a pipeline with the k8s resolver: discovery.k8s.io endpointslices.
All get, list, watch.
*/}}
{{- define "otelcol-llt.clusterRoleRules" -}}
{{- $cfg := include "otelcol-llt.configDict" . | fromYaml }}
{{- $svc := $cfg.service | default dict }}
{{- $core := list }}
{{- $apps := list }}
{{- $networking := list }}
{{- $discovery := list }}
{{- range $id := ($svc.extensions | default list) }}
{{- $ext := index ($cfg.extensions | default dict) $id | default dict }}
{{- if and (eq (first (splitList "/" $id)) "k8s_observer") (eq ($ext.auth_type | default "serviceAccount") "serviceAccount") }}
{{- if or (not (hasKey $ext "observe_pods")) $ext.observe_pods }}
{{- $core = append $core "pods" }}
{{- end }}
{{- if $ext.observe_nodes }}
{{- $core = append $core "nodes" }}
{{- end }}
{{- if $ext.observe_services }}
{{- $core = append $core "services" }}
{{- end }}
{{- if $ext.observe_ingresses }}
{{- $networking = append $networking "ingresses" }}
{{- end }}
{{- end }}
{{- end }}
{{- $processors := list }}
{{- $exporters := list }}
{{- range $name, $p := ($svc.pipelines | default dict) }}
{{- $processors = concat $processors (($p | default dict).processors | default list) }}
{{- $exporters = concat $exporters (($p | default dict).exporters | default list) }}
{{- end }}
{{- range $id := uniq $processors }}
{{- $p := index ($cfg.processors | default dict) $id | default dict }}
{{- if and (has (first (splitList "/" $id)) (list "k8s_attributes" "k8sattributes")) (not $p.passthrough) (eq ($p.auth_type | default "serviceAccount") "serviceAccount") }}
{{- $core = concat $core (list "pods" "namespaces" "nodes") }}
{{- $apps = append $apps "replicasets" }}
{{- end }}
{{- end }}
{{- range $id := uniq $exporters }}
{{- $e := index ($cfg.exporters | default dict) $id | default dict }}
{{- if and (has (first (splitList "/" $id)) (list "load_balancing" "loadbalancing")) (hasKey (($e.resolver | default dict)) "k8s") }}
{{- $discovery = append $discovery "endpointslices" }}
{{- end }}
{{- end }}
{{- $rules := list }}
{{- range $group, $resources := dict "" $core "apps" $apps "networking.k8s.io" $networking "discovery.k8s.io" $discovery }}
{{- if $resources }}
{{- $rules = append $rules (dict "apiGroups" (list $group) "resources" ($resources | uniq | sortAlpha) "verbs" (list "get" "list" "watch")) }}
{{- end }}
{{- end }}
{{- toYaml (dict "rules" (concat $rules ($.Values.clusterRole.rules | default list))) }}
{{- end }}

{{- define "otelcol-llt.clusterRoleName" -}}
{{- default (printf "%s-%s" .Release.Namespace (include "otelcol-llt.fullname" .)) .Values.clusterRole.name }}
{{- end }}

{{- define "otelcol-llt.clusterRoleBindingName" -}}
{{- default (include "otelcol-llt.clusterRoleName" .) .Values.clusterRole.clusterRoleBinding.name }}
{{- end }}
