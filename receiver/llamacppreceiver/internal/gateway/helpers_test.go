// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// recordedRequest is what the fake upstream received.
type recordedRequest struct {
	method, path string
	header       http.Header
	body         []byte
}

// fakeUpstream is an httptest llama-server that answers from fixtures.
type fakeUpstream struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recordedRequest
}

func newFakeUpstream(t testing.TB, h http.HandlerFunc) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, recordedRequest{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body})
		f.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeUpstream) received() []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recordedRequest(nil), f.requests...)
}

// jsonAnswer answers with a fixed JSON body and status.
func jsonAnswer(status int, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// sseAnswer streams body event by event, flushing each, with delay between events.
func sseAnswer(body []byte, delay time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		for _, ev := range splitEvents(body) {
			_, _ = w.Write(ev)
			w.(http.Flusher).Flush()
			if delay > 0 {
				time.Sleep(delay)
			}
		}
	}
}

func splitEvents(body []byte) [][]byte {
	var out [][]byte
	for len(body) > 0 {
		i := bytes.Index(body, []byte("\n\n"))
		if i < 0 {
			out = append(out, body)
			break
		}
		out = append(out, body[:i+2])
		body = body[i+2:]
	}
	return out
}

// testGateway is a started gateway with a span sink.
type testGateway struct {
	*Gateway
	sink *consumertest.TracesSink
	url  string
}

func startGateway(t testing.TB, cfg Config, upstreamURL func() string) *testGateway {
	t.Helper()
	return startGatewayWith(t, cfg, Settings{Upstream: upstreamURL})
}

// startGatewayWith starts a gateway with cfg (on a free loopback port unless it names one) and
// set, whose Traces (a sink), Resource, Telemetry and scope it fills in.
func startGatewayWith(t testing.TB, cfg Config, set Settings) *testGateway {
	t.Helper()
	sink := new(consumertest.TracesSink)
	if cfg.Server.NetAddr.Endpoint == "" {
		cfg.Server.NetAddr.Endpoint = "127.0.0.1:0"
	}
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "gateway-test")
	set.Traces, set.Resource, set.Telemetry = sink, func() pcommon.Resource { return res }, testTelemetry(t)
	set.ScopeName, set.ScopeVersion = "llamacppreceiver/gateway", "test"
	g, err := New(cfg, set)
	require.NoError(t, err)
	require.NoError(t, g.Start(context.Background(), nil))
	t.Cleanup(func() { assert.NoError(t, g.Shutdown(context.Background())) })
	return &testGateway{Gateway: g, sink: sink, url: "http://" + g.Addr()}
}

// listenOn is a server config for a plain-HTTP listener on endpoint.
func listenOn(endpoint string) confighttp.ServerConfig {
	var sc confighttp.ServerConfig
	sc.NetAddr.Endpoint = endpoint
	return sc
}

// testTelemetry is no-op telemetry that logs to t.
func testTelemetry(t testing.TB) component.TelemetrySettings {
	set := componenttest.NewNopTelemetrySettings()
	set.Logger = zaptest.NewLogger(t)
	return set
}

func fixedURL(u string) func() string { return func() string { return u } }

func post(t testing.TB, url, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// allSpans flattens the sink's spans, checking resource and scope on the way.
func allSpans(t testing.TB, sink *consumertest.TracesSink) []ptrace.Span {
	t.Helper()
	var out []ptrace.Span
	for _, td := range sink.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			v, ok := rs.Resource().Attributes().Get("service.name")
			assert.True(t, ok)
			assert.Equal(t, "gateway-test", v.Str())
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				assert.Equal(t, "llamacppreceiver/gateway", ss.Scope().Name())
				for k := 0; k < ss.Spans().Len(); k++ {
					out = append(out, ss.Spans().At(k))
				}
			}
		}
	}
	return out
}

func serverSpans(spans []ptrace.Span) []ptrace.Span {
	var out []ptrace.Span
	for _, s := range spans {
		if s.Kind() == ptrace.SpanKindServer {
			out = append(out, s)
		}
	}
	return out
}

// waitServerSpans waits until n SERVER spans arrived and returns all spans.
func waitServerSpans(t testing.TB, sink *consumertest.TracesSink, n int) []ptrace.Span {
	t.Helper()
	var spans []ptrace.Span
	require.Eventually(t, func() bool {
		spans = allSpans(t, sink)
		return len(serverSpans(spans)) >= n
	}, 10*time.Second, 2*time.Millisecond, "waiting for %d server spans", n)
	require.Len(t, serverSpans(spans), n)
	return spans
}

func children(spans []ptrace.Span, parent ptrace.Span) map[string]ptrace.Span {
	out := map[string]ptrace.Span{}
	for _, s := range spans {
		if s.ParentSpanID() == parent.SpanID() && s.TraceID() == parent.TraceID() {
			out[s.Name()] = s
		}
	}
	return out
}

// attrs renders a span's attributes as plain Go values for assertions.
func attrs(s ptrace.Span) map[string]any { return s.Attributes().AsRaw() }

func metricByName(ms pmetric.MetricSlice, name string) (pmetric.Metric, bool) {
	for i := 0; i < ms.Len(); i++ {
		if ms.At(i).Name() == name {
			return ms.At(i), true
		}
	}
	return pmetric.Metric{}, false
}

func newTestServer(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
