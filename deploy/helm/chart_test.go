// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package helm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

const chartDir = "otelcol-llt"

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

func readValues(t *testing.T, file string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValuesFile(file)
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	return v.AsMap()
}

func examples(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "examples", "*.yaml"))
	if err != nil || len(files) < 6 {
		t.Fatalf("examples: %v %v", files, err)
	}
	return files
}

// render renders the chart like `helm template` (schema validation included), as release llt.
func render(c *chart.Chart, vals map[string]any) (map[string]string, error) {
	return renderAs(c, "llt", vals)
}

func renderAs(c *chart.Chart, release string, vals map[string]any) (map[string]string, error) {
	opts := chartutil.ReleaseOptions{Name: release, Namespace: "llm", Revision: 1, IsInstall: true}
	rv, err := chartutil.ToRenderValues(c, vals, opts, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	return engine.Render(c, rv)
}

func mustRender(t *testing.T, vals map[string]any) map[string]string {
	t.Helper()
	out, err := render(loadChart(t), vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return out
}

// objects are the rendered Kubernetes objects, each decoded strictly into its k8s.io/api type.
type objects struct {
	configMap          *corev1.ConfigMap
	deployment         *appsv1.Deployment
	daemonSet          *appsv1.DaemonSet
	service            *corev1.Service // the ClusterIP Service
	headless           *corev1.Service // clusterIP: None (topology gateway)
	serviceAccount     *corev1.ServiceAccount
	clusterRole        *rbacv1.ClusterRole
	clusterRoleBinding *rbacv1.ClusterRoleBinding
	notes              string
}

func (o *objects) podSpec(t *testing.T) *corev1.PodTemplateSpec {
	t.Helper()
	switch {
	case o.deployment != nil && o.daemonSet == nil:
		return &o.deployment.Spec.Template
	case o.daemonSet != nil && o.deployment == nil:
		return &o.daemonSet.Spec.Template
	}
	t.Fatalf("want exactly one Deployment or DaemonSet")
	return nil
}

func decodeAll(t *testing.T, rendered map[string]string) *objects {
	t.Helper()
	o := &objects{}
	var services []*corev1.Service
	names := make([]string, 0, len(rendered))
	for n := range rendered {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		text := rendered[name]
		if strings.HasSuffix(name, "NOTES.txt") {
			o.notes = text
			continue
		}
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range strings.Split(text, "\n---") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var meta struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, doc)
			}
			var target any
			switch meta.APIVersion + "/" + meta.Kind {
			case "v1/ConfigMap":
				o.configMap = &corev1.ConfigMap{}
				target = o.configMap
			case "apps/v1/Deployment":
				o.deployment = &appsv1.Deployment{}
				target = o.deployment
			case "apps/v1/DaemonSet":
				o.daemonSet = &appsv1.DaemonSet{}
				target = o.daemonSet
			case "v1/Service":
				services = append(services, &corev1.Service{})
				target = services[len(services)-1]
			case "v1/ServiceAccount":
				o.serviceAccount = &corev1.ServiceAccount{}
				target = o.serviceAccount
			case "rbac.authorization.k8s.io/v1/ClusterRole":
				o.clusterRole = &rbacv1.ClusterRole{}
				target = o.clusterRole
			case "rbac.authorization.k8s.io/v1/ClusterRoleBinding":
				o.clusterRoleBinding = &rbacv1.ClusterRoleBinding{}
				target = o.clusterRoleBinding
			default:
				t.Fatalf("%s: unexpected object %s %s", name, meta.APIVersion, meta.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), target); err != nil {
				t.Fatalf("%s: strict decoding into %T: %v\n%s", name, target, err, doc)
			}
		}
	}
	for _, svc := range services {
		target := &o.service
		if svc.Spec.ClusterIP == corev1.ClusterIPNone {
			target = &o.headless
		}
		if *target != nil {
			t.Fatalf("two Services of one kind: %s and %s", (*target).Name, svc.Name)
		}
		*target = svc
	}
	if o.configMap == nil {
		t.Fatal("no ConfigMap rendered")
	}
	return o
}

func (o *objects) config(t *testing.T) map[string]any {
	t.Helper()
	text, ok := o.configMap.Data["relay"]
	if !ok {
		t.Fatal("ConfigMap has no key relay")
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func dig(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func TestLint(t *testing.T) {
	files := append([]string{""}, examples(t)...)
	for _, f := range files {
		name := f
		if name == "" {
			name = "defaults"
		}
		t.Run(filepath.Base(name), func(t *testing.T) {
			vals := map[string]any{}
			if f != "" {
				vals = readValues(t, f)
			}
			l := action.NewLint()
			l.Strict = true
			l.Namespace = "llm"
			res := l.Run([]string{chartDir}, vals)
			for _, err := range res.Errors {
				t.Errorf("lint error: %v", err)
			}
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %s", m)
				}
			}
		})
	}
}

// setPath sets a dotted key in a values map.
func setPath(vals map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	m := vals
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}

func TestRenderMatrix(t *testing.T) {
	for _, mode := range []string{"deployment", "daemonset"} {
		for _, gpu := range []bool{false, true} {
			for _, topology := range []string{"launcher", "sidecar"} {
				t.Run(fmt.Sprintf("%s/gpu=%v/%s", mode, gpu, topology), func(t *testing.T) {
					vals := map[string]any{"mode": mode, "topology": topology}
					setPath(vals, "gpu.enabled", gpu)
					setPath(vals, "model.pvc.claimName", "models")
					setPath(vals, "model.file", "m.gguf")
					o := decodeAll(t, mustRender(t, vals))
					checkPod(t, o, mode, gpu, topology)
				})
			}
		}
	}
}

func checkPod(t *testing.T, o *objects, mode string, gpu bool, topology string) {
	t.Helper()
	if mode == "deployment" && o.deployment == nil || mode == "daemonset" && o.daemonSet == nil {
		t.Fatalf("no %s rendered", mode)
	}
	if o.deployment != nil && o.daemonSet != nil {
		t.Fatal("both a Deployment and a DaemonSet rendered")
	}
	if o.serviceAccount == nil {
		t.Error("no ServiceAccount")
	}
	pod := o.podSpec(t)
	spec := pod.Spec
	if spec.ServiceAccountName != o.serviceAccount.Name {
		t.Errorf("serviceAccountName %q, want %q", spec.ServiceAccountName, o.serviceAccount.Name)
	}
	if o.clusterRole != nil || o.clusterRoleBinding != nil || o.headless != nil {
		t.Errorf("%s renders a ClusterRole, ClusterRoleBinding or headless Service", topology)
	}
	checkNodeNameEnv(t, spec.Containers[0])

	wantContainers := 1
	if topology == "sidecar" {
		wantContainers = 2
	}
	if len(spec.Containers) != wantContainers {
		t.Fatalf("%d containers, want %d", len(spec.Containers), wantContainers)
	}
	col := spec.Containers[0]
	if col.Name != "otelcol-llt" {
		t.Fatalf("first container %q", col.Name)
	}
	if len(col.Args) == 0 || col.Args[0] != "--config=/conf/config.yaml" {
		t.Errorf("args %v", col.Args)
	}

	// Probes on health_check's port.
	for name, p := range map[string]*corev1.Probe{"liveness": col.LivenessProbe, "readiness": col.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.IntValue() != 13133 {
			t.Errorf("%s probe not an httpGet on 13133: %+v", name, p)
		}
	}

	// Non-root.
	if psc := spec.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 10001 {
		t.Errorf("pod securityContext not non-root 10001: %+v", psc)
	}
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("container %s securityContext: %+v", c.Name, sc)
		}
	}

	// GPU: limit on the container running llama-server, toleration, runtimeClassName; nothing without.
	llama := col
	if topology == "sidecar" {
		llama = spec.Containers[1]
		if llama.Name != "llama-server" {
			t.Fatalf("second container %q", llama.Name)
		}
		args := strings.Join(llama.Args, " ")
		for _, want := range []string{"-m /models/m.gguf", "--host 127.0.0.1", "--port 8080", "--metrics", "--slots"} {
			if !strings.Contains(args, want) {
				t.Errorf("llama-server args %q lack %q", args, want)
			}
		}
		ngl := "-ngl 0"
		if gpu {
			ngl = "-ngl 999"
		}
		if !strings.Contains(args, ngl) {
			t.Errorf("llama-server args %q lack %q", args, ngl)
		}
	}
	for _, c := range spec.Containers {
		q, has := c.Resources.Limits["nvidia.com/gpu"]
		want := gpu && c.Name == llama.Name
		if has != want || (has && q.Value() != 1) {
			t.Errorf("container %s: nvidia.com/gpu limit %v (present %v), want present %v", c.Name, q.String(), has, want)
		}
	}
	tolerated := false
	for _, tol := range spec.Tolerations {
		if tol.Key == "nvidia.com/gpu" && tol.Operator == corev1.TolerationOpExists && tol.Effect == corev1.TaintEffectNoSchedule {
			tolerated = true
		}
	}
	if tolerated != gpu {
		t.Errorf("nvidia.com/gpu toleration present %v, want %v", tolerated, gpu)
	}
	rc := ""
	if spec.RuntimeClassName != nil {
		rc = *spec.RuntimeClassName
	}
	if (rc == "nvidia") != gpu || (!gpu && rc != "") {
		t.Errorf("runtimeClassName %q with gpu=%v", rc, gpu)
	}

	// Env.
	env := map[string]string{}
	for _, e := range col.Env {
		env[e.Name] = e.Value
	}
	if topology == "launcher" {
		if env["LLT_MODEL"] != "/models/m.gguf" {
			t.Errorf("LLT_MODEL %q", env["LLT_MODEL"])
		}
		want := "[]"
		if gpu {
			want = "[0]"
		}
		if env["LLT_GPU_DEVICES"] != want {
			t.Errorf("LLT_GPU_DEVICES %q, want %q", env["LLT_GPU_DEVICES"], want)
		}
	} else if _, ok := env["LLT_MODEL"]; ok {
		t.Error("sidecar sets LLT_MODEL")
	}

	// Volumes: config at /conf, model PVC at /models.
	mounts := map[string]string{}
	for _, m := range col.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["config"] != "/conf" || mounts["models"] != "/models" {
		t.Errorf("mounts %v", mounts)
	}
	for _, v := range spec.Volumes {
		if v.Name == "models" && (v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "models") {
			t.Errorf("models volume %+v", v.VolumeSource)
		}
		if v.Name == "config" && (v.ConfigMap == nil || v.ConfigMap.Name != o.configMap.Name) {
			t.Errorf("config volume %+v", v.VolumeSource)
		}
	}

	// Ports and service.
	wantPorts := map[string]int32{"gateway": 8081, "dashboard": 8050, "otlp-grpc": 4317, "otlp-http": 4318}
	got := map[string]int32{}
	for _, p := range col.Ports {
		got[p.Name] = p.ContainerPort
	}
	svc := map[string]int32{}
	if o.service == nil {
		t.Fatal("no Service")
	}
	for _, p := range o.service.Spec.Ports {
		svc[p.Name] = p.Port
	}
	for n, p := range wantPorts {
		if got[n] != p {
			t.Errorf("container port %s = %d, want %d", n, got[n], p)
		}
		if svc[n] != p {
			t.Errorf("service port %s = %d, want %d", n, svc[n], p)
		}
	}
	if o.service.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("service type %s", o.service.Spec.Type)
	}
	for k, v := range o.service.Spec.Selector {
		if pod.Labels[k] != v {
			t.Errorf("service selector %s=%s does not match the pod", k, v)
		}
	}

	// Config.
	cfg := o.config(t)
	if dig(cfg, "extensions", "health_check", "endpoint") != "0.0.0.0:13133" {
		t.Errorf("health_check endpoint %v", dig(cfg, "extensions", "health_check", "endpoint"))
	}
	if dig(cfg, "receivers", "llamacpp", "gateway", "endpoint") != "0.0.0.0:8081" {
		t.Error("gateway not on 0.0.0.0:8081")
	}
	if dig(cfg, "exporters", "plotlyhtml", "serve", "endpoint") != "0.0.0.0:8050" || dig(cfg, "exporters", "plotlyhtml", "path") != "/tmp/dashboard.html" {
		t.Error("plotlyhtml not serving on 0.0.0.0:8050 / writing /tmp/dashboard.html")
	}
	for _, k := range []string{"receivers.nvml", "receivers.otlp", "processors.genaienrich", "processors.batch", "processors.memory_limiter", "exporters.debug"} {
		if dig(cfg, strings.Split(k, ".")...) == nil {
			t.Errorf("config lacks %s", k)
		}
	}
	text := o.configMap.Data["relay"]
	if topology == "sidecar" {
		if strings.Contains(text, "llamalauncher") {
			t.Errorf("sidecar config mentions llamalauncher:\n%s", text)
		}
		if dig(cfg, "receivers", "llamacpp", "endpoint") != "http://127.0.0.1:8080" {
			t.Errorf("sidecar llamacpp endpoint %v", dig(cfg, "receivers", "llamacpp", "endpoint"))
		}
	} else if dig(cfg, "extensions", "llamalauncher") == nil || dig(cfg, "receivers", "llamacpp", "launcher") != "llamalauncher" {
		t.Error("launcher config lacks the llamalauncher extension")
	}
	if !strings.Contains(o.notes, "port-forward") || !strings.Contains(o.notes, "8050") || !strings.Contains(o.notes, "8081") {
		t.Errorf("NOTES:\n%s", o.notes)
	}
}

func TestRenderExamples(t *testing.T) {
	for _, f := range examples(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			vals := readValues(t, f)
			o := decodeAll(t, mustRender(t, vals))
			cfg := o.config(t)
			switch filepath.Base(f) {
			case "one-gpu-launcher.yaml":
				checkPodGPU(t, o, 0)
			case "sidecar.yaml":
				checkPodGPU(t, o, 1)
			case "otlp-tempo.yaml":
				if dig(cfg, "exporters", "otlp/tempo", "endpoint") == nil {
					t.Error("no otlp/tempo exporter")
				}
				if !contains(dig(cfg, "service", "pipelines", "traces", "exporters"), "otlp/tempo") {
					t.Error("otlp/tempo not in the traces pipeline")
				}
			case "prometheus.yaml":
				if dig(cfg, "exporters", "prometheus", "endpoint") != "0.0.0.0:8889" {
					t.Error("no prometheus exporter on 0.0.0.0:8889")
				}
				if !contains(dig(cfg, "service", "pipelines", "metrics", "exporters"), "prometheus") ||
					contains(dig(cfg, "service", "pipelines", "traces", "exporters"), "prometheus") {
					t.Error("prometheus must be in the metrics pipeline only")
				}
				if o.podSpec(t).Annotations["prometheus.io/scrape"] != "true" {
					t.Error("no prometheus.io/scrape annotation")
				}
			case "fleet-agent.yaml":
				checkAgent(t, o, vals, "dns", true)
				if dig(cfg, "exporters", "load_balancing/traces", "resolver", "dns", "hostname") != "llt-gateway-otelcol-llt-headless.llm.svc" {
					t.Errorf("agent resolves %v", dig(cfg, "exporters", "load_balancing/traces", "resolver"))
				}
			case "fleet-gateway.yaml":
				checkGateway(t, o)
				if dig(cfg, "exporters", "graphistry", "file", "path") != "/tmp/graphs" || !contains(dig(cfg, "service", "pipelines", "traces", "exporters"), "graphistry") {
					t.Error("no graphistry exporter in file mode on the traces pipeline")
				}
			default:
				t.Errorf("no checks for example %s", filepath.Base(f))
			}
		})
	}
}

func checkPodGPU(t *testing.T, o *objects, container int) {
	t.Helper()
	spec := o.podSpec(t).Spec
	if q, ok := spec.Containers[container].Resources.Limits["nvidia.com/gpu"]; !ok || q.Value() != 1 {
		t.Errorf("container %d has no nvidia.com/gpu limit of 1", container)
	}
}

func contains(list any, s string) bool {
	l, _ := list.([]any)
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func TestRenderFailures(t *testing.T) {
	c := loadChart(t)
	for name, tc := range map[string]struct {
		vals map[string]any
		want string
	}{
		"mode":           {map[string]any{"mode": "statefulset"}, "mode"},
		"topology":       {map[string]any{"topology": "both"}, "topology"},
		"unknown key":    {map[string]any{"gpus": 1}, "gpus"},
		"no healthcheck": {map[string]any{"config": map[string]any{"service": map[string]any{"extensions": []any{"llamalauncher"}}}}, "health_check"},
		"agent as deployment": {map[string]any{"topology": "agent", "mode": "deployment",
			"fleet": map[string]any{"gateway": map[string]any{"service": "gw-headless"}}}, "mode must be \"daemonset\""},
		"agent without gateway": {map[string]any{"topology": "agent", "mode": "daemonset"}, "fleet.gateway.service"},
		"gateway as daemonset":  {map[string]any{"topology": "gateway", "mode": "daemonset"}, "mode must be \"deployment\""},
		"gateway with gpu":      {map[string]any{"topology": "gateway", "gpu": map[string]any{"enabled": true}}, "gpu.enabled"},
		"gateway without otlp-grpc": {map[string]any{"topology": "gateway",
			"ports": map[string]any{"otlp-grpc": map[string]any{"enabled": false}}}, "ports.otlp-grpc"},
		"bad resolver": {map[string]any{"topology": "agent", "mode": "daemonset",
			"fleet": map[string]any{"resolver": "consul", "gateway": map[string]any{"service": "gw-headless"}}}, "/fleet/resolver"},
		"bad gateway service": {map[string]any{"topology": "agent", "mode": "daemonset",
			"fleet": map[string]any{"gateway": map[string]any{"service": "gw.llm.svc"}}}, "/fleet/gateway/service"},
		"bad collection interval": {map[string]any{"fleet": map[string]any{"collectionInterval": "5"}}, "/fleet/collectionInterval"},
		"unknown fleet key":       {map[string]any{"fleet": map[string]any{"gatway": map[string]any{}}}, "gatway"},
		"unknown clusterRole key": {map[string]any{"clusterRole": map[string]any{"enabled": true}}, "enabled"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := render(c, tc.vals)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestSchema(t *testing.T) {
	c := loadChart(t)
	base, err := chartutil.CoalesceValues(c, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if err := chartutil.ValidateAgainstSchema(c, base); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}

	gpuVals, err := chartutil.CoalesceValues(c, map[string]any{
		"resources": map[string]any{"limits": map[string]any{"nvidia.com/gpu": 1, "memory": "8Gi"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := chartutil.ValidateAgainstSchema(c, gpuVals); err != nil {
		t.Errorf("nvidia.com/gpu in resources.limits rejected: %v", err)
	}
	if _, err := render(c, gpuVals.AsMap()); err != nil {
		t.Errorf("render with nvidia.com/gpu limit: %v", err)
	}

	unknown, err := chartutil.CoalesceValues(c, map[string]any{"notAKey": true})
	if err != nil {
		t.Fatal(err)
	}
	if err := chartutil.ValidateAgainstSchema(c, unknown); err == nil || !strings.Contains(err.Error(), "notAKey") {
		t.Errorf("unknown top-level key: err = %v", err)
	}
	badMode, _ := chartutil.CoalesceValues(c, map[string]any{"mode": "statefulset"})
	if err := chartutil.ValidateAgainstSchema(c, badMode); err == nil {
		t.Error("mode statefulset accepted by the schema")
	}

	// The fleet's values; a rejection names the key as a JSON pointer (/fleet/resolver).
	fleet, err := chartutil.CoalesceValues(c, map[string]any{
		"mode": "daemonset", "topology": "agent",
		"fleet": map[string]any{"resolver": "k8s", "collectionInterval": "1m30s",
			"gateway": map[string]any{"service": "llt-gateway-otelcol-llt-headless", "namespace": "obs", "port": 14317}},
		"clusterRole": map[string]any{"name": "x", "annotations": map[string]any{"a": "b"},
			"rules":              []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps"}, "verbs": []any{"get"}}},
			"clusterRoleBinding": map[string]any{"name": "y"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := chartutil.ValidateAgainstSchema(c, fleet); err != nil {
		t.Errorf("fleet values rejected: %v", err)
	}
	for key, bad := range map[string]map[string]any{
		"/topology":                       {"topology": "fleet"},
		"/fleet/resolver":                 {"fleet": map[string]any{"resolver": "static"}},
		"/fleet/gateway/port":             {"fleet": map[string]any{"gateway": map[string]any{"port": 0}}},
		"/fleet/gateway/namespace":        {"fleet": map[string]any{"gateway": map[string]any{"namespace": "Obs"}}},
		"/clusterRole/create":             {"clusterRole": map[string]any{"create": "yes"}},
		"/clusterRole/rules/0":            {"clusterRole": map[string]any{"rules": []any{map[string]any{"resources": []any{"pods"}}}}},
		"/clusterRole/clusterRoleBinding": {"clusterRole": map[string]any{"clusterRoleBinding": map[string]any{"subjects": []any{}}}},
	} {
		v, err := chartutil.CoalesceValues(c, bad)
		if err != nil {
			t.Fatal(err)
		}
		if err := chartutil.ValidateAgainstSchema(c, v); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%v: err = %v, want one naming %s", bad, err, key)
		}
	}
}

// TestConfigValidates runs `otelcol-llt validate` on the config rendered for each topology and example.
func TestConfigValidates(t *testing.T) {
	bin := os.Getenv("OTELCOL_LLT_BIN")
	if bin == "" {
		bin = filepath.Join("..", "..", "otelcol-llt", "otelcol-llt")
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("LLT_E2E") == "1" {
			t.Fatalf("otelcol-llt binary %s: %v (build it with make build, or set OTELCOL_LLT_BIN)", bin, err)
		}
		t.Skipf("otelcol-llt binary %s not found (set OTELCOL_LLT_BIN; LLT_E2E=1 makes this a failure)", bin)
	}
	bin, _ = filepath.Abs(bin)
	// validate checks the configuration only: the model file is not opened, any file will do.
	model := filepath.Join(t.TempDir(), "model.gguf")
	if err := os.WriteFile(model, []byte("GGUF"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]map[string]any{
		"launcher":     {"topology": "launcher"},
		"launcher-gpu": {"topology": "launcher", "gpu": map[string]any{"enabled": true}},
		"sidecar":      {"topology": "sidecar"},
		"agent-k8s": {"topology": "agent", "mode": "daemonset",
			"fleet": map[string]any{"resolver": "k8s", "gateway": map[string]any{"service": "gw-headless", "namespace": "obs"}}},
		"gateway": {"topology": "gateway"},
	}
	for _, f := range examples(t) {
		cases[filepath.Base(f)] = readValues(t, f)
	}
	for name, vals := range cases {
		t.Run(name, func(t *testing.T) {
			o := decodeAll(t, mustRender(t, vals))
			// The env the pod gives the container.
			env := []string{"LLT_MODEL=" + model, "MY_POD_IP=127.0.0.1", "K8S_NODE_NAME=gpu-node-1"}
			for _, e := range o.podSpec(t).Spec.Containers[0].Env {
				if e.ValueFrom == nil {
					env = append(env, e.Name+"="+e.Value)
				}
			}
			validate(t, bin, o.configMap.Data["relay"], env)

			// validate compiles receiver_creator's rules but not its templates' configs (they are
			// checked when an endpoint appears): check each as a receiver of its own, with the
			// host:port endpoint receiver_creator gives a llamacpp receiver.
			var cfg map[string]any
			if err := yaml.Unmarshal([]byte(o.configMap.Data["relay"]), &cfg); err != nil {
				t.Fatal(err)
			}
			templates, _ := dig(cfg, "receivers", "receiver_creator", "receivers").(map[string]any)
			for id, tmpl := range templates {
				rc, _ := dig(tmpl.(map[string]any), "config").(map[string]any)
				if rc == nil {
					rc = map[string]any{}
				}
				if strings.HasPrefix(id, "llamacpp") {
					rc["endpoint"] = "10.1.2.3:8080"
				}
				one, err := yaml.Marshal(map[string]any{
					"receivers": map[string]any{id: rc},
					"exporters": map[string]any{"debug": map[string]any{}},
					"service": map[string]any{"pipelines": map[string]any{
						"metrics": map[string]any{"receivers": []string{id}, "exporters": []string{"debug"}}}},
				})
				if err != nil {
					t.Fatal(err)
				}
				validate(t, bin, string(one), env)
			}
		})
	}
}

// validate runs `otelcol-llt validate` on a config, with env added to the environment.
func validate(t *testing.T, bin, config string, env []string) {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "validate", "--config="+cfgFile)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("otelcol-llt validate failed (%v):\n%s\nconfig:\n%s", err, out.String(), config)
		}
		t.Fatal(err)
	}
}
