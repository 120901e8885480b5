// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"context"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/collector/scraper/scrapererror"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/scraper/*/expected.yaml (the test then fails: review the diff)")

// fakeServer serves a folder of testdata/scraper like llama-server: /health, /metrics, /slots,
// /props and /v1/models from health.json, metrics.txt, slots.json, props.json and
// v1-models.json. A handler in override replaces a route. It counts requests per path.
type fakeServer struct {
	*httptest.Server
	mu       sync.Mutex
	override map[string]http.HandlerFunc
	hits     map[string]int
	auth     []string
}

func newFakeServer(t *testing.T, dir string) *fakeServer {
	t.Helper()
	files := map[string]string{
		"/health": "health.json", "/metrics": "metrics.txt", "/slots": "slots.json",
		"/props": "props.json", "/v1/models": "v1-models.json",
	}
	f := &fakeServer{override: map[string]http.HandlerFunc{}, hits: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hits[r.URL.Path]++
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		h := f.override[r.URL.Path]
		f.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		name, ok := files[r.URL.Path]
		if !ok {
			http.Error(w, `{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}`, http.StatusNotFound)
			return
		}
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if r.URL.Path == "/metrics" {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		} else {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) set(path string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.override[path] = h
}

func (f *fakeServer) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func respond(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// newTestScraper returns a started scraper for t, logging into an observer.
func newTestScraper(t *testing.T, tgt *target) (*llamacppScraper, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.InfoLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = tgt.endpoint
	s := newScraper(cfg, set, tgt)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, s.shutdown(context.Background())) })
	return s, logs
}

// clock is a settable time for scraper.now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

var compareOpts = []pmetrictest.CompareMetricsOption{
	pmetrictest.IgnoreTimestamp(),
	pmetrictest.IgnoreStartTimestamp(),
	pmetrictest.IgnoreResourceAttributeValue("server.port"), // httptest's port
	pmetrictest.IgnoreMetricDataPointsOrder(),               // slots and unknown series
}

// TestScrapeGolden scrapes each llama-server generation served from its captured answers and
// compares the complete metric set with expected.yaml. Run with -update to rewrite them.
func TestScrapeGolden(t *testing.T) {
	for _, name := range []string{"debian-b11669-cpu", "upstream-2026-05-cuda-h200", "synthetic-2025"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "scraper", name)
			srv := newFakeServer(t, dir)
			s, _ := newTestScraper(t, &target{endpoint: srv.URL})
			md, err := s.scrape(context.Background())
			require.NoError(t, err)

			expectedFile := filepath.Join(dir, "expected.yaml")
			if *updateGolden {
				require.NoError(t, golden.WriteMetrics(t, expectedFile, md))
				return
			}
			expected, err := golden.ReadMetrics(expectedFile)
			require.NoError(t, err)
			require.NoError(t, pmetrictest.CompareMetrics(expected, md, compareOpts...))
		})
	}
}

// metric returns the metric called name in md.
func metric(md pmetric.Metrics, name string) (pmetric.Metric, bool) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				if ms.At(k).Name() == name {
					return ms.At(k), true
				}
			}
		}
	}
	return pmetric.Metric{}, false
}

// points returns the data points of a gauge or sum called name (empty when absent).
func points(md pmetric.Metrics, name string) pmetric.NumberDataPointSlice {
	m, ok := metric(md, name)
	switch {
	case !ok:
		return pmetric.NewNumberDataPointSlice()
	case m.Type() == pmetric.MetricTypeSum:
		return m.Sum().DataPoints()
	default:
		return m.Gauge().DataPoints()
	}
}

// serverUp returns llamacpp.server.up's value and state.
func serverUp(t *testing.T, md pmetric.Metrics) (int64, string) {
	t.Helper()
	dps := points(md, "llamacpp.server.up")
	require.Equal(t, 1, dps.Len(), "llamacpp.server.up")
	st, _ := dps.At(0).Attributes().Get("llamacpp.server.state")
	return dps.At(0).IntValue(), st.Str()
}

// TestScrapeBadInput: each failure mode, its error text, and what is still emitted.
func TestScrapeBadInput(t *testing.T) {
	dir := filepath.Join("testdata", "scraper", "debian-b11669-cpu")
	tests := []struct {
		name      string
		path      string
		handler   http.HandlerFunc
		wantErr   string // "" for none
		wantUp    int64
		wantState string
		present   []string // metrics that must still be there
		absent    []string
	}{
		{
			name:      "metrics html",
			path:      "/metrics",
			handler:   respond(200, "<!DOCTYPE html>\n<html><body>llama.cpp</body></html>\n"),
			wantErr:   "scrape /metrics: body is HTML or XML, not the Prometheus text format (does `endpoint` point at llama-server?)",
			wantUp:    1,
			wantState: "ok",
			present:   []string{"llamacpp.slots.total", "llamacpp.slot.busy"},
			absent:    []string{"llamacpp.prompt.tokens"},
		},
		{
			name:      "metrics garbage",
			path:      "/metrics",
			handler:   respond(200, "llamacpp:prompt_tokens_total one hundred\n"),
			wantErr:   `scrape /metrics: text format parsing error in line 1: expected float as value, got "one"`,
			wantUp:    1,
			wantState: "ok",
			present:   []string{"llamacpp.slots.total"},
			absent:    []string{"llamacpp.prompt.tokens"},
		},
		{
			name: "metrics 50 MB",
			path: "/metrics",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				line := []byte("# " + strings.Repeat("x", 1021) + "\n")
				for range 50 << 10 { // 50 MiB of comment lines
					if _, err := w.Write(line); err != nil {
						return
					}
				}
			},
			wantErr:   "scrape /metrics: response larger than 16777216 bytes",
			wantUp:    1,
			wantState: "ok",
			present:   []string{"llamacpp.slots.total"},
			absent:    []string{"llamacpp.prompt.tokens"},
		},
		{
			name:      "metrics negative count",
			path:      "/metrics",
			handler:   respond(200, "# TYPE llamacpp:prompt_tokens_total counter\nllamacpp:prompt_tokens_total -3\n# TYPE llamacpp:tokens_predicted_total counter\nllamacpp:tokens_predicted_total 12\n"),
			wantErr:   "scrape /metrics: llamacpp:prompt_tokens_total: value -3 is not a count",
			wantUp:    1,
			wantState: "ok",
			present:   []string{"llamacpp.generation.tokens", "llamacpp.slots.total"},
			absent:    []string{"llamacpp.prompt.tokens"},
		},
		{
			name:      "metrics 401",
			path:      "/metrics",
			handler:   respond(401, `{"error":{"message":"Invalid API Key","type":"authentication_error","code":401}}`),
			wantErr:   "scrape /metrics: llama-server refused the API key (401 Invalid API Key): set `api_key` to a key llama-server accepts (its --api-key)",
			wantUp:    1,
			wantState: "ok",
			present:   []string{"llamacpp.slots.total"},
		},
		{
			name:      "slots malformed",
			path:      "/slots",
			handler:   respond(200, `[{"id":0,"n_ctx":512,`),
			wantErr:   "scrape /slots: not a JSON array of slots: unexpected end of JSON input",
			wantUp:    1,
			wantState: "ok",
			present:   []string{"llamacpp.prompt.tokens", "llamacpp.generation.tokens", "llamacpp.requests.processing"},
			absent:    []string{"llamacpp.slots.total", "llamacpp.slot.busy"},
		},
		{
			name:      "slots 401",
			path:      "/slots",
			handler:   respond(401, `{"error":{"message":"Invalid API Key","type":"authentication_error","code":401}}`),
			wantErr:   "scrape /slots: llama-server refused the API key (401 Invalid API Key): set `api_key` to a key llama-server accepts (its --api-key)",
			wantUp:    1,
			wantState: "ok",
			present:   []string{"llamacpp.prompt.tokens"},
			absent:    []string{"llamacpp.slots.total"},
		},
		{
			name:      "slots disabled",
			path:      "/slots",
			handler:   respond(501, `{"error":{"code":501,"message":"This server does not support slots endpoint. Start it with `+"`--slots`"+`","type":"not_supported_error"}}`),
			wantUp:    1,
			wantState: "ok",
			present:   []string{"llamacpp.prompt.tokens"},
			absent:    []string{"llamacpp.slots.total"},
		},
		{
			name:      "props not found",
			path:      "/props",
			handler:   respond(404, `{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}`),
			wantErr:   "scrape /props: unexpected status 404: File Not Found",
			wantUp:    1,
			wantState: "ok",
			present:   []string{"llamacpp.prompt.tokens", "llamacpp.slots.total"},
		},
		{
			name:      "models not json",
			path:      "/v1/models",
			handler:   respond(200, `models: tiny`),
			wantErr:   "scrape /v1/models: invalid character 'm' looking for beginning of value",
			wantUp:    1,
			wantState: "ok",
			present:   []string{"llamacpp.prompt.tokens"},
		},
		{
			name:      "health loading",
			path:      "/health",
			handler:   respond(503, `{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`),
			wantUp:    0,
			wantState: "loading",
			absent:    []string{"llamacpp.prompt.tokens", "llamacpp.slots.total"},
		},
		{
			name:      "health error",
			path:      "/health",
			handler:   respond(500, `{"status":"error"}`),
			wantErr:   `scrape /health: unexpected status 500: {"status":"error"}`,
			wantUp:    0,
			wantState: "error",
			absent:    []string{"llamacpp.prompt.tokens", "llamacpp.slots.total"},
		},
		{
			name:      "health too large",
			path:      "/health",
			handler:   respond(200, strings.Repeat(" ", maxJSONBytes+1)),
			wantErr:   "scrape /health: response larger than 4194304 bytes",
			wantUp:    0,
			wantState: "error",
			absent:    []string{"llamacpp.prompt.tokens"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, dir)
			srv.set(tt.path, tt.handler)
			s, _ := newTestScraper(t, &target{endpoint: srv.URL})
			md, err := s.scrape(context.Background())
			if tt.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.EqualError(t, err, tt.wantErr)
				assert.True(t, scrapererror.IsPartialScrapeError(err), "a partial error keeps the other metrics")
			}
			v, state := serverUp(t, md)
			assert.Equal(t, tt.wantUp, v)
			assert.Equal(t, tt.wantState, state)
			for _, name := range tt.present {
				_, ok := metric(md, name)
				assert.True(t, ok, "%s is missing", name)
			}
			for _, name := range tt.absent {
				_, ok := metric(md, name)
				assert.False(t, ok, "%s should be absent", name)
			}
			if tt.wantState != "ok" {
				assert.Zero(t, srv.count("/metrics")+srv.count("/slots")+srv.count("/props"), "nothing but /health is asked while the server is not ok")
			}
		})
	}
}

// TestSlotsDisabledWarnsOnce: --no-slots (501) logs one warning per receiver lifetime.
func TestSlotsDisabledWarnsOnce(t *testing.T) {
	srv := newFakeServer(t, filepath.Join("testdata", "scraper", "debian-b11669-cpu"))
	srv.set("/slots", respond(501, `{"error":{"code":501,"message":"This server does not support slots endpoint.","type":"not_supported_error"}}`))
	s, logs := newTestScraper(t, &target{endpoint: srv.URL})
	for range 3 {
		_, err := s.scrape(context.Background())
		require.NoError(t, err)
	}
	warnings := logs.FilterMessageSnippet("/slots is disabled").All()
	require.Len(t, warnings, 1)
	assert.Equal(t, zapcore.WarnLevel, warnings[0].Level)
}

// TestServerDown: an unreachable server gives up=0 (unreachable) without a scrape error, one
// error log per outage, and an info log when it answers again.
func TestServerDown(t *testing.T) {
	srv := newFakeServer(t, filepath.Join("testdata", "scraper", "debian-b11669-cpu"))
	var down atomic.Bool
	down.Store(true)
	// A handler that drops the connection stands for a dead server without a port reuse race.
	drop := func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		body, _ := os.ReadFile(filepath.Join("testdata", "scraper", "debian-b11669-cpu", "health.json"))
		_, _ = w.Write(body)
	}
	srv.set("/health", drop)
	s, logs := newTestScraper(t, &target{endpoint: srv.URL})

	for range 3 {
		md, err := s.scrape(context.Background())
		require.NoError(t, err, "an outage is reported by llamacpp.server.up, not as a scrape error")
		v, state := serverUp(t, md)
		assert.Equal(t, int64(0), v)
		assert.Equal(t, "unreachable", state)
		_, ok := metric(md, "llamacpp.prompt.tokens")
		assert.False(t, ok)
	}
	errs := logs.FilterLevelExact(zapcore.ErrorLevel).All()
	require.Len(t, errs, 1, "one error per outage")
	assert.Contains(t, errs[0].Message, "llama-server is unreachable")

	down.Store(false)
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	v, state := serverUp(t, md)
	assert.Equal(t, int64(1), v)
	assert.Equal(t, "ok", state)
	assert.Len(t, logs.FilterMessage("llama-server is reachable again").All(), 1)
	_, ok := metric(md, "llamacpp.prompt.tokens")
	assert.True(t, ok)

	// A second outage logs again, once.
	down.Store(true)
	for range 2 {
		_, err = s.scrape(context.Background())
		require.NoError(t, err)
	}
	assert.Len(t, logs.FilterLevelExact(zapcore.ErrorLevel).All(), 2)
}

// TestConnectionRefused uses a closed port: the same unreachable state as above.
func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s, logs := newTestScraper(t, &target{endpoint: url})
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	v, state := serverUp(t, md)
	assert.Equal(t, int64(0), v)
	assert.Equal(t, "unreachable", state)
	require.Equal(t, 1, logs.FilterLevelExact(zapcore.ErrorLevel).Len())
	assert.Contains(t, logs.All()[0].ContextMap()["error"], "connection refused")
}

// mutableMetrics serves /metrics from a string the test changes between scrapes.
type mutableMetrics struct {
	mu        sync.Mutex
	body      string
	procStart string
}

func (m *mutableMetrics) setBody(body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.body = body
}

func (m *mutableMetrics) handler(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.procStart != "" {
		w.Header().Set("Process-Start-Time-Unix", m.procStart)
	}
	_, _ = w.Write([]byte(m.body))
}

func countersBody(prompt, generated int) string {
	return "# TYPE llamacpp:prompt_tokens_total counter\nllamacpp:prompt_tokens_total " + strconv.Itoa(prompt) +
		"\n# TYPE llamacpp:tokens_predicted_total counter\nllamacpp:tokens_predicted_total " + strconv.Itoa(generated) + "\n"
}

// TestThroughput: rates come from the counters over the wall-clock time between two scrapes,
// and are absent on the first scrape.
func TestThroughput(t *testing.T) {
	srv := newFakeServer(t, filepath.Join("testdata", "scraper", "debian-b11669-cpu"))
	mm := &mutableMetrics{body: countersBody(100, 40)}
	srv.set("/metrics", mm.handler)
	s, _ := newTestScraper(t, &target{endpoint: srv.URL})
	c := &clock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	s.now = c.now

	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	assert.Zero(t, points(md, "llamacpp.prompt.throughput").Len(), "no rate on the first scrape")
	assert.Zero(t, points(md, "llamacpp.generation.throughput").Len())

	// 2.5 s later: prompt 100 → 475 (+375), generated 40 → 140 (+100).
	c.advance(2500 * time.Millisecond)
	mm.setBody(countersBody(475, 140))
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, points(md, "llamacpp.prompt.throughput").Len())
	assert.InDelta(t, 150.0, points(md, "llamacpp.prompt.throughput").At(0).DoubleValue(), 1e-9)    // 375 / 2.5
	assert.InDelta(t, 40.0, points(md, "llamacpp.generation.throughput").At(0).DoubleValue(), 1e-9) // 100 / 2.5

	// 0.5 s later, nothing new: zero rates.
	c.advance(500 * time.Millisecond)
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	assert.InDelta(t, 0.0, points(md, "llamacpp.prompt.throughput").At(0).DoubleValue(), 1e-9)
	assert.InDelta(t, 0.0, points(md, "llamacpp.generation.throughput").At(0).DoubleValue(), 1e-9)
}

// TestCounterReset: a counter that goes down means llama-server restarted: the sums get a new
// start time (the previous scrape's, after which the restart happened), no rate is computed
// across the restart, and /props is read again.
func TestCounterReset(t *testing.T) {
	srv := newFakeServer(t, filepath.Join("testdata", "scraper", "debian-b11669-cpu"))
	mm := &mutableMetrics{body: countersBody(100, 40)}
	srv.set("/metrics", mm.handler)
	s, logs := newTestScraper(t, &target{endpoint: srv.URL})
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	c := &clock{t: t0}
	s.now = c.now

	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	start1 := points(md, "llamacpp.prompt.tokens").At(0).StartTimestamp()
	require.Equal(t, 1, srv.count("/props"))

	c.advance(time.Second)
	mm.setBody(countersBody(150, 60))
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	assert.Equal(t, start1, points(md, "llamacpp.prompt.tokens").At(0).StartTimestamp(), "same server, same start time")
	assert.Equal(t, 1, srv.count("/props"), "/props is read once per server start")

	// The server restarted: prompt 150 → 20.
	c.advance(time.Second)
	mm.setBody(countersBody(20, 60))
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	dp := points(md, "llamacpp.prompt.tokens").At(0)
	assert.Equal(t, int64(20), dp.IntValue())
	assert.NotEqual(t, start1, dp.StartTimestamp())
	assert.Equal(t, pcommon.NewTimestampFromTime(t0.Add(time.Second)), dp.StartTimestamp(), "the restart happened after the previous scrape")
	assert.Equal(t, dp.StartTimestamp(), points(md, "llamacpp.generation.tokens").At(0).StartTimestamp(), "every sum gets the new start time")
	assert.Zero(t, points(md, "llamacpp.prompt.throughput").Len(), "no rate across a restart")
	assert.Equal(t, 2, srv.count("/props"), "/props is read again after a restart")
	assert.Equal(t, 1, logs.FilterMessageSnippet("restarted").Len())

	// The next scrape has rates again and keeps the new start time.
	c.advance(time.Second)
	mm.setBody(countersBody(30, 70))
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	assert.Equal(t, pcommon.NewTimestampFromTime(t0.Add(time.Second)), points(md, "llamacpp.prompt.tokens").At(0).StartTimestamp())
	assert.InDelta(t, 10.0, points(md, "llamacpp.prompt.throughput").At(0).DoubleValue(), 1e-9)
}

// TestProcessStartHeader: a changed Process-Start-Time-Unix header is a restart even when no
// counter went down (a fresh server that already caught up).
func TestProcessStartHeader(t *testing.T) {
	srv := newFakeServer(t, filepath.Join("testdata", "scraper", "debian-b11669-cpu"))
	mm := &mutableMetrics{body: countersBody(10, 5), procStart: "1000"}
	srv.set("/metrics", mm.handler)
	s, _ := newTestScraper(t, &target{endpoint: srv.URL})
	c := &clock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	s.now = c.now

	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	start1 := points(md, "llamacpp.prompt.tokens").At(0).StartTimestamp()

	c.advance(time.Second)
	mm.mu.Lock()
	mm.body, mm.procStart = countersBody(20, 8), "2000"
	mm.mu.Unlock()
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, start1, points(md, "llamacpp.prompt.tokens").At(0).StartTimestamp())
	assert.Zero(t, points(md, "llamacpp.prompt.throughput").Len())
}

// stubLauncher is a launcherapi.Launcher whose state, URL and key the test sets.
type stubLauncher struct {
	mu    sync.Mutex
	url   string
	key   string
	state launcherapi.State
	model launcherapi.Model
}

func (l *stubLauncher) set(f func(*stubLauncher)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l)
}

func (l *stubLauncher) BaseURL() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.url
}

func (l *stubLauncher) APIKey() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.key
}

func (l *stubLauncher) State() launcherapi.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

func (l *stubLauncher) Model() launcherapi.Model {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.model
}

func (*stubLauncher) PID() int                                                 { return 1 }
func (*stubLauncher) WaitReady(context.Context) error                          { return nil }
func (*stubLauncher) SubscribeLogs(func(launcherapi.LogRecord)) (unsub func()) { return func() {} }

var _ launcherapi.Launcher = (*stubLauncher)(nil)

// TestLauncherNotReady: while the launcher is not ready, only llamacpp.server.up is emitted and
// llama-server is not asked anything.
func TestLauncherNotReady(t *testing.T) {
	tests := []struct {
		state launcherapi.State
		want  string
	}{
		{launcherapi.StateStarting, "loading"},
		{launcherapi.StateRestarting, "loading"},
		{launcherapi.StateFailed, "error"},
		{launcherapi.StateStopped, "unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.state.String(), func(t *testing.T) {
			srv := newFakeServer(t, filepath.Join("testdata", "scraper", "debian-b11669-cpu"))
			l := &stubLauncher{url: srv.URL, state: tt.state}
			s, _ := newTestScraper(t, &target{launcher: l})
			md, err := s.scrape(context.Background())
			require.NoError(t, err)
			v, state := serverUp(t, md)
			assert.Equal(t, int64(0), v)
			assert.Equal(t, tt.want, state)
			assert.Equal(t, 1, md.MetricCount(), "only llamacpp.server.up")
			srv.mu.Lock()
			assert.Empty(t, srv.hits)
			srv.mu.Unlock()
		})
	}
}

// TestLauncherFollow: the base URL and key are read at every scrape; a launcher restart on
// another port re-reads /props and /v1/models and starts the sums anew; the launcher's GGUF
// facts become resource attributes.
func TestLauncherFollow(t *testing.T) {
	dir := filepath.Join("testdata", "scraper", "debian-b11669-cpu")
	srv1, srv2 := newFakeServer(t, dir), newFakeServer(t, dir)
	mm := &mutableMetrics{body: countersBody(100, 40)}
	srv1.set("/metrics", mm.handler)
	srv2.set("/metrics", mm.handler)
	l := &stubLauncher{url: srv1.URL, key: "k1", state: launcherapi.StateReady, model: launcherapi.Model{
		Path: "/models/tiny.gguf", Alias: "tiny-test",
		Facts: gguf.ModelFacts{Architecture: "llama", Quantization: "F32", BlockCount: 2, HeadCount: 4, HeadCountKV: 2},
	}}
	s, _ := newTestScraper(t, &target{launcher: l})
	c := &clock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	s.now = c.now

	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	start1 := points(md, "llamacpp.prompt.tokens").At(0).StartTimestamp()
	attrs := md.ResourceMetrics().At(0).Resource().Attributes()
	arch, _ := attrs.Get("llamacpp.model.architecture")
	assert.Equal(t, "llama", arch.Str())
	quant, _ := attrs.Get("llamacpp.model.quantization")
	assert.Equal(t, "F32", quant.Str())
	for k, want := range map[string]int64{"llamacpp.model.block_count": 2, "llamacpp.model.head_count": 4, "llamacpp.model.head_count_kv": 2} {
		v, ok := attrs.Get(k)
		assert.True(t, ok, k)
		assert.Equal(t, want, v.Int(), k)
	}
	for _, a := range srv1.auth {
		assert.Equal(t, "Bearer k1", a)
	}

	// The launcher restarts llama-server on another port with a new key.
	c.advance(time.Second)
	l.set(func(l *stubLauncher) { l.state = launcherapi.StateRestarting })
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	_, state := serverUp(t, md)
	assert.Equal(t, "loading", state)
	port1, _ := md.ResourceMetrics().At(0).Resource().Attributes().Get("server.port")
	assert.Equal(t, int64(srv1.Listener.Addr().(*net.TCPAddr).Port), port1.Int(), "the resource stays while the server restarts")

	c.advance(time.Second)
	l.set(func(l *stubLauncher) { l.state, l.url, l.key = launcherapi.StateReady, srv2.URL, "k2" })
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, srv2.count("/props"))
	assert.Equal(t, 1, srv2.count("/v1/models"))
	assert.NotEqual(t, start1, points(md, "llamacpp.prompt.tokens").At(0).StartTimestamp(), "a new server, a new start time")
	assert.Zero(t, points(md, "llamacpp.prompt.throughput").Len())
	port2, _ := md.ResourceMetrics().At(0).Resource().Attributes().Get("server.port")
	assert.Equal(t, int64(srv2.Listener.Addr().(*net.TCPAddr).Port), port2.Int())
	for _, a := range srv2.auth {
		assert.Equal(t, "Bearer k2", a)
	}
}

// TestNoAuthorizationWithoutKey: no key, no header.
func TestNoAuthorizationWithoutKey(t *testing.T) {
	srv := newFakeServer(t, filepath.Join("testdata", "scraper", "debian-b11669-cpu"))
	s, _ := newTestScraper(t, &target{endpoint: srv.URL})
	_, err := s.scrape(context.Background())
	require.NoError(t, err)
	for _, a := range srv.auth {
		assert.Empty(t, a)
	}
}

// TestResource: resource() is usable before the first scrape, then returns a copy of the last
// scrape's resource.
func TestResource(t *testing.T) {
	srv := newFakeServer(t, filepath.Join("testdata", "scraper", "debian-b11669-cpu"))
	s, _ := newTestScraper(t, &target{endpoint: srv.URL})

	before := s.resource().Attributes()
	addr, _ := before.Get("server.address")
	assert.Equal(t, "127.0.0.1", addr.Str())
	_, ok := before.Get("llamacpp.model.alias")
	assert.False(t, ok)

	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	res := s.resource()
	assert.Equal(t, md.ResourceMetrics().At(0).Resource().Attributes().AsRaw(), res.Attributes().AsRaw())
	alias, _ := res.Attributes().Get("llamacpp.model.alias")
	assert.Equal(t, "tiny-test", alias.Str())

	res.Attributes().PutStr("llamacpp.model.alias", "changed")
	again, _ := s.resource().Attributes().Get("llamacpp.model.alias")
	assert.Equal(t, "tiny-test", again.Str(), "resource returns a copy")
}

// TestScrapeNotStarted: scrape before start is an error, not a panic.
func TestScrapeNotStarted(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	s := newScraper(cfg, receivertest.NewNopSettings(metadata.Type), &target{endpoint: "http://127.0.0.1:1"})
	_, err := s.scrape(context.Background())
	require.EqualError(t, err, "the llamacpp scraper was not started")
	require.NoError(t, s.shutdown(context.Background()))
}
