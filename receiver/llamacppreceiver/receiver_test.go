// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/pkg/llamalog"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

// sumLast returns the value of the named cumulative sum in the newest batch that has it.
func sumLast(t *testing.T, sink *consumertest.MetricsSink, name string) (int64, bool) {
	t.Helper()
	all := sink.AllMetrics()
	for i := len(all) - 1; i >= 0; i-- {
		rms := all[i].ResourceMetrics()
		for r := 0; r < rms.Len(); r++ {
			sms := rms.At(r).ScopeMetrics()
			for s := 0; s < sms.Len(); s++ {
				ms := sms.At(s).Metrics()
				for m := 0; m < ms.Len(); m++ {
					if ms.At(m).Name() == name && ms.At(m).Type() == pmetric.MetricTypeSum {
						dps := ms.At(m).Sum().DataPoints()
						if dps.Len() > 0 {
							dp := dps.At(0)
							if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble {
								return int64(dp.DoubleValue()), true
							}
							return dp.IntValue(), true
						}
					}
				}
			}
		}
	}
	return 0, false
}

func spans(sink *consumertest.TracesSink) []ptrace.Span {
	var out []ptrace.Span
	for _, td := range sink.AllTraces() {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				ss := sss.At(j).Spans()
				for k := 0; k < ss.Len(); k++ {
					out = append(out, ss.At(k))
				}
			}
		}
	}
	return out
}

func intAttr(m pcommon.Map, k string) int64 {
	v, _ := m.Get(k)
	return v.Int()
}

// TestGatewayAndScraperAgree: after N chat completions through the gateway, the scraped prompt
// and generation counters grew by exactly the sums of `usage` in the responses, and N server
// spans arrived with GenAI attributes. One receiver instance serves both pipelines.
func TestGatewayAndScraperAgree(t *testing.T) {
	srv := llamatest.Start(t, llamatest.Options{Alias: "tiny-test"})
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = srv.URL
	cfg.CollectionInterval = 50 * time.Millisecond
	gw := defaultGatewayConfig()
	gw.NetAddr.Endpoint = fmt.Sprintf("127.0.0.1:%d", llamatest.FreePort(t))
	cfg.Gateway = configoptional.Some(gw)
	require.NoError(t, cfg.Validate())

	metricsSink, tracesSink := new(consumertest.MetricsSink), new(consumertest.TracesSink)
	set := receivertest.NewNopSettings(metadata.Type)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	set.TelemetrySettings = tel.NewTelemetrySettings()
	f := NewFactory()
	mr, err := f.CreateMetrics(context.Background(), set, cfg, metricsSink)
	require.NoError(t, err)
	tr, err := f.CreateTraces(context.Background(), set, cfg, tracesSink)
	require.NoError(t, err)
	assert.Same(t, mr, tr, "metrics and traces share one receiver")
	require.NoError(t, mr.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, tr.Start(context.Background(), componenttest.NewNopHost()))
	defer func() {
		require.NoError(t, mr.Shutdown(context.Background()))
		require.NoError(t, tr.Shutdown(context.Background()))
	}()

	// usage.prompt_tokens counts the whole prompt; llama-server counts the tokens it processed
	// and those it reused from its prompt cache in two counters.
	promptTokens := func() (int64, bool) {
		processed, ok1 := sumLast(t, metricsSink, "llamacpp.prompt.tokens")
		cached, ok2 := sumLast(t, metricsSink, "llamacpp.prompt.tokens.cached")
		return processed + cached, ok1 && ok2
	}
	var prompt0, gen0 int64
	require.Eventually(t, func() bool {
		var ok1, ok2 bool
		prompt0, ok1 = promptTokens()
		gen0, ok2 = sumLast(t, metricsSink, "llamacpp.generation.tokens")
		return ok1 && ok2
	}, 10*time.Second, 20*time.Millisecond, "no scrape with the token counters")

	const n = 5
	var wantPrompt, wantGen int64
	for i := range n {
		body := fmt.Sprintf(`{"model":"tiny-test","messages":[{"role":"user","content":"Hello number %d"}],"max_tokens":8,"temperature":0.5}`, i)
		resp, err := http.Post("http://"+gw.NetAddr.Endpoint+"/v1/chat/completions", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
		var out struct {
			Usage struct {
				PromptTokens     int64 `json:"prompt_tokens"`
				CompletionTokens int64 `json:"completion_tokens"`
			} `json:"usage"`
		}
		require.NoError(t, json.Unmarshal(raw, &out))
		wantPrompt += out.Usage.PromptTokens
		wantGen += out.Usage.CompletionTokens
	}

	require.Eventually(t, func() bool {
		p, _ := promptTokens()
		g, _ := sumLast(t, metricsSink, "llamacpp.generation.tokens")
		return p-prompt0 == wantPrompt && g-gen0 == wantGen
	}, 10*time.Second, 20*time.Millisecond, "counters did not grow by the usage sums (prompt %d, generated %d)", wantPrompt, wantGen)

	var server []ptrace.Span
	require.Eventually(t, func() bool {
		server = server[:0]
		for _, s := range spans(tracesSink) {
			if s.Kind() == ptrace.SpanKindServer {
				server = append(server, s)
			}
		}
		return len(server) == n
	}, 10*time.Second, 20*time.Millisecond)
	var gotIn, gotOut int64
	for _, s := range server {
		a := s.Attributes()
		assert.Equal(t, "chat tiny-test", s.Name())
		op, _ := a.Get("gen_ai.operation.name")
		assert.Equal(t, "chat", op.Str())
		provider, _ := a.Get("gen_ai.provider.name")
		assert.Equal(t, "llama_cpp", provider.Str())
		temp, _ := a.Get("gen_ai.request.temperature")
		assert.InDelta(t, 0.5, temp.Double(), 1e-9)
		gotIn += intAttr(a, "gen_ai.usage.input_tokens")
		gotOut += intAttr(a, "gen_ai.usage.output_tokens")
	}
	assert.Equal(t, wantPrompt, gotIn)
	assert.Equal(t, wantGen, gotOut)
	// The collector's own metrics count the spans, as for any receiver (receiverhelper).
	assert.Equal(t, int64(len(spans(tracesSink))), counterSum(t, tel, "otelcol_receiver_accepted_spans", "transport", "http"))

	// The gateway's own metrics ride along with the scrape.
	require.Eventually(t, func() bool {
		for _, md := range metricsSink.AllMetrics() {
			ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
			for i := 0; i < ms.Len(); i++ {
				if ms.At(i).Name() == "gen_ai.server.request.duration" {
					return true
				}
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "no gen_ai.server.request.duration in the metrics")
}

// fakeLauncher implements launcherapi.Launcher over a real llama-server started by llamatest,
// and lets the test emit log records as the launcher would (see pkg/launcherapi for the
// contract).
type fakeLauncher struct {
	component.StartFunc
	component.ShutdownFunc
	url  string
	mu   sync.Mutex
	subs []func(launcherapi.LogRecord)
}

func (f *fakeLauncher) BaseURL() string                 { return f.url }
func (f *fakeLauncher) APIKey() string                  { return "" }
func (f *fakeLauncher) PID() int                        { return 42 }
func (f *fakeLauncher) Model() launcherapi.Model        { return launcherapi.Model{Alias: "tiny-test"} }
func (f *fakeLauncher) State() launcherapi.State        { return launcherapi.StateReady }
func (f *fakeLauncher) WaitReady(context.Context) error { return nil }
func (f *fakeLauncher) SubscribeLogs(fn func(launcherapi.LogRecord)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, fn)
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.subs = nil
	}
}

func (f *fakeLauncher) emit(line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fn := range f.subs {
		fn(launcherapi.LogRecord{Record: llamalog.ParseLine(line), PID: 42, Stream: "stderr", Time: time.Now().UnixNano()})
	}
}

type launcherHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h launcherHost) GetExtensions() map[component.ID]component.Component { return h.exts }

func TestLogsFromLauncher(t *testing.T) {
	id := component.MustNewID("llamalauncher")
	fl := &fakeLauncher{url: "http://127.0.0.1:1"}
	cfg := createDefaultConfig().(*Config)
	cfg.Launcher = &id
	sink := new(consumertest.LogsSink)
	set := receivertest.NewNopSettings(metadata.Type)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	set.TelemetrySettings = tel.NewTelemetrySettings()
	r, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), launcherHost{componenttest.NewNopHost(), map[component.ID]component.Component{id: fl}}))
	fl.emit("0.04.225.944 I slot print_timing: id  0 | task 1 |        eval time =       4.85 ms /    16 tokens")
	fl.emit("0.07.139.794 W srv    operator(): got exception: {\"error\":{\"code\":400}}")
	require.NoError(t, r.Shutdown(context.Background()), "shutdown flushes the queue")

	require.Equal(t, 2, sink.LogRecordCount())
	lrs := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	first := lrs.At(0)
	assert.Equal(t, plog.SeverityNumberInfo, first.SeverityNumber())
	assert.Equal(t, "eval time =       4.85 ms /    16 tokens", first.Body().Str())
	assert.Equal(t, int64(0), intAttr(first.Attributes(), "llamacpp.slot.id"))
	assert.Equal(t, int64(1), intAttr(first.Attributes(), "llamacpp.task.id"))
	assert.Equal(t, int64(42), intAttr(first.Attributes(), "process.pid"))
	fn, _ := first.Attributes().Get("code.function.name")
	assert.Equal(t, "print_timing", fn.Str())
	assert.Equal(t, plog.SeverityNumberWarn, lrs.At(1).SeverityNumber())
	assert.Equal(t, int64(2), counterSum(t, tel, "otelcol_receiver_accepted_log_records", "transport", "pipe"))
}

// counterSum sums an int64 counter of the collector's own telemetry over the points whose
// attribute key has value want.
func counterSum(t *testing.T, tel *componenttest.Telemetry, name, key, want string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err)
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T", name, m.Data)
	var n int64
	for _, dp := range sum.DataPoints {
		if v, ok := dp.Attributes.Value(attribute.Key(key)); ok && v.AsString() == want {
			n += dp.Value
		}
	}
	return n
}

func TestLauncherNotFound(t *testing.T) {
	id := component.MustNewIDWithName("llamalauncher", "absent")
	cfg := createDefaultConfig().(*Config)
	cfg.Launcher = &id
	r, err := NewFactory().CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "`launcher`: launcher \"llamalauncher/absent\": no such extension")
	require.NoError(t, r.Shutdown(context.Background()))
}

// Lines are sent in batches: a full batch as soon as it is queued, the rest at the tick or at
// shutdown; none is lost and the order is kept.
func TestLogsBatched(t *testing.T) {
	id := component.MustNewID("llamalauncher")
	fl := &fakeLauncher{url: "http://127.0.0.1:1"}
	cfg := createDefaultConfig().(*Config)
	cfg.Launcher = &id
	sink := new(consumertest.LogsSink)
	r, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), launcherHost{componenttest.NewNopHost(), map[component.ID]component.Component{id: fl}}))
	const n = 3*logBatchSize + 7
	for i := range n {
		fl.emit(fmt.Sprintf("0.04.225.944 I slot print_timing: id  0 | task %d | done", i))
	}
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 3*logBatchSize }, 5*time.Second, 5*time.Millisecond,
		"full batches are sent without waiting for shutdown")
	require.NoError(t, r.Shutdown(context.Background()))
	require.Equal(t, n, sink.LogRecordCount())
	task := int64(0)
	for _, ld := range sink.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		assert.LessOrEqual(t, lrs.Len(), logBatchSize)
		for i := 0; i < lrs.Len(); i++ {
			assert.Equal(t, task, intAttr(lrs.At(i).Attributes(), "llamacpp.task.id"))
			task++
		}
	}
}
