// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package helm

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// The topologies agent and gateway (a GPU fleet): README "A GPU fleet: agents and a gateway".

func agentValues(resolver string, gpu bool) map[string]any {
	vals := map[string]any{"mode": "daemonset", "topology": "agent"}
	setPath(vals, "gpu.enabled", gpu)
	setPath(vals, "fleet.resolver", resolver)
	setPath(vals, "fleet.gateway.service", "gw-otelcol-llt-headless")
	setPath(vals, "fleet.gateway.namespace", "obs")
	return vals
}

func TestRenderFleet(t *testing.T) {
	for _, resolver := range []string{"dns", "k8s"} {
		for _, gpu := range []bool{false, true} {
			t.Run(fmt.Sprintf("agent/%s/gpu=%v", resolver, gpu), func(t *testing.T) {
				vals := agentValues(resolver, gpu)
				o := decodeAll(t, mustRender(t, vals))
				checkAgent(t, o, vals, resolver, gpu)
				cfg := o.config(t)
				for _, p := range []string{"traces", "metrics", "logs"} {
					res := dig(cfg, "exporters", "load_balancing/"+p, "resolver").(map[string]any)
					if len(res) != 1 {
						t.Fatalf("%s resolver %v", p, res)
					}
					switch resolver {
					case "dns":
						if dig(res, "dns", "hostname") != "gw-otelcol-llt-headless.obs.svc" || dig(res, "dns", "port") != "4317" {
							t.Errorf("%s dns resolver %v", p, res)
						}
					case "k8s":
						if dig(res, "k8s", "service") != "gw-otelcol-llt-headless.obs" || fmt.Sprint(dig(res, "k8s", "ports")) != "[4317]" {
							t.Errorf("%s k8s resolver %v", p, res)
						}
					}
				}
			})
		}
	}

	t.Run("gateway", func(t *testing.T) {
		o := decodeAll(t, mustRender(t, map[string]any{"topology": "gateway", "replicaCount": 3}))
		checkGateway(t, o)
		if *o.deployment.Spec.Replicas != 3 {
			t.Errorf("replicas %d", *o.deployment.Spec.Replicas)
		}
	})

	t.Run("agent/clusterRole.create=false", func(t *testing.T) {
		vals := agentValues("k8s", true)
		setPath(vals, "clusterRole.create", false)
		o := decodeAll(t, mustRender(t, vals))
		if o.clusterRole != nil || o.clusterRoleBinding != nil {
			t.Error("ClusterRole rendered with clusterRole.create false")
		}
	})

	t.Run("agent/own service account and names", func(t *testing.T) {
		vals := agentValues("dns", true)
		setPath(vals, "serviceAccount.create", false)
		setPath(vals, "serviceAccount.name", "fleet-reader")
		setPath(vals, "clusterRole.name", "llt-fleet")
		setPath(vals, "clusterRole.rules", []any{map[string]any{
			"apiGroups": []any{""}, "resources": []any{"configmaps"}, "verbs": []any{"get"}}})
		o := decodeAll(t, mustRender(t, vals))
		if o.serviceAccount != nil {
			t.Error("ServiceAccount rendered with serviceAccount.create false")
		}
		if o.clusterRole == nil || o.clusterRoleBinding == nil {
			t.Fatal("no ClusterRole or ClusterRoleBinding")
		}
		if o.clusterRole.Name != "llt-fleet" || o.clusterRoleBinding.RoleRef.Name != "llt-fleet" {
			t.Errorf("ClusterRole %q, bound %q", o.clusterRole.Name, o.clusterRoleBinding.RoleRef.Name)
		}
		if subj := o.clusterRoleBinding.Subjects; len(subj) != 1 || subj[0].Name != "fleet-reader" || o.daemonSet.Spec.Template.Spec.ServiceAccountName != "fleet-reader" {
			t.Errorf("subjects %+v, pod's service account %q", subj, o.daemonSet.Spec.Template.Spec.ServiceAccountName)
		}
		if !allows(o.clusterRole, "", "configmaps", "get") || !allows(o.clusterRole, "", "pods", "watch") {
			t.Errorf("extra rule not appended to the derived ones: %+v", o.clusterRole.Rules)
		}
	})

	// The rules follow the config: k8s_attributes in passthrough reads nothing from the API.
	t.Run("agent/k8s_attributes passthrough", func(t *testing.T) {
		vals := agentValues("dns", false)
		setPath(vals, "config.processors.k8s_attributes.passthrough", true)
		o := decodeAll(t, mustRender(t, vals))
		got := granted(o.clusterRole)
		want := []string{"/nodes get,list,watch", "/pods get,list,watch"} // k8s_observer's (observe_pods, observe_nodes)
		if strings.Join(got, ";") != strings.Join(want, ";") {
			t.Errorf("rules %v, want %v", got, want)
		}
	})
}

// TestFleetExamplesAgree: the agent example names the headless Service the gateway example
// renders for the release name its comment installs it as, on the port it listens on.
func TestFleetExamplesAgree(t *testing.T) {
	dir := filepath.Join(chartDir, "examples")
	agent := readValues(t, filepath.Join(dir, "fleet-agent.yaml"))
	out, err := renderAs(loadChart(t), "llt-gateway", readValues(t, filepath.Join(dir, "fleet-gateway.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	gw := decodeAll(t, out)
	if gw.headless == nil {
		t.Fatal("no headless Service")
	}
	fleet := agent["fleet"].(map[string]any)
	if svc := dig(fleet, "gateway", "service"); svc != gw.headless.Name {
		t.Errorf("agent example sends to %v, gateway release llt-gateway renders %s", svc, gw.headless.Name)
	}
	port := int32(4317)
	if p, ok := dig(fleet, "gateway", "port").(float64); ok {
		port = int32(p)
	}
	if gw.headless.Spec.Ports[0].Port != port {
		t.Errorf("agent example sends to port %d, headless Service has %d", port, gw.headless.Spec.Ports[0].Port)
	}
}

func checkNodeNameEnv(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == "K8S_NODE_NAME" {
			if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
				t.Errorf("K8S_NODE_NAME is not the downward API's spec.nodeName: %+v", e)
			}
			return
		}
	}
	t.Error("no K8S_NODE_NAME env")
}

// granted lists a ClusterRole's rules as "group/resource verbs", sorted.
func granted(r *rbacv1.ClusterRole) []string {
	var out []string
	if r == nil {
		return out
	}
	for _, rule := range r.Rules {
		verbs := append([]string(nil), rule.Verbs...)
		sort.Strings(verbs)
		for _, g := range rule.APIGroups {
			for _, res := range rule.Resources {
				out = append(out, g+"/"+res+" "+strings.Join(verbs, ","))
			}
		}
	}
	sort.Strings(out)
	return out
}

func allows(r *rbacv1.ClusterRole, group, resource, verb string) bool {
	for _, rule := range r.Rules {
		if contains(toAny(rule.APIGroups), group) && contains(toAny(rule.Resources), resource) && contains(toAny(rule.Verbs), verb) {
			return true
		}
	}
	return false
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// checkAgent checks a topology agent rendering: a DaemonSet with the node name from the downward
// API, the GPUs visible but not claimed, RBAC for exactly what its components read, and the
// discovery, k8s_attributes and load_balancing config.
func checkAgent(t *testing.T, o *objects, vals map[string]any, resolver string, gpu bool) {
	t.Helper()
	if o.daemonSet == nil || o.deployment != nil {
		t.Fatal("topology agent must render a DaemonSet only")
	}
	spec := o.daemonSet.Spec.Template.Spec
	col := spec.Containers[0]
	if len(spec.Containers) != 1 {
		t.Errorf("%d containers", len(spec.Containers))
	}
	checkNodeNameEnv(t, col)

	// GPUs: seen (NVIDIA_VISIBLE_DEVICES=all, runtime class, toleration), never claimed.
	env := map[string]string{}
	for _, e := range col.Env {
		env[e.Name] = e.Value
	}
	if (env["NVIDIA_VISIBLE_DEVICES"] == "all") != gpu || (env["NVIDIA_DRIVER_CAPABILITIES"] == "utility") != gpu {
		t.Errorf("NVIDIA_VISIBLE_DEVICES %q, NVIDIA_DRIVER_CAPABILITIES %q with gpu=%v", env["NVIDIA_VISIBLE_DEVICES"], env["NVIDIA_DRIVER_CAPABILITIES"], gpu)
	}
	if _, ok := env["LLT_MODEL"]; ok {
		t.Error("agent sets LLT_MODEL")
	}
	if _, has := col.Resources.Limits["nvidia.com/gpu"]; has {
		t.Error("agent claims a GPU")
	}
	rc := ""
	if spec.RuntimeClassName != nil {
		rc = *spec.RuntimeClassName
	}
	tolerated := false
	for _, tol := range spec.Tolerations {
		tolerated = tolerated || tol.Key == "nvidia.com/gpu"
	}
	if (rc == "nvidia") != gpu || tolerated != gpu {
		t.Errorf("runtimeClassName %q, nvidia.com/gpu toleration %v with gpu=%v", rc, tolerated, gpu)
	}
	for _, v := range spec.Volumes {
		if v.Name == "models" {
			t.Error("agent mounts a models volume")
		}
	}
	ports := map[string]int32{}
	for _, p := range col.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["otlp-grpc"] != 4317 || ports["otlp-http"] != 4318 || ports["gateway"] != 0 || ports["dashboard"] != 0 {
		t.Errorf("agent container ports %v", ports)
	}
	if o.service == nil || o.service.Spec.InternalTrafficPolicy == nil || *o.service.Spec.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyLocal {
		t.Error("agent Service is not node-local")
	}
	if o.headless != nil {
		t.Error("agent renders a headless Service")
	}

	// RBAC: exactly what k8s_observer (pods, nodes) and k8s_attributes (pods, namespaces, nodes,
	// apps replicasets) read, plus endpointslices for the k8s resolver; bound to the pod's account.
	if o.clusterRole == nil || o.clusterRoleBinding == nil {
		t.Fatal("agent renders no ClusterRole or ClusterRoleBinding")
	}
	want := []string{"/namespaces get,list,watch", "/nodes get,list,watch", "/pods get,list,watch", "apps/replicasets get,list,watch"}
	if resolver == "k8s" {
		want = append(want, "discovery.k8s.io/endpointslices get,list,watch")
	}
	sort.Strings(want)
	if got := granted(o.clusterRole); strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("ClusterRole grants\n  %v\nwant\n  %v", got, want)
	}
	if o.clusterRole.Name != "llm-llt-otelcol-llt" {
		t.Errorf("ClusterRole name %q, want the namespace in front", o.clusterRole.Name)
	}
	ref := o.clusterRoleBinding.RoleRef
	if ref.APIGroup != rbacv1.GroupName || ref.Kind != "ClusterRole" || ref.Name != o.clusterRole.Name {
		t.Errorf("roleRef %+v", ref)
	}
	subj := o.clusterRoleBinding.Subjects
	if len(subj) != 1 || subj[0].Kind != rbacv1.ServiceAccountKind || subj[0].Name != spec.ServiceAccountName || subj[0].Namespace != "llm" {
		t.Errorf("subjects %+v, DaemonSet's service account %q in llm", subj, spec.ServiceAccountName)
	}
	if o.serviceAccount == nil || o.serviceAccount.Name != spec.ServiceAccountName {
		t.Errorf("the DaemonSet's service account %q is not the one rendered", spec.ServiceAccountName)
	}
	for _, l := range []map[string]string{o.clusterRole.Labels, o.clusterRoleBinding.Labels} {
		if l["app.kubernetes.io/instance"] != "llt" || l["app.kubernetes.io/name"] != "otelcol-llt" || l["helm.sh/chart"] == "" {
			t.Errorf("RBAC labels %v", l)
		}
	}

	// Config.
	cfg := o.config(t)
	obs := dig(cfg, "extensions", "k8s_observer")
	if dig(cfg, "extensions", "k8s_observer", "node") != "${env:K8S_NODE_NAME}" || dig(cfg, "extensions", "k8s_observer", "observe_pods") != true ||
		dig(cfg, "extensions", "k8s_observer", "auth_type") != "serviceAccount" {
		t.Errorf("k8s_observer %v", obs)
	}
	if !contains(dig(cfg, "service", "extensions"), "k8s_observer") || !contains(dig(cfg, "service", "extensions"), "health_check") {
		t.Error("k8s_observer or health_check not in service.extensions")
	}
	if !contains(dig(cfg, "receivers", "receiver_creator", "watch_observers"), "k8s_observer") {
		t.Error("receiver_creator does not watch k8s_observer")
	}
	rule, _ := dig(cfg, "receivers", "receiver_creator", "receivers", "llamacpp/annotated", "rule").(string)
	for _, want := range []string{`type == "port"`, `pod.annotations["llamatelemetry.io/scrape"] == "true"`, `pod.annotations["llamatelemetry.io/port"] in ["", string(port)]`} {
		if !strings.Contains(rule, want) {
			t.Errorf("llamacpp/annotated rule %q lacks %q", rule, want)
		}
	}
	if dig(cfg, "receivers", "receiver_creator", "receivers", "llamacpp/annotated", "config", "gateway") != nil {
		t.Error("the discovery template starts a gateway per server (they would share one port)")
	}
	if dig(cfg, "receivers", "receiver_creator", "receivers", "nvml/node", "rule") != `type == "k8s.node"` {
		t.Error("no nvml/node template on the node endpoint")
	}
	interval := "5s"
	if v, ok := dig(vals, "fleet", "collectionInterval").(string); ok {
		interval = v
	}
	for _, tmpl := range []string{"llamacpp/annotated", "nvml/node"} {
		if dig(cfg, "receivers", "receiver_creator", "receivers", tmpl, "config", "collection_interval") != interval {
			t.Errorf("%s collection_interval, want %s", tmpl, interval)
		}
	}
	ka := "processors.k8s_attributes."
	if dig(cfg, strings.Split(ka+"passthrough", ".")...) != false || dig(cfg, strings.Split(ka+"filter.node_from_env_var", ".")...) != "K8S_NODE_NAME" {
		t.Errorf("k8s_attributes %v", dig(cfg, "processors", "k8s_attributes"))
	}
	for _, m := range []string{"k8s.pod.name", "k8s.namespace.name", "k8s.node.name", "k8s.deployment.name"} {
		if !contains(dig(cfg, strings.Split(ka+"extract.metadata", ".")...), m) {
			t.Errorf("k8s_attributes does not extract %s", m)
		}
	}
	for p, key := range map[string]string{"traces": "traceID", "metrics": "resource", "logs": "traceID"} {
		exp := "load_balancing/" + p
		if dig(cfg, "exporters", exp, "routing_key") != key {
			t.Errorf("%s routing_key %v, want %s", exp, dig(cfg, "exporters", exp, "routing_key"), key)
		}
		if dig(cfg, "exporters", exp, "resolver", resolver) == nil {
			t.Errorf("%s has no %s resolver", exp, resolver)
		}
		if !contains(dig(cfg, "service", "pipelines", p, "processors"), "k8s_attributes") || !contains(dig(cfg, "service", "pipelines", p, "exporters"), exp) {
			t.Errorf("pipeline %s: processors %v, exporters %v", p, dig(cfg, "service", "pipelines", p, "processors"), dig(cfg, "service", "pipelines", p, "exporters"))
		}
	}
	if !contains(dig(cfg, "service", "pipelines", "metrics", "receivers"), "receiver_creator") {
		t.Error("receiver_creator not in the metrics pipeline")
	}
	for _, k := range []string{"receivers.llamacpp", "receivers.nvml", "exporters.plotlyhtml", "extensions.llamalauncher"} {
		if dig(cfg, strings.Split(k, ".")...) != nil {
			t.Errorf("agent config has %s", k)
		}
	}
	if !strings.Contains(o.notes, "llamatelemetry.io/scrape") {
		t.Errorf("NOTES do not name the annotation:\n%s", o.notes)
	}
}

// checkGateway checks a topology gateway rendering: a Deployment behind a headless Service on
// OTLP/gRPC, no RBAC, and the enrichment and dashboard config.
func checkGateway(t *testing.T, o *objects) {
	t.Helper()
	if o.deployment == nil || o.daemonSet != nil {
		t.Fatal("topology gateway must render a Deployment only")
	}
	pod := o.deployment.Spec.Template
	col := pod.Spec.Containers[0]
	checkNodeNameEnv(t, col)
	if o.clusterRole != nil || o.clusterRoleBinding != nil {
		t.Error("gateway renders RBAC it does not need")
	}
	if o.headless == nil {
		t.Fatal("no headless Service")
	}
	h := o.headless
	if h.Spec.ClusterIP != corev1.ClusterIPNone || h.Name != "llt-otelcol-llt-headless" && h.Name != "llt-gateway-otelcol-llt-headless" {
		t.Errorf("headless Service %s clusterIP %q", h.Name, h.Spec.ClusterIP)
	}
	if len(h.Spec.Ports) != 1 || h.Spec.Ports[0].Port != 4317 || h.Spec.Ports[0].TargetPort.String() != "otlp-grpc" {
		t.Errorf("headless Service ports %+v", h.Spec.Ports)
	}
	for k, v := range h.Spec.Selector {
		if pod.Labels[k] != v {
			t.Errorf("headless selector %s=%s does not match the pod", k, v)
		}
	}
	if len(h.Spec.Selector) == 0 {
		t.Error("headless Service without selector")
	}
	ports := map[string]int32{}
	for _, p := range col.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["otlp-grpc"] != 4317 || ports["dashboard"] != 8050 || ports["gateway"] != 0 {
		t.Errorf("gateway container ports %v", ports)
	}
	if o.service == nil || o.service.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Error("no ClusterIP Service for the dashboard")
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == "models" {
			t.Error("gateway mounts a models volume")
		}
	}
	if _, has := col.Resources.Limits["nvidia.com/gpu"]; has || pod.Spec.RuntimeClassName != nil {
		t.Error("gateway asks for a GPU")
	}

	cfg := o.config(t)
	if dig(cfg, "receivers", "otlp", "protocols", "grpc", "endpoint") != "0.0.0.0:4317" {
		t.Error("gateway does not receive OTLP/gRPC on 0.0.0.0:4317")
	}
	for _, p := range []string{"traces", "metrics", "logs"} {
		procs := dig(cfg, "service", "pipelines", p, "processors")
		if !contains(procs, "genaienrich") || !contains(procs, "batch") || !contains(dig(cfg, "service", "pipelines", p, "exporters"), "plotlyhtml") {
			t.Errorf("pipeline %s: processors %v, exporters %v", p, procs, dig(cfg, "service", "pipelines", p, "exporters"))
		}
	}
	if dig(cfg, "exporters", "plotlyhtml", "serve", "endpoint") != "0.0.0.0:8050" {
		t.Error("plotlyhtml does not serve on 0.0.0.0:8050")
	}
	for _, k := range []string{"receivers.llamacpp", "receivers.nvml", "receivers.receiver_creator", "extensions.llamalauncher", "extensions.k8s_observer"} {
		if dig(cfg, strings.Split(k, ".")...) != nil {
			t.Errorf("gateway config has %s", k)
		}
	}
	if !strings.Contains(o.notes, "fleet.gateway.service="+h.Name) {
		t.Errorf("NOTES do not tell the agents' fleet.gateway.service:\n%s", o.notes)
	}
}

// TestReadmeFleetExamples: the values the README shows under each fleet example's link are the
// example's, once both are coalesced with the chart's defaults.
func TestReadmeFleetExamples(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	c := loadChart(t)
	for _, name := range []string{"fleet-gateway.yaml", "fleet-agent.yaml"} {
		re := regexp.MustCompile("(?s)\\[`examples/" + regexp.QuoteMeta(name) + "`\\]\\([^)]*\\):\\n\\n```yaml\\n(.*?)```")
		m := re.FindSubmatch(b)
		if m == nil {
			t.Errorf("README shows no values for %s", name)
			continue
		}
		var shown map[string]any
		if err := yaml.Unmarshal(m[1], &shown); err != nil {
			t.Fatalf("README's %s: %v", name, err)
		}
		a, err := chartutil.CoalesceValues(c, shown)
		if err != nil {
			t.Fatal(err)
		}
		e, err := chartutil.CoalesceValues(c, readValues(t, filepath.Join(chartDir, "examples", name)))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.AsMap(), e.AsMap()) {
			ay, _ := yaml.Marshal(a.AsMap())
			ey, _ := yaml.Marshal(e.AsMap())
			t.Errorf("README's %s differs from the file:\n%s\n---\n%s", name, ay, ey)
		}
	}
}
