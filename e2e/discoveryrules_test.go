// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/builtin"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/observer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// readmeRules returns the receiver_creator rules of the YAML examples in the llamacpp receiver's
// README section "Discovery with receiver_creator", by template name.
func readmeRules(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../receiver/llamacppreceiver/README.md")
	require.NoError(t, err)
	doc := string(b)
	start := strings.Index(doc, "## Discovery with receiver_creator")
	require.GreaterOrEqual(t, start, 0, "the README has no discovery section")
	end := strings.Index(doc[start+1:], "\n## ")
	require.Greater(t, end, 0)
	section := doc[start : start+1+end]
	rules := map[string]string{}
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(section, -1) {
		var cfg struct {
			Receivers struct {
				Creator struct {
					Receivers map[string]struct {
						Rule string `yaml:"rule"`
					} `yaml:"receivers"`
				} `yaml:"receiver_creator"`
			} `yaml:"receivers"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(m[1]), &cfg), m[1])
		for name, r := range cfg.Receivers.Creator.Receivers {
			rules[name] = r.Rule
		}
	}
	return rules
}

// evalRule compiles a rule as receiver_creator v0.161.0 does (rules.go) and runs it on an
// endpoint's environment as the observer builds it.
func evalRule(t *testing.T, rule string, e observer.Endpoint) bool {
	t.Helper()
	p, err := expr.Compile(rule, expr.DisableBuiltin("type"),
		expr.Function("typeOf", func(params ...any) (any, error) { return builtin.Type(params[0]), nil }, new(func(any) string)))
	require.NoError(t, err, rule)
	env, err := e.Env()
	require.NoError(t, err)
	res, err := expr.Run(p, env)
	require.NoError(t, err, rule)
	ok, isBool := res.(bool)
	require.True(t, isBool, "rule %q gave %v", rule, res)
	return ok
}

// TestDiscoveryRulesOfTheREADME runs the README's rules on endpoints as host_observer and
// k8s_observer report them: llama-servers they must find and other processes and pods they must
// not. (TestHostObserverDiscovery runs the host_observer rule on real processes; no cluster runs
// the k8s_observer ones here.)
func TestDiscoveryRulesOfTheREADME(t *testing.T) {
	rules := readmeRules(t)
	require.Equal(t, discoveryRule, rules["llamacpp"], "the e2e test runs the README's host_observer rule")

	hostPort := func(name, command string) observer.Endpoint {
		return observer.Endpoint{ID: "h", Target: "127.0.0.1:8080", Details: &observer.HostPort{
			ProcessName: name, Command: command, Port: 8080, Transport: observer.ProtocolTCP,
		}}
	}
	for _, tc := range []struct {
		what string
		e    observer.Endpoint
		want bool
	}{
		{"a llama-server binary", hostPort("llama-server", "/usr/local/bin/llama-server -m /models/q.gguf --port 8080"), true},
		{"one on PATH", hostPort("llama-server", "llama-server -m q.gguf"), true},
		{"one run through the dynamic loader (scripts/provision-llama-server.sh)", hostPort("ld-linux-x86-64.so.2",
			"/root/.cache/otelcol-llt/forky/lib64/ld-linux-x86-64.so.2 --library-path /x /root/.cache/otelcol-llt/forky/usr/bin/llama-server --model m.gguf --port 8080"), true},
		{"the collector", hostPort("otelcol-llt", "/usr/bin/otelcol-llt --config /etc/otelcol-llt/config.yaml"), false},
		{"a script named after it", hostPort("bash", "bash scripts/provision-llama-server.sh"), false},
		{"a port without a process", hostPort("", ""), false},
	} {
		assert.Equal(t, tc.want, evalRule(t, rules["llamacpp"], tc.e), tc.what)
	}

	port := func(annotations map[string]string, image string, n uint16) observer.Endpoint {
		return observer.Endpoint{ID: "p", Target: "10.1.2.3:8080", Details: &observer.Port{
			Name: "http", Port: n, Transport: observer.ProtocolTCP, ContainerImage: image,
			Pod: observer.Pod{Name: "llama-0", Namespace: "llm", UID: "u", Annotations: annotations},
		}}
	}
	scrape := map[string]string{"llamatelemetry.io/scrape": "true"}
	scrapePort := map[string]string{"llamatelemetry.io/scrape": "true", "llamatelemetry.io/port": "8080"}
	for _, tc := range []struct {
		what     string
		e        observer.Endpoint
		annotate bool
		image    bool
	}{
		{"an annotated pod", port(scrape, "registry/any:1", 8080), true, false},
		{"an annotated pod, the port it names", port(scrapePort, "registry/any:1", 8080), true, false},
		{"an annotated pod, another port", port(scrapePort, "registry/any:1", 9090), false, false},
		{"a pod of llama.cpp's CUDA server image", port(nil, "ghcr.io/ggml-org/llama.cpp:server-cuda", 8080), false, true},
		{"a pinned tag of it", port(nil, "ghcr.io/ggml-org/llama.cpp:server-cuda-b6100", 8080), false, true},
		{"llama.cpp's CLI image", port(nil, "ghcr.io/ggml-org/llama.cpp:full", 8080), false, false},
		{"another pod", port(map[string]string{"llamatelemetry.io/scrape": "false"}, "nginx:1", 80), false, false},
	} {
		assert.Equal(t, tc.annotate, evalRule(t, rules["llamacpp/annotated"], tc.e), "annotation rule: %s", tc.what)
		assert.Equal(t, tc.image, evalRule(t, rules["llamacpp/image"], tc.e), "image rule: %s", tc.what)
	}

	// The limit the README states: a Transport is not a plain string to expr.
	e := hostPort("llama-server", "llama-server")
	assert.False(t, evalRule(t, `type == "hostport" && transport == "TCP"`, e))
	assert.True(t, evalRule(t, `type == "hostport" && string(transport) == "TCP"`, e))
}
