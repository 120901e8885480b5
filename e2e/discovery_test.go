// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

// discoveryRule is the host_observer rule of receiver/llamacppreceiver/README.md ("Discovery with
// receiver_creator"): a port whose process is llama-server, by name or (for a llama-server
// started through the dynamic loader, as the provisioned one is, whose process name is then
// ld-linux-x86-64.so.2) by the path in its command line.
const discoveryRule = `type == "hostport" && (process_name == "llama-server" || command matches "(^|/)llama-server( |$)")`

// portSeries is what the file exporter received from one discovered llama-server so far.
type portSeries struct {
	batches int               // resources (one per scrape) with this server.port
	up      bool              // llamacpp.server.up was seen at 1
	attrs   map[string]string // the resource attributes of the newest one
}

// seriesByPort reads the file exporter's output and groups it by the resource's server.port.
func seriesByPort(path string) map[int64]*portSeries {
	got := map[int64]*portSeries{}
	eachResourceMetrics(path, func(rm pmetric.ResourceMetrics) {
		p, ok := rm.Resource().Attributes().Get("server.port")
		if !ok {
			return
		}
		s := got[p.Int()]
		if s == nil {
			s = &portSeries{}
			got[p.Int()] = s
		}
		s.batches++
		s.attrs = map[string]string{}
		for k, v := range rm.Resource().Attributes().All() {
			s.attrs[k] = v.AsString()
		}
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() == "llamacpp.server.up" && m.Type() == pmetric.MetricTypeGauge {
					for _, dp := range m.Gauge().DataPoints().All() {
						if dp.IntValue() == 1 {
							s.up = true
						}
					}
				}
			}
		}
	})
	return got
}

// TestHostObserverDiscovery runs the distribution with host_observer and receiver_creator and no
// llamacpp receiver of its own, against real llama-servers started and stopped under it: the two
// running at start are found and scraped, each series carries its server's address and port (our
// receiver) and the process facts receiver_creator adds from the endpoint; a stopped one's receiver
// is stopped and its series end while the other's go on; one started later is found too.
//
// The rule is the documented one, narrowed to this test's model file, so that a llama-server
// another test runs on this machine at the same time is not scraped, nor counted.
func TestHostObserverDiscovery(t *testing.T) {
	model := llamatest.WriteModel(t, modelgen.Tiny())
	dir := t.TempDir()
	out := filepath.Join(dir, "metrics.jsonl")
	rule := discoveryRule + fmt.Sprintf(` && command contains %q`, model)

	a := llamatest.Start(t, llamatest.Options{Model: model, Alias: "disc-a", Parallel: 1})
	b := llamatest.Start(t, llamatest.Options{Model: model, Alias: "disc-b", Parallel: 1})

	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
extensions:
  host_observer: {refresh_interval: 1s}
receivers:
  receiver_creator:
    watch_observers: [host_observer]
    receivers:
      llamacpp/discovered:
        rule: %q
        resource_attributes:
          process.executable.name: "`+"`process_name`"+`"
          process.command_line: "`+"`command`"+`"
        config:
          collection_interval: 1s
exporters:
  file: {path: %q, flush_interval: 100ms}
service:
  extensions: [host_observer]
  telemetry: {metrics: {level: none}}
  pipelines:
    metrics: {receivers: [receiver_creator], exporters: [file]}
`, rule, out), 0o600))

	cmd, logs := startPlainCollector(t, cfg)
	t0 := time.Now()

	// Both servers are found and scraped.
	found := map[int]time.Duration{}
	require.Eventually(t, func() bool {
		got := seriesByPort(out)
		for _, s := range []*llamatest.Instance{a, b} {
			if ps := got[int64(s.Port)]; ps != nil && ps.up {
				if _, ok := found[s.Port]; !ok {
					found[s.Port] = time.Since(t0)
				}
			}
		}
		return len(found) == 2
	}, 30*time.Second, 100*time.Millisecond, "both llama-servers were not found and scraped:\n%s", logs)
	t.Logf("found %d and %d, scraped (server.up 1) after %v and %v from the collector's start",
		a.Port, b.Port, found[a.Port].Round(time.Millisecond), found[b.Port].Round(time.Millisecond))
	for _, s := range []*llamatest.Instance{a, b} {
		assert.Contains(t, logs.String(), fmt.Sprintf(`"endpoint": "127.0.0.1:%d"`, s.Port), "receiver_creator's 'starting receiver' line")
	}

	// What each series carries: its server (the llamacpp receiver) and the process
	// (receiver_creator's resource_attributes from the hostport endpoint).
	got := seriesByPort(out)
	for alias, s := range map[string]*llamatest.Instance{"disc-a": a, "disc-b": b} {
		attrs := got[int64(s.Port)].attrs
		assert.Equal(t, "127.0.0.1", attrs["server.address"])
		assert.Equal(t, fmt.Sprint(s.Port), attrs["server.port"])
		assert.Contains(t, attrs["process.command_line"], "--port "+fmt.Sprint(s.Port))
		assert.NotEmpty(t, attrs["process.executable.name"])
		assert.Equal(t, alias, attrs["llamacpp.model.alias"], "%v", attrs)
	}
	t.Logf("resource of %d: %v", a.Port, got[int64(a.Port)].attrs)
	others := 0
	for p := range got {
		if p != int64(a.Port) && p != int64(b.Port) {
			others++
		}
	}
	assert.Zero(t, others, "only this test's llama-servers are scraped: %v", keys(got))

	// Stop a: receiver_creator stops its receiver, its series end, b's go on.
	require.NoError(t, a.Stop())
	stopped := time.Now()
	stopLine := regexp.MustCompile(`stopping receiver.*"endpoint_id": "\(host_observer\)127\.0\.0\.1-` + fmt.Sprint(a.Port) + `-TCP-`)
	require.Eventually(t, func() bool { return stopLine.MatchString(logs.String()) },
		15*time.Second, 50*time.Millisecond, "receiver_creator never stopped the receiver of %d:\n%s", a.Port, logs)
	dropped := time.Since(stopped)
	time.Sleep(500 * time.Millisecond) // the file exporter's flush of what was in flight
	before := seriesByPort(out)
	time.Sleep(4 * time.Second)
	after := seriesByPort(out)
	assert.Equal(t, before[int64(a.Port)].batches, after[int64(a.Port)].batches, "no new series of %d after its receiver stopped", a.Port)
	assert.GreaterOrEqual(t, after[int64(b.Port)].batches-before[int64(b.Port)].batches, 3, "%d keeps being scraped", b.Port)
	t.Logf("stopped %d: receiver_creator stopped its receiver %v after the server exited; %d kept being scraped (%d scrapes in 4 s)",
		a.Port, dropped.Round(time.Millisecond), b.Port, after[int64(b.Port)].batches-before[int64(b.Port)].batches)

	// A third server, started now, is found.
	c := llamatest.Start(t, llamatest.Options{Model: model, Alias: "disc-c", Parallel: 1})
	ready := time.Now()
	require.Eventually(t, func() bool {
		ps := seriesByPort(out)[int64(c.Port)]
		return ps != nil && ps.up
	}, 30*time.Second, 100*time.Millisecond, "the third llama-server (%d) was not found:\n%s", c.Port, logs)
	t.Logf("started %d: found and scraped %v after it answered /health", c.Port, time.Since(ready).Round(time.Millisecond))
	assert.Equal(t, "disc-c", seriesByPort(out)[int64(c.Port)].attrs["llamacpp.model.alias"])

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "collector exit:\n%s", logs)
	// The one error allowed: a scrape of the stopped server between its exit and its removal.
	for _, line := range strings.Split(logs.String(), "\n") {
		stoppedServer := strings.Contains(line, "llama-server is unreachable") &&
			strings.Contains(line, fmt.Sprintf(`"url": "http://127.0.0.1:%d"`, a.Port))
		if strings.Contains(line, "\terror\t") && !stoppedServer {
			t.Errorf("unexpected error logged: %s", line)
		}
	}
}

func keys(m map[int64]*portSeries) []int64 {
	var ks []int64
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// startPlainCollector runs the distribution with cfg (no launcher to wait for) until it logs that
// it is ready.
func startPlainCollector(t *testing.T, cfg string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(otelcolBin(t), "--config", cfg)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "Everything is ready") },
		30*time.Second, 20*time.Millisecond, "the collector never became ready:\n%s", logs)
	return cmd, logs
}

// TestLoadBalancingAndK8sAttributesStart runs the two other contrib components this distribution
// took at v0.161.0 (for a fleet of collectors) on what can run without a cluster: a llamacpp
// receiver's series go through k8s_attributes (passthrough: no Kubernetes API) and load_balancing
// (static resolver) to the same collector's otlp receiver, and arrive.
func TestLoadBalancingAndK8sAttributesStart(t *testing.T) {
	srv := llamatest.Start(t, llamatest.Options{Parallel: 1})
	dir := t.TempDir()
	out := filepath.Join(dir, "metrics.jsonl")
	cfg := filepath.Join(dir, "config.yaml")
	otlpPort := llamatest.FreePort(t)
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
receivers:
  llamacpp:
    endpoint: 127.0.0.1:%d
    collection_interval: 200ms
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:%d"}
processors:
  k8s_attributes: {passthrough: true}
exporters:
  load_balancing:
    routing_key: resource
    protocol: {otlp: {tls: {insecure: true}}}
    resolver: {static: {hostnames: ["127.0.0.1:%d"]}}
  file: {path: %q, flush_interval: 100ms}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    metrics/in: {receivers: [llamacpp], processors: [k8s_attributes], exporters: [load_balancing]}
    metrics/out: {receivers: [otlp], exporters: [file]}
`, srv.Port, otlpPort, otlpPort, out), 0o600))

	cmd, logs := startPlainCollector(t, cfg)
	require.Eventually(t, func() bool {
		ps := seriesByPort(out)[int64(srv.Port)]
		return ps != nil && ps.up && ps.batches >= 3
	}, 20*time.Second, 100*time.Millisecond, "no series came through load_balancing:\n%s", logs)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "collector exit:\n%s", logs)
	assert.NotContains(t, logs.String(), "\terror\t")
}
