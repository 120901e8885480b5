// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/llamatelemetry/otelcol-llt/internal/fakenvml"
	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

// twoServer is one of TestTwoLaunchers' launchers with its receiver.
type twoServer struct {
	name                   string // a or b: llamalauncher/<name>, llamacpp/<name>
	llamaPort, gatewayPort int
}

func (s twoServer) health() string { return fmt.Sprintf("http://127.0.0.1:%d/health", s.llamaPort) }
func (s twoServer) chat() string {
	return fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", s.gatewayPort)
}

// pid is the one live llama-server with the server's port, or 0 when there is none; more than one
// fails t.
func (s twoServer) pid(t *testing.T) int {
	t.Helper()
	pid, ok := s.onePID()
	require.True(t, ok, "llamalauncher/%s: more than one llama-server on port %d: %v", s.name, s.llamaPort,
		llamatest.ProcessesWithArgs("--port", strconv.Itoa(s.llamaPort)))
	return pid
}

// onePID is pid for a polling condition: ok is false when more than one process has the port.
func (s twoServer) onePID() (pid int, ok bool) {
	pids := llamatest.ProcessesWithArgs("--port", strconv.Itoa(s.llamaPort))
	switch len(pids) {
	case 0:
		return 0, true
	case 1:
		return pids[0], true
	}
	return 0, false
}

// twoChat sends one chat completion through url with traceID in a W3C traceparent, and returns
// the status (0 and the error when there is no answer).
func twoChat(client *http.Client, url, traceID string) (int, error) {
	body := `{"messages":[{"role":"user","content":"which server answers?"}],"max_tokens":4}`
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// logComponent is the component ID and pid fields of a collector log line.
var (
	logComponent = regexp.MustCompile(`"otelcol\.component\.id": "([^"]+)"`)
	logPID       = regexp.MustCompile(`"pid": (\d+)`)
)

// launcherLines maps each component ID to the pids of the collector's log lines that contain msg.
func launcherLines(logs, msg string) map[string][]int {
	out := map[string][]int{}
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, msg) {
			continue
		}
		id, pid := "", 0
		if m := logComponent.FindStringSubmatch(line); m != nil {
			id = m[1]
		}
		if m := logPID.FindStringSubmatch(line); m != nil {
			pid, _ = strconv.Atoi(m[1])
		}
		out[id] = append(out[id], pid)
	}
	return out
}

// requestCounts is, per llama-server port (the resource's server.port), the newest count of
// gen_ai.server.request.duration, summed over its data points: the requests that server's gateway
// answered.
func requestCounts(path string) map[int64]uint64 {
	out := map[int64]uint64{}
	eachResourceMetrics(path, func(rm pmetric.ResourceMetrics) {
		port, ok := rm.Resource().Attributes().Get("server.port")
		if !ok {
			return
		}
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() != "gen_ai.server.request.duration" || m.Type() != pmetric.MetricTypeHistogram {
					continue
				}
				var n uint64
				for _, dp := range m.Histogram().DataPoints().All() {
					n += dp.Count()
				}
				out[port.Int()] = n
			}
		}
	})
	return out
}

// TestTwoLaunchers runs two llamalauncher instances in one collector: llamalauncher/a and
// llamalauncher/b, each a CPU llama-server of the tiny model on its own port, each with its own
// llamacpp receiver (llamacpp/a, llamacpp/b) and gateway, and the nvml receiver naming both
// (`launchers`; it reads no GPU here, so that only checks that the distribution takes the list).
// It checks that both servers become healthy; that a request through each gateway is answered and
// its span names its own server (server.port); that each receiver's metrics carry their own
// server's identity and count their own gateway's requests; that the live dashboard's data has a
// series for each server, labelled by address:port; and that kill -9 of server a restarts server a
// only, while b keeps its process and answers every request sent to it meanwhile.
//
// It fails, not skips, when llama-server or the built binary is missing.
func TestTwoLaunchers(t *testing.T) {
	t.Setenv("LLT_E2E", "1") // llamatest.Require fails instead of skipping
	server := llamatest.Server(t)
	bin := otelcolBin(t)
	model := llamatest.WriteModel(t, modelgen.Tiny())
	dir := t.TempDir()
	out := filepath.Join(dir, "telemetry.jsonl")
	a := twoServer{name: "a", llamaPort: llamatest.FreePort(t), gatewayPort: llamatest.FreePort(t)}
	b := twoServer{name: "b", llamaPort: llamatest.FreePort(t), gatewayPort: llamatest.FreePort(t)}
	healthPort, servePort, telemetryPort := llamatest.FreePort(t), llamatest.FreePort(t), llamatest.FreePort(t)
	launcher := func(s twoServer) string {
		return fmt.Sprintf(`
  llamalauncher/%s:
    executable: %q
    model: %q
    port: %d
    context_size: 1024
    parallel: 2
    gpu: {devices: []}`, s.name, server, model, s.llamaPort)
	}
	receiver := func(s twoServer) string {
		return fmt.Sprintf(`
  llamacpp/%s:
    launcher: llamalauncher/%s
    collection_interval: 500ms
    gateway: {endpoint: "127.0.0.1:%d"}`, s.name, s.name, s.gatewayPort)
	}
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`
extensions:`+launcher(a)+launcher(b)+fmt.Sprintf(`
  health_check: {endpoint: "127.0.0.1:%d"}
receivers:`, healthPort)+receiver(a)+receiver(b)+fmt.Sprintf(`
  nvml:
    launchers: [llamalauncher/a, llamalauncher/b]
processors:
  batch: {timeout: 100ms}
exporters:
  file: {path: %q, flush_interval: 100ms}
  plotlyhtml: {path: %q, interval: 1s, serve: {endpoint: "127.0.0.1:%d"}, dashboards: [live]}
service:
  extensions: [llamalauncher/a, llamalauncher/b, health_check]
  telemetry:
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}
  pipelines:
    metrics: {receivers: [llamacpp/a, llamacpp/b, nvml], processors: [batch], exporters: [file, plotlyhtml]}
    traces: {receivers: [llamacpp/a, llamacpp/b], processors: [batch], exporters: [file, plotlyhtml]}
    logs: {receivers: [llamacpp/a, llamacpp/b], processors: [batch], exporters: [file]}
`, out, filepath.Join(dir, "dashboard.html"), servePort, telemetryPort)), 0o600))

	logs := &lockedBuffer{}
	started := time.Now()
	cmd := execCollectorBin(t, bin, cfg, logs)
	for _, s := range []twoServer{a, b} {
		waitOK(t, s.health(), 2*time.Minute, "llama-server of llamalauncher/%s never became healthy:\n%s", s.name, logs)
		waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/health", s.gatewayPort), 30*time.Second,
			"the gateway of llamacpp/%s never answered:\n%s", s.name, logs)
	}
	bothReady := time.Since(started)
	require.Eventually(t, func() bool {
		ready := launcherLines(logs.String(), "llama-server ready")
		return len(ready["llamalauncher/a"]) == 1 && len(ready["llamalauncher/b"]) == 1
	}, 10*time.Second, 20*time.Millisecond, "each launcher must log its server ready once, under its own ID:\n%s", logs)
	waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), 10*time.Second, "health_check never answered 200:\n%s", logs)
	t.Logf("both servers ready %v after the collector started", bothReady.Round(time.Millisecond))

	// Two processes, one per launcher, each the one its launcher logged.
	pidA, pidB := a.pid(t), b.pid(t)
	require.NotZero(t, pidA)
	require.NotZero(t, pidB)
	require.NotEqual(t, pidA, pidB)
	ready := launcherLines(logs.String(), "llama-server ready")
	assert.Equal(t, []int{pidA}, ready["llamalauncher/a"], "llamalauncher/a's ready line names its own process")
	assert.Equal(t, []int{pidB}, ready["llamalauncher/b"], "llamalauncher/b's ready line names its own process")
	assert.Len(t, llamatest.ProcessesWithArgs("--model", model), 2)
	assert.Contains(t, logs.String(), "NVIDIA GPU metrics are off", "the nvml receiver started with both launchers")

	// One request through gateway a, two through gateway b, each with its own trace id.
	client := &http.Client{Timeout: time.Minute}
	traces := map[string]twoServer{
		"4bf92f3577b34da6a3ce929d0e0e4a01": a,
		"4bf92f3577b34da6a3ce929d0e0e4b01": b,
		"4bf92f3577b34da6a3ce929d0e0e4b02": b,
	}
	for _, id := range slices.Sorted(maps.Keys(traces)) {
		s := traces[id]
		status, err := twoChat(client, s.chat(), id)
		require.NoError(t, err, "request through llamacpp/%s's gateway", s.name)
		require.Equal(t, http.StatusOK, status, "request through llamacpp/%s's gateway", s.name)
	}

	// Each request's gateway span names its own server.
	gatewaySpans := func() map[string]fileSpan {
		got := map[string]fileSpan{}
		for _, sp := range (&defaultRun{File: out}).spans() {
			if sp.Kind == 2 && sp.Attrs["url.path"] == "/v1/chat/completions" {
				got[strings.ToLower(sp.TraceID)] = sp
			}
		}
		return got
	}
	var spans map[string]fileSpan
	require.Eventually(t, func() bool {
		spans = gatewaySpans()
		for id := range traces {
			if _, ok := spans[id]; !ok {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond, "the three gateway spans never came:\n%s", logs)
	for id, s := range traces {
		sp := spans[id]
		assert.Equal(t, int64(s.llamaPort), sp.Attrs["server.port"], "trace %s went through llamacpp/%s: its span must name llama-server %d", id, s.name, s.llamaPort)
		assert.Equal(t, "127.0.0.1", sp.Attrs["server.address"])
		assert.Empty(t, sp.Attrs["error.type"], "trace %s", id)
	}

	// Each receiver's metrics carry their own server's identity, and count their own gateway's
	// requests: 1 for a, 2 for b.
	require.Eventually(t, func() bool {
		series := seriesByPort(out)
		counts := requestCounts(out)
		return series[int64(a.llamaPort)] != nil && series[int64(a.llamaPort)].up &&
			series[int64(b.llamaPort)] != nil && series[int64(b.llamaPort)].up &&
			counts[int64(a.llamaPort)] == 1 && counts[int64(b.llamaPort)] == 2
	}, 20*time.Second, 200*time.Millisecond, "each server's metrics: %v, request counts %v", seriesByPort(out), requestCounts(out))
	series := seriesByPort(out)
	assert.ElementsMatch(t, []int64{int64(a.llamaPort), int64(b.llamaPort)}, keys(series), "only the two servers' series")
	for _, s := range []twoServer{a, b} {
		attrs := series[int64(s.llamaPort)].attrs
		assert.Equal(t, "127.0.0.1", attrs["server.address"], "llamacpp/%s", s.name)
		assert.Equal(t, model, attrs["llamacpp.model.path"], "llamacpp/%s", s.name)
		assert.Equal(t, "2", attrs["llamacpp.slots.total"], "llamacpp/%s", s.name)
	}

	// Each receiver's own telemetry is told apart by the receiver label: each counts the spans of
	// its own gateway's requests (a request's span and its children), no more.
	tel := &defaultRun{TelemetryPort: telemetryPort}
	spansOf := func(s twoServer) (n int) {
		for _, sp := range (&defaultRun{File: out}).spans() {
			if traces[strings.ToLower(sp.TraceID)] == s {
				n++
			}
		}
		return n
	}
	require.Eventually(t, func() bool {
		accA, errA := tel.internalMetric("otelcol_receiver_accepted_spans", `receiver="llamacpp/a"`)
		accB, errB := tel.internalMetric("otelcol_receiver_accepted_spans", `receiver="llamacpp/b"`)
		return errA == nil && errB == nil && accA > 0 && accA == float64(spansOf(a)) && accB > accA && accB == float64(spansOf(b))
	}, 10*time.Second, 200*time.Millisecond, "otelcol_receiver_accepted_spans per receiver: the spans of its own gateway's requests")
	t.Logf("spans accepted: llamacpp/a %v, llamacpp/b %v", tel.InternalMetric(t, "otelcol_receiver_accepted_spans", `receiver="llamacpp/a"`),
		tel.InternalMetric(t, "otelcol_receiver_accepted_spans", `receiver="llamacpp/b"`))

	// The live dashboard's data has both servers, told apart by address:port (then the model,
	// the same for both here: "busy slots · 127.0.0.1:<port> llt-tiny").
	labelA, labelB := fmt.Sprintf("127.0.0.1:%d ", a.llamaPort), fmt.Sprintf("127.0.0.1:%d ", b.llamaPort)
	var names []string
	has := func(prefix string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) })
	}
	require.Eventually(t, func() bool {
		names = liveTraceNames(servePort, "live-active-slots")
		return has("busy slots · "+labelA) && has("busy slots · "+labelB) && has("slots · "+labelA) && has("slots · "+labelB)
	}, 20*time.Second, 200*time.Millisecond, "the live page's active slots must draw each server: %q", &names)
	t.Logf("live-active-slots series: %q", names)

	// kill -9 server a: a restarts, b keeps its process and answers all the while.
	type bResult struct {
		sent   time.Time
		took   time.Duration
		status int
	}
	var (
		mu       sync.Mutex
		bResults []bResult
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			t0 := time.Now()
			status, _ := twoChat(client, b.chat(), fmt.Sprintf("5bf92f3577b34da6a3ce9290%08x", i)) // 0 without an answer
			mu.Lock()
			bResults = append(bResults, bResult{sent: t0, took: time.Since(t0), status: status})
			mu.Unlock()
		}
	})
	time.Sleep(time.Second) // a few requests to b before the kill
	killedAt := time.Now()
	require.NoError(t, syscall.Kill(pidA, syscall.SIGKILL))
	var newA int
	require.Eventually(t, func() bool {
		newA, _ = a.onePID()
		return newA != 0 && newA != pidA
	}, time.Minute, 10*time.Millisecond, "llamalauncher/a never started a new llama-server:\n%s", logs)
	newA = a.pid(t) // and only one
	startedAgain := time.Since(killedAt)
	waitOK(t, a.health(), time.Minute, "the new llama-server of llamalauncher/a never became healthy:\n%s", logs)
	healthyAgain := time.Since(killedAt)
	time.Sleep(time.Second) // b keeps being asked a little after a is back
	close(stop)
	wg.Wait()

	assert.Equal(t, pidB, b.pid(t), "llamalauncher/b's llama-server must be the same process")
	assert.True(t, llamatest.Alive(pidB))
	assert.False(t, llamatest.Alive(pidA), "the killed server is gone")
	require.NotEmpty(t, bResults)
	// b's latency before the kill, while a was down (sent between the kill and a's health), after.
	type bStats struct {
		ok, n   int
		slowest time.Duration
	}
	var before, during, after bStats
	for i, r := range bResults {
		assert.Equal(t, http.StatusOK, r.status, "request %d through llamacpp/b, sent %v after the kill", i, r.sent.Sub(killedAt))
		st := &during
		switch {
		case r.sent.Before(killedAt):
			st = &before
		case r.sent.After(killedAt.Add(healthyAgain)):
			st = &after
		}
		st.n++
		st.slowest = max(st.slowest, r.took)
		if r.status == http.StatusOK {
			st.ok++
		}
	}
	assert.Positive(t, during.n, "no request reached b while a was down")
	exited := launcherLines(logs.String(), "llama-server exited")
	assert.Equal(t, map[string][]int{"llamalauncher/a": {pidA}}, exited, "only llamalauncher/a's server exited")
	restarting := launcherLines(logs.String(), "Restarting llama-server")
	assert.Len(t, restarting["llamalauncher/a"], 1, "llamalauncher/a restarts once")
	assert.NotContains(t, restarting, "llamalauncher/b", "llamalauncher/b does not restart")
	require.Eventually(t, func() bool {
		return slices.Equal(launcherLines(logs.String(), "llama-server ready")["llamalauncher/a"], []int{pidA, newA})
	}, 10*time.Second, 20*time.Millisecond, "llamalauncher/a's second ready line names its new process:\n%s", logs)
	assert.Equal(t, []int{pidB}, launcherLines(logs.String(), "llama-server ready")["llamalauncher/b"])
	t.Logf("kill -9 of llamalauncher/a's llama-server (pid %d): new process %d started after %v, healthy after %v; "+
		"llamacpp/b (llama-server pid %d throughout) answered with 200: %d of %d requests before the kill (slowest %v), "+
		"%d of %d while a was down (slowest %v), %d of %d after (slowest %v)",
		pidA, newA, startedAgain.Round(time.Millisecond), healthyAgain.Round(time.Millisecond), pidB,
		before.ok, before.n, before.slowest.Round(time.Millisecond), during.ok, during.n, during.slowest.Round(time.Millisecond),
		after.ok, after.n, after.slowest.Round(time.Millisecond))

	// Gateway a serves again, through the new server, and its span still names server a.
	const afterID = "4bf92f3577b34da6a3ce929d0e0e4a02"
	status, err := twoChat(client, a.chat(), afterID)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "request through llamacpp/a's gateway after the restart")
	require.Eventually(t, func() bool {
		sp, ok := gatewaySpans()[afterID]
		return ok && sp.Attrs["server.port"] == int64(a.llamaPort)
	}, 20*time.Second, 100*time.Millisecond, "the span of the request after the restart must name server a")
	waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), 10*time.Second, "health_check after the restart:\n%s", logs)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "collector exit:\n%s", tail(logs.String(), 60))
	assert.Empty(t, llamatest.ProcessesWithArgs("--model", model), "a llama-server outlived the collector")
	assert.NotContains(t, logs.String(), "panic")
}

// execCollectorBin is execCollector with the binary given (resolved once by the caller).
func execCollectorBin(t *testing.T, bin, cfg string, logs *lockedBuffer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "--config", cfg)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd
}

// liveTraceNames returns the trace names of figure id on the live page's data feed.
func liveTraceNames(servePort int, id string) []string {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/dashboard.json?d=live", servePort))
	if err != nil {
		return nil
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil
	}
	var feed liveFeed
	if json.NewDecoder(bytes.NewReader(body)).Decode(&feed) != nil {
		return nil
	}
	var names []string
	for _, sec := range feed.Sections {
		for _, f := range sec.Figures {
			if f.ID == id {
				for _, d := range f.Data {
					names = append(names, d.Name)
				}
			}
		}
	}
	return names
}

// TestTwoLaunchersOnOnePort: two launchers configured with one port stop the collector's start
// with an error that names both, and leave no llama-server behind.
func TestTwoLaunchersOnOnePort(t *testing.T) {
	t.Setenv("LLT_E2E", "1")
	server := llamatest.Server(t)
	bin := otelcolBin(t)
	model := llamatest.WriteModel(t, modelgen.Tiny())
	port := llamatest.FreePort(t)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
extensions:
  llamalauncher/a: {executable: %[1]q, model: %[2]q, port: %[3]d, context_size: 1024, parallel: 1, gpu: {devices: []}}
  llamalauncher/b: {executable: %[1]q, model: %[2]q, port: %[3]d, context_size: 1024, parallel: 1, gpu: {devices: []}}
receivers:
  llamacpp/a: {launcher: llamalauncher/a}
  llamacpp/b: {launcher: llamalauncher/b}
exporters:
  debug: {}
service:
  extensions: [llamalauncher/a, llamalauncher/b]
  telemetry: {metrics: {level: none}}
  pipelines:
    metrics: {receivers: [llamacpp/a, llamacpp/b], exporters: [debug]}
`, server, model, port), 0o600))
	logs := &lockedBuffer{}
	cmd := execCollectorBin(t, bin, cfg, logs)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		require.Error(t, err, "the collector must not start:\n%s", logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("the collector still runs 30 s after its start:\n%s", logs)
	}
	assert.Regexp(t, "`port` "+strconv.Itoa(port)+" on 127.0.0.1: llamalauncher/[ab] and llamalauncher/[ab] \\(on 127.0.0.1\\) both have it", logs.String())
	require.Eventually(t, func() bool { return len(llamatest.ProcessesWithArgs("--model", model)) == 0 },
		10*time.Second, 20*time.Millisecond, "a llama-server outlived the failed start")
}

// gpuProcess is what the nvml receiver's nvidia.gpu.process.memory.usage says of one process.
type gpuProcess struct {
	memory   int64
	child    bool
	launcher string // llamacpp.launcher; "" when absent
}

// lastGPUProcesses maps each GPU (hw.id) to the processes of its newest
// nvidia.gpu.process.memory.usage in the file exporter's output at path.
func lastGPUProcesses(path string) map[string]map[int64]gpuProcess {
	out := map[string]map[int64]gpuProcess{}
	eachResourceMetrics(path, func(rm pmetric.ResourceMetrics) {
		id, ok := rm.Resource().Attributes().Get("hw.id")
		if !ok {
			return
		}
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() != "nvidia.gpu.process.memory.usage" {
					continue
				}
				procs := map[int64]gpuProcess{}
				for _, dp := range m.Sum().DataPoints().All() {
					pid, _ := dp.Attributes().Get("process.pid")
					child, _ := dp.Attributes().Get("llamacpp.launcher.child")
					p := gpuProcess{memory: dp.IntValue(), child: child.Bool()}
					if l, ok := dp.Attributes().Get("llamacpp.launcher"); ok {
						p.launcher = l.Str()
					}
					procs[pid.Int()] = p
				}
				out[id.Str()] = procs
			}
		}
	})
	return out
}

// gpuIDsByPort maps each llama-server port (server.port) to the newest llamacpp.gpu.ids of its
// receiver's metrics.
func gpuIDsByPort(path string) map[int64]string {
	out := map[int64]string{}
	eachResourceMetrics(path, func(rm pmetric.ResourceMetrics) {
		port, ok := rm.Resource().Attributes().Get("server.port")
		if !ok {
			return
		}
		if v, ok := rm.Resource().Attributes().Get("llamacpp.gpu.ids"); ok {
			out[port.Int()] = fmt.Sprint(v.Slice().AsRaw())
		}
	})
	return out
}

// TestTwoLaunchersOnTwoFakeGPUs is the one-model-per-GPU form of TestTwoLaunchers on two fake GPUs
// (internal/fakenvml): llamalauncher/a runs its (CPU) llama-server told it has GPU 0, llamalauncher/b
// GPU 1, and the nvml receiver names both (`launchers`). The fake GPUs list the servers' processes
// (the test writes each server's PID into its GPU's processes file, and another process on GPU 1).
// Each server's GPU memory must be reported on its own GPU only, marked with its own launcher;
// each receiver's llamacpp.gpu.ids must name its own launcher's GPU; each gateway span must name its
// own server's GPU and carry an energy share from that GPU's ledger; and after kill -9 of server a,
// a's new process is a's.
func TestTwoLaunchersOnTwoFakeGPUs(t *testing.T) {
	t.Setenv("LLT_E2E", "1")
	server := llamatest.Server(t)
	bin := otelcolBin(t)
	lib := filepath.Join(fakenvml.Build(t), fakenvml.LibraryName)
	model := llamatest.WriteModel(t, modelgen.Tiny())
	dir := t.TempDir()
	out := filepath.Join(dir, "telemetry.jsonl")
	gpus := []fakenvml.GPU{
		{UUID: "GPU-0a0a0a0a-0000-4000-8000-00000000000a", PowerMW: 200000, UtilGPU: 30, EnergyMJ: 1_000_000, ProcessesFile: filepath.Join(dir, "procs0")},
		{UUID: "GPU-0b0b0b0b-0000-4000-8000-00000000000b", PowerMW: 300000, UtilGPU: 40, EnergyMJ: 2_000_000, ProcessesFile: filepath.Join(dir, "procs1")},
	}
	a := twoServer{name: "a", llamaPort: llamatest.FreePort(t), gatewayPort: llamatest.FreePort(t)}
	b := twoServer{name: "b", llamaPort: llamatest.FreePort(t), gatewayPort: llamatest.FreePort(t)}
	cfg := filepath.Join(dir, "config.yaml")
	section := func(s twoServer, device int) string {
		return fmt.Sprintf(`
  llamalauncher/%[1]s:
    executable: %[2]q
    model: %[3]q
    port: %[4]d
    context_size: 1024
    parallel: 2
    gpu: {devices: [%[5]d], energy_max_wait: 5s}`, s.name, server, model, s.llamaPort, device)
	}
	receiver := func(s twoServer) string {
		return fmt.Sprintf(`
  llamacpp/%[1]s:
    launcher: llamalauncher/%[1]s
    collection_interval: 500ms
    gateway: {endpoint: "127.0.0.1:%[2]d"}`, s.name, s.gatewayPort)
	}
	require.NoError(t, os.WriteFile(cfg, []byte("extensions:"+section(a, 0)+section(b, 1)+"\nreceivers:"+receiver(a)+receiver(b)+fmt.Sprintf(`
  nvml:
    launchers: [llamalauncher/a, llamalauncher/b]
    library_path: %q
    collection_interval: 500ms
exporters:
  file: {path: %q, flush_interval: 100ms}
service:
  extensions: [llamalauncher/a, llamalauncher/b]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [llamacpp/a, llamacpp/b], exporters: [file]}
    metrics: {receivers: [llamacpp/a, llamacpp/b, nvml], exporters: [file]}
`, lib, out)), 0o600))

	cmd := exec.Command(bin, "--config", cfg)
	cmd.Env = append(os.Environ(), fakenvml.Script{GPUs: gpus}.Env()...)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	for _, s := range []twoServer{a, b} {
		waitOK(t, s.health(), 2*time.Minute, "llama-server of llamalauncher/%s never became healthy:\n%s", s.name, logs)
		waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/health", s.gatewayPort), 30*time.Second, "gateway %s:\n%s", s.name, logs)
	}
	require.Eventually(t, func() bool { return strings.Count(logs.String(), "GPU energy per request: on") == 2 },
		10*time.Second, 20*time.Millisecond, "the nvml receiver must meter each launcher's GPU:\n%s", logs)
	on := launcherLines(logs.String(), "GPU energy per request: on")
	assert.Len(t, on["nvml"], 2, "both meters attached by the nvml receiver: %v", on)
	assert.Regexp(t, `"launcher": "llamalauncher/a", "gpus": \["gpu0:`+gpus[0].UUID+`"\]`, logs.String())
	assert.Regexp(t, `"launcher": "llamalauncher/b", "gpus": \["gpu1:`+gpus[1].UUID+`"\]`, logs.String())

	// The fake GPUs run the servers: a's on GPU 0; b's and another process (this test) on GPU 1.
	pidA, pidB, other := a.pid(t), b.pid(t), os.Getpid()
	require.NotZero(t, pidA)
	require.NotZero(t, pidB)
	const memA, memB, memOther = 3 << 30, 5 << 30, 1 << 30
	require.NoError(t, fakenvml.WriteProcesses(gpus[0].ProcessesFile, fakenvml.Process{PID: pidA, UsedMemory: memA}))
	require.NoError(t, fakenvml.WriteProcesses(gpus[1].ProcessesFile,
		fakenvml.Process{PID: pidB, UsedMemory: memB}, fakenvml.Process{PID: other, UsedMemory: memOther}))
	want := map[string]map[int64]gpuProcess{
		gpus[0].UUID: {int64(pidA): {memory: memA, child: true, launcher: "llamalauncher/a"}},
		gpus[1].UUID: {
			int64(pidB):  {memory: memB, child: true, launcher: "llamalauncher/b"},
			int64(other): {memory: memOther},
		},
	}
	require.Eventually(t, func() bool { return assert.ObjectsAreEqual(want, lastGPUProcesses(out)) },
		10*time.Second, 100*time.Millisecond, "each server's GPU memory on its own GPU, marked with its launcher: %v", lastGPUProcesses(out))

	// Each receiver's llamacpp.gpu.ids is its own launcher's GPU.
	require.Eventually(t, func() bool {
		ids := gpuIDsByPort(out)
		return ids[int64(a.llamaPort)] == fmt.Sprint([]any{gpus[0].UUID}) && ids[int64(b.llamaPort)] == fmt.Sprint([]any{gpus[1].UUID})
	}, 10*time.Second, 100*time.Millisecond, "llamacpp.gpu.ids by server port: %v", gpuIDsByPort(out))

	// A request through each gateway: its span names its own server's GPU.
	client := &http.Client{Timeout: time.Minute}
	const traceA, traceB = "6bf92f3577b34da6a3ce929d0e0e4a01", "6bf92f3577b34da6a3ce929d0e0e4b01"
	for id, s := range map[string]twoServer{traceA: a, traceB: b} {
		status, err := twoChat(client, s.chat(), id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "llamacpp/%s", s.name)
	}
	var spans map[string]jsonSpan
	require.Eventually(t, func() bool {
		spans = map[string]jsonSpan{}
		for _, sp := range gatewaySpansOf(out) {
			spans[sp.TraceID] = sp
		}
		_, okA := spans[traceA]
		_, okB := spans[traceB]
		return okA && okB
	}, 20*time.Second, 100*time.Millisecond, "the gateway spans (with their energy, up to energy_max_wait) never came:\n%s", logs)
	for id, want := range map[string]struct {
		s    twoServer
		gpu  fakenvml.GPU
		name string
	}{traceA: {a, gpus[0], "gpu0"}, traceB: {b, gpus[1], "gpu1"}} {
		attrs := spans[id].Attrs
		assert.Equal(t, int64(want.s.llamaPort), attrs["server.port"], "llamacpp/%s", want.s.name)
		assert.Equal(t, want.gpu.UUID, attrs["hw.id"], "llamacpp/%s: its span names its own server's GPU", want.s.name)
		assert.Equal(t, want.name, attrs["hw.name"], "llamacpp/%s", want.s.name)
		// Its energy share comes from its own launcher's ledger. It may be 0: the fake GPU's power
		// does not rise with a request, so a request's share (its period's energy less the idle
		// power times the idle time) is within the timing noise of the readings and can be clamped
		// to 0 (TestGPUEnergyOnSpans checks the split itself).
		e, ok := attrs["llt.gen_ai.gpu.energy"].(float64)
		assert.True(t, ok, "llamacpp/%s: no llt.gen_ai.gpu.energy: %v", want.s.name, attrs)
		assert.GreaterOrEqual(t, e, 0.0, "llamacpp/%s: energy", want.s.name)
		t.Logf("llamacpp/%s: span on %s, %.3f J", want.s.name, attrs["hw.name"], e)
	}

	// kill -9 server a: its new process, listed on GPU 0 in its place, is a's.
	require.NoError(t, syscall.Kill(pidA, syscall.SIGKILL))
	var newA int
	require.Eventually(t, func() bool {
		newA, _ = a.onePID()
		return newA != 0 && newA != pidA
	}, time.Minute, 10*time.Millisecond, "llamalauncher/a never started a new llama-server:\n%s", logs)
	newA = a.pid(t) // and only one
	waitOK(t, a.health(), time.Minute, "the new llama-server of llamalauncher/a:\n%s", logs)
	require.NoError(t, fakenvml.WriteProcesses(gpus[0].ProcessesFile, fakenvml.Process{PID: newA, UsedMemory: memA}))
	want[gpus[0].UUID] = map[int64]gpuProcess{int64(newA): {memory: memA, child: true, launcher: "llamalauncher/a"}}
	require.Eventually(t, func() bool { return assert.ObjectsAreEqual(want, lastGPUProcesses(out)) },
		10*time.Second, 100*time.Millisecond, "after the restart: %v", lastGPUProcesses(out))
	assert.Equal(t, pidB, b.pid(t), "llamalauncher/b's server is the same process")

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "collector exit:\n%s", tail(logs.String(), 60))
	assert.Empty(t, llamatest.ProcessesWithArgs("--model", model), "a llama-server outlived the collector")
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "\twarn\t") && strings.Contains(line, `"otelcol.component.id": "nvml"`) {
			t.Errorf("the nvml receiver warned: %s", line)
		}
	}
}

// TestSeveralLaunchersREADME: the configurations of the launcher README's "Several launchers"
// section are valid for the built distribution: the GPU one alone, and with the CPU one's
// launchers merged over it.
func TestSeveralLaunchersREADME(t *testing.T) {
	readme, err := os.ReadFile("../launcher/README.md")
	require.NoError(t, err)
	text := string(readme)
	start := strings.Index(text, "## Several launchers")
	require.NotEqual(t, -1, start, "no Several launchers section")
	end := strings.Index(text[start+1:], "\n## ")
	require.NotEqual(t, -1, end)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(text[start:start+1+end], -1)
	require.Len(t, blocks, 2, "the GPU and the CPU configuration")
	dir := t.TempDir()
	gpu, cpu := filepath.Join(dir, "gpu.yaml"), filepath.Join(dir, "cpu.yaml")
	require.NoError(t, os.WriteFile(gpu, []byte(blocks[0][1]), 0o600))
	require.NoError(t, os.WriteFile(cpu, []byte(blocks[1][1]), 0o600))
	bin := otelcolBin(t)
	run(t, nil, bin, "validate", "--config", gpu)
	run(t, nil, bin, "validate", "--config", gpu, "--config", cpu)
}
