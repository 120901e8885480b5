// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter"
	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/graphistrytest"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/dashboard"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/plotlyjs"
	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

func testConfig(t *testing.T) *Config {
	cfg := createDefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "out", "dashboard.html")
	cfg.Interval = time.Hour // tests write explicitly or at shutdown
	return cfg
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func startExporter(t *testing.T, cfg *Config) *plotlyExporter {
	e := newExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	return e
}

// pageData extracts the JSON the page draws from.
func pageData(t *testing.T, html []byte) *dashboard.Page {
	const open = `<script type="application/json" id="llt-data">`
	s := string(html)
	i := strings.Index(s, open)
	require.GreaterOrEqual(t, i, 0, "no data script in the page")
	rest := s[i+len(open):]
	j := strings.Index(rest, "</script>")
	require.GreaterOrEqual(t, j, 0)
	var p dashboard.Page
	require.NoError(t, json.Unmarshal([]byte(rest[:j]), &p))
	return &p
}

func figureByID(p *dashboard.Page, id string) *dashboard.Figure {
	for _, s := range p.Sections {
		for _, f := range s.Figures {
			if f.ID == id {
				return f
			}
		}
	}
	return nil
}

func TestOneInstanceForAllSignals(t *testing.T) {
	cfg := testConfig(t)
	f := NewFactory()
	set := exportertest.NewNopSettings(metadata.Type)
	ctx := context.Background()
	me, err := f.CreateMetrics(ctx, set, cfg)
	require.NoError(t, err)
	te, err := f.CreateTraces(ctx, set, cfg)
	require.NoError(t, err)
	le, err := f.CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	host := componenttest.NewNopHost()
	for _, c := range []component.Component{me, te, le} {
		require.NoError(t, c.Start(ctx, host))
	}
	fd := newFeed(t)
	now := time.Now()
	require.NoError(t, me.ConsumeMetrics(ctx, fd.metricsAt(now.Add(-2*time.Second), 0)))
	require.NoError(t, me.ConsumeMetrics(ctx, fd.metricsAt(now.Add(-time.Second), 1)))
	require.NoError(t, te.ConsumeTraces(ctx, fd.request(now, 300*time.Millisecond, 40, 12, false)))
	require.NoError(t, le.ConsumeLogs(ctx, fd.logs(now)))
	for _, c := range []component.Component{me, te, le} {
		require.NoError(t, c.Shutdown(ctx))
	}
	// The file written at shutdown holds all three signals.
	b, err := os.ReadFile(cfg.Path)
	require.NoError(t, err)
	p := pageData(t, b)
	assert.Empty(t, figureByID(p, "live-gpu-utilization").Empty, "metrics reached the page")
	assert.Empty(t, figureByID(p, "overview-token-scatter").Empty, "spans reached the page")
	assert.Empty(t, figureByID(p, "unified-logs").Empty, "logs reached the page")

	// A second component ID is a second page.
	other := testConfig(t)
	set2 := exportertest.NewNopSettings(metadata.Type)
	set2.ID = component.MustNewIDWithName("plotlyhtml", "second")
	m2, err := f.CreateMetrics(ctx, set2, other)
	require.NoError(t, err)
	require.NoError(t, m2.Start(ctx, host))
	require.NoError(t, m2.Shutdown(ctx))
	p2 := pageData(t, mustRead(t, other.Path))
	assert.NotEmpty(t, figureByID(p2, "live-gpu-utilization").Empty)
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestFileRewrittenEveryIntervalAtomically(t *testing.T) {
	cfg := testConfig(t)
	cfg.Interval = 50 * time.Millisecond
	e := startExporter(t, cfg)
	first := pageData(t, mustRead(t, cfg.Path))
	assert.NotEmpty(t, figureByID(first, "overview-token-scatter").Empty, "nothing has arrived yet")
	fd := newFeed(t)
	e.ingestTraces(fd.request(time.Now(), 200*time.Millisecond, 10, 5, false))
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(cfg.Path)
		return err == nil && figureByID(pageData(t, b), "overview-token-scatter").Empty == ""
	}, 5*time.Second, 20*time.Millisecond)
	require.NoError(t, e.Shutdown(context.Background()))
	entries, err := os.ReadDir(filepath.Dir(cfg.Path))
	require.NoError(t, err)
	for _, en := range entries {
		assert.False(t, strings.Contains(en.Name(), ".tmp-"), "temporary file left behind: %s", en.Name())
	}
}

func TestPlotlyJSModes(t *testing.T) {
	bundle, ok := plotlyjs.Embedded()
	require.True(t, ok, "plotly.js must be embedded (scripts/fetch-plotlyjs.sh)")

	t.Run("inline", func(t *testing.T) {
		cfg := testConfig(t)
		e := startExporter(t, cfg)
		require.NoError(t, e.Shutdown(context.Background()))
		b := mustRead(t, cfg.Path)
		assert.Contains(t, string(b), "plotly.js v"+plotlyjs.Version)
		assert.NotContains(t, string(b), "<script src=")
		assert.Greater(t, len(b), len(bundle))
	})
	t.Run("cdn", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.PlotlyJS = PlotlyJSCDN
		e := startExporter(t, cfg)
		require.NoError(t, e.Shutdown(context.Background()))
		b := string(mustRead(t, cfg.Path))
		assert.Contains(t, b, `<script src="`+plotlyjs.CDNURL+`" integrity="`+plotlyjs.SRI+`" crossorigin="anonymous"></script>`)
		assert.NotContains(t, b, "plotly.js v"+plotlyjs.Version)
		assert.Less(t, len(b), 200_000)
	})
	t.Run("directory", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.PlotlyJS = PlotlyJSDirectory
		e := startExporter(t, cfg)
		require.NoError(t, e.Shutdown(context.Background()))
		b := string(mustRead(t, cfg.Path))
		assert.Contains(t, b, `<script src="plotly.min.js"></script>`)
		beside := mustRead(t, filepath.Join(filepath.Dir(cfg.Path), "plotly.min.js"))
		assert.Equal(t, bundle, beside)
	})
	t.Run("custom file", func(t *testing.T) {
		cfg := testConfig(t)
		custom := filepath.Join(t.TempDir(), "p.js")
		require.NoError(t, os.WriteFile(custom, []byte("/* plotly.js v9.0.0 */ window.Plotly={react:function(){}};"), 0o600))
		cfg.PlotlyJSFile = custom
		e := startExporter(t, cfg)
		require.NoError(t, e.Shutdown(context.Background()))
		assert.Contains(t, string(mustRead(t, cfg.Path)), "plotly.js v9.0.0")
	})
	t.Run("bad custom file fails start", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.PlotlyJSFile = filepath.Join(t.TempDir(), "missing.js")
		e := newExporter(cfg, exportertest.NewNopSettings(metadata.Type))
		err := e.Start(context.Background(), componenttest.NewNopHost())
		require.ErrorContains(t, err, "plotlyjs_file")
		require.NoError(t, e.Shutdown(context.Background()))
	})
}

func TestUnwritablePathFailsStart(t *testing.T) {
	cfg := testConfig(t)
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	cfg.Path = filepath.Join(blocker, "dashboard.html") // a directory that is a file
	e := newExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	err := e.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "path:")
	require.NoError(t, e.Shutdown(context.Background()))
}

func serveConfig(t *testing.T) (*Config, string) {
	cfg := testConfig(t)
	sc := defaultServeConfig()
	sc.NetAddr.Endpoint = freeAddr(t)
	sc.Refresh = 200 * time.Millisecond
	cfg.Serve = configoptional.Some(sc)
	return cfg, "http://" + sc.NetAddr.Endpoint
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	resp, err := http.Get(url) //nolint:gosec // a test server on loopback
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func TestServe(t *testing.T) {
	cfg, base := serveConfig(t)
	e := startExporter(t, cfg)
	newFeed(t).run(e, 5)

	resp, body := get(t, base+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	p := pageData(t, body)
	require.NotNil(t, p.Live)
	assert.Equal(t, int64(200), p.Live.RefreshMs)
	assert.Len(t, p.Sections, 3)
	assert.Contains(t, string(body), `<script src="plotly.min.js"></script>`)

	resp, body = get(t, base+"/live")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p = pageData(t, body)
	require.Len(t, p.Sections, 1)
	assert.Equal(t, "live", p.Sections[0].Name)
	assert.Equal(t, "api/dashboard.json?d=live", p.Live.URL)

	resp, body = get(t, base+"/api/dashboard.json?d=live,unified,bogus")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	var data dashboard.Page
	require.NoError(t, json.Unmarshal(body, &data))
	require.Len(t, data.Sections, 2)
	assert.Equal(t, []string{"live", "unified"}, []string{data.Sections[0].Name, data.Sections[1].Name})

	resp, body = get(t, base+"/plotly.min.js")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body[:200]), "plotly.js v")

	resp, _ = get(t, base+"/nope")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	r, err := http.Post(base+"/api/dashboard.json", "text/plain", strings.NewReader("x")) //nolint:gosec // loopback test server
	require.NoError(t, err)
	_ = r.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, r.StatusCode)
}

func TestServePortInUseFailsStart(t *testing.T) {
	cfg, base := serveConfig(t)
	ln, err := net.Listen("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer func() { _ = ln.Close() }()
	e := newExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	err = e.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "serve::endpoint")
	require.NoError(t, e.Shutdown(context.Background()))
}

// The raw page must not carry telemetry markup anywhere outside the JSON's escapes (the browser
// test proves that nothing runs; this one pins down the bytes).
func TestHostileStringsAreEscapedInTheFile(t *testing.T) {
	cfg := testConfig(t)
	cfg.PlotlyJS = PlotlyJSCDN // keep plotly.js's own source out of the byte checks
	e := startExporter(t, cfg)
	fd := newFeed(t)
	fd.GPUEnergy = true // hw.id carries the strings into the GPU panels' line names
	for _, h := range hostileStrings() {
		fd.Hostile = h
		fd.run(e, 3)
	}
	require.NoError(t, e.writeFile())
	b := string(mustRead(t, cfg.Path))
	for _, bad := range []string{"<img", "<svg", "window.__pwned=1</script>", "\u2028", "\u2029", `<a href="javascript`} {
		assert.NotContains(t, b, bad)
	}
	// Exactly the page's own script elements.
	assert.Equal(t, 4, strings.Count(b, "<script"), "script elements in the page")
	p := pageData(t, []byte(b))
	logs := figureByID(p, "unified-logs")
	require.NotNil(t, logs)
	raw, err := json.Marshal(logs.Data)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `\u0026lt;img src=x onerror=`, "log bodies are HTML-escaped for plotly, then JSON-escaped")
}

func TestMetricFallbacksWithoutSpans(t *testing.T) {
	cfg := testConfig(t)
	e := startExporter(t, cfg)
	fd := newFeed(t)
	now := time.Now()
	for s := range 10 {
		e.ingestMetrics(fd.metricsAt(now.Add(time.Duration(s-10)*time.Second), s))
	}
	require.NoError(t, e.writeFile())
	p := pageData(t, mustRead(t, cfg.Path))
	for _, id := range []string{"live-generation-rate", "live-gpu-utilization", "live-gpu-memory", "live-active-slots", "live-temperature-power"} {
		f := figureByID(p, id)
		require.NotNil(t, f, id)
		assert.Empty(t, f.Empty, id)
		assert.NotEmpty(t, f.Data, id)
	}
	// No spans: the request panels say what would fill them.
	assert.Contains(t, figureByID(p, "overview-token-scatter").Empty, "gen_ai.usage.input_tokens")
	assert.Contains(t, figureByID(p, "live-request-latency").Empty, "gen_ai.server.request.duration")
}

func TestRequestsCountOnceAcrossClientAndServerSpans(t *testing.T) {
	cfg := testConfig(t)
	e := startExporter(t, cfg)
	fd := newFeed(t)
	td := fd.request(time.Now(), 100*time.Millisecond, 5, 5, false)
	// A client span around the gateway's server span (an instrumented app calling the gateway).
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	server := spans.At(0)
	client := spans.AppendEmpty()
	server.CopyTo(client)
	client.SetSpanID(fd.spanID())
	server.SetParentSpanID(client.SpanID())
	e.ingestTraces(td)
	require.NoError(t, e.writeFile())
	p := pageData(t, mustRead(t, cfg.Path))
	for _, s := range p.Sections {
		if s.Summary != nil {
			assert.Equal(t, 1, s.Summary.RequestsTotal)
		}
	}
}

// TestRequestsCountOncePerCall: the spans of one call count once however they are related, and
// its tokens are the gateway's: (a) a client span joined to the gateway span through an HTTP
// client span (trace context propagated), (b) a client span in another trace joined by the link
// genaienrich adds, with no usage of its own (a stream), (c) the same with the link on the
// gateway's span, and (d) a client span of a call that went to a hosted provider.
func TestRequestsCountOncePerCall(t *testing.T) {
	cfg := testConfig(t)
	e := startExporter(t, cfg)
	fd := newFeed(t)
	now := time.Now()
	clientOf := func(server ptrace.Span, spans ptrace.SpanSlice) ptrace.Span {
		c := spans.AppendEmpty()
		server.CopyTo(c)
		c.SetKind(ptrace.SpanKindClient)
		c.SetSpanID(fd.spanID())
		c.SetStartTimestamp(server.StartTimestamp() - 1e6)
		c.SetEndTimestamp(server.EndTimestamp() + 1e6)
		c.Attributes().Remove("gen_ai.usage.input_tokens")
		c.Attributes().Remove("gen_ai.usage.output_tokens")
		return c
	}
	// (a) client -> HTTP span -> gateway span, one trace.
	a := fd.request(now, 100*time.Millisecond, 10, 3, false)
	spans := a.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	clientID := clientOf(spans.At(0), spans).SpanID()
	httpSpan := spans.AppendEmpty()
	httpSpan.SetTraceID(spans.At(0).TraceID())
	httpSpan.SetSpanID(fd.spanID())
	httpSpan.SetParentSpanID(clientID)
	httpSpan.SetName("POST")
	httpSpan.SetStartTimestamp(spans.At(0).StartTimestamp())
	httpSpan.SetEndTimestamp(spans.At(0).EndTimestamp())
	// Handles of a slice's elements do not outlive an append: index again.
	spans.At(0).SetParentSpanID(httpSpan.SpanID())
	e.ingestTraces(a)
	// (b) client span second, linked; (c) gateway span second, linked. Separate batches.
	for _, linkOnClient := range []bool{true, false} {
		srvTD := fd.request(now, 100*time.Millisecond, 20, 5, false)
		srv := srvTD.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
		cliTD := ptrace.NewTraces()
		cli := clientOf(srv, cliTD.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans())
		cli.SetTraceID(pcommon.TraceID{9, byte(len(fmt.Sprint(linkOnClient)))})
		from, to := cli, srv
		if !linkOnClient {
			from, to = srv, cli
		}
		l := from.Links().AppendEmpty()
		l.SetTraceID(to.TraceID())
		l.SetSpanID(to.SpanID())
		l.Attributes().PutStr("llt.gen_ai.correlation.method", "response_id")
		e.ingestTraces(cliTD)
		e.ingestTraces(srvTD)
	}
	// (d) a hosted call: a client span alone, with its own usage.
	hosted := fd.request(now, 100*time.Millisecond, 7, 2, false)
	hosted.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetKind(ptrace.SpanKindClient)
	e.ingestTraces(hosted)

	require.NoError(t, e.writeFile())
	p := pageData(t, mustRead(t, cfg.Path))
	n := 0
	for _, s := range p.Sections {
		if s.Summary != nil {
			n++
			assert.Equal(t, 4, s.Summary.RequestsTotal, "four calls")
			assert.EqualValues(t, 10+20+20+7, s.Summary.TokensIn)
			assert.EqualValues(t, 3+5+5+2, s.Summary.TokensOut)
		}
	}
	require.Positive(t, n)
}

// With `graphistry` naming a graphistry exporter of the collector, the header links the newest
// trace graph that exporter uploaded (to a fake Graphistry server here).
func TestLinksTheNewestGraphistryDataset(t *testing.T) {
	ctx := context.Background()
	srv := graphistrytest.NewTestServer(t, graphistrytest.Options{})
	gf := graphistryexporter.NewFactory()
	gcfg := gf.CreateDefaultConfig().(*graphistryexporter.Config)
	gcfg.Endpoint = srv.URL
	gcfg.Auth.Username, gcfg.Auth.Password = graphistrytest.TestUsername, configopaque.String(graphistrytest.TestPassword)
	gcfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]() // one upload per call, done when it returns
	gset := exportertest.NewNopSettings(gf.Type())
	graphistry, err := gf.CreateTraces(ctx, gset, gcfg)
	require.NoError(t, err)
	require.NoError(t, graphistry.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, graphistry.Shutdown(ctx)) })

	cfg := testConfig(t)
	cfg.Graphistry = &gset.ID
	e := startExporter(t, cfg)
	require.NoError(t, e.writeFile())
	assert.Empty(t, pageData(t, mustRead(t, cfg.Path)).Links, "nothing uploaded yet")

	for i := range 2 {
		require.NoError(t, graphistry.ConsumeTraces(ctx, oneSpan(byte(i+1))))
	}
	datasets := srv.CompleteDatasets()
	require.Len(t, datasets, 2)
	require.NoError(t, e.writeFile())
	p := pageData(t, mustRead(t, cfg.Path))
	require.Len(t, p.Links, 1)
	assert.Equal(t, "trace graph on Graphistry", p.Links[0].Text)
	assert.Equal(t, srv.URL+"/graph/graph.html?dataset="+datasets[1].ID, p.Links[0].URL)
}

// A `graphistry` that names no exporter of the collector's pipelines fails Start.
func TestGraphistryNotInThePipelines(t *testing.T) {
	cfg := testConfig(t)
	id := component.MustNewIDWithName("graphistry", "absent")
	cfg.Graphistry = &id
	e := newExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	err := e.Start(context.Background(), componenttest.NewNopHost())
	require.EqualError(t, err, "`graphistry`: no graphistry exporter \"graphistry/absent\" in the collector's pipelines")
	require.NoError(t, e.Shutdown(context.Background()))
}

// oneSpan is a trace of one span whose IDs derive from b.
func oneSpan(b byte) ptrace.Traces {
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(pcommon.TraceID{b})
	s.SetSpanID(pcommon.SpanID{b})
	s.SetName("chat")
	now := time.Now()
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	return td
}

// A llama-server in router mode: the llamacpp receiver emits one resource per model on the
// router's address (llamacpp.model.alias tells them apart). The throughput and slots panels draw
// one line per model, named by it, with that model's values.
func TestRouterModelsAreSeparateSeries(t *testing.T) {
	cfg := testConfig(t)
	e := startExporter(t, cfg)
	now := time.Now()
	perSecond := map[string]float64{"alpha": 10, "beta": 40}
	for s := range 5 {
		md := pmetric.NewMetrics()
		for _, model := range []string{"alpha", "beta"} {
			rm := md.ResourceMetrics().AppendEmpty()
			rm.Resource().Attributes().PutStr("server.address", "127.0.0.1")
			rm.Resource().Attributes().PutInt("server.port", 8080)
			rm.Resource().Attributes().PutStr("llamacpp.model.alias", model)
			ms := rm.ScopeMetrics().AppendEmpty().Metrics()
			m := ms.AppendEmpty()
			m.SetName(conventions.MetricLlamacppGenerationTokens)
			sum := m.SetEmptySum()
			sum.SetIsMonotonic(true)
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			dp := sum.DataPoints().AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(s-5) * time.Second)))
			dp.SetIntValue(int64(perSecond[model] * float64(s)))
			g := ms.AppendEmpty()
			g.SetName(conventions.MetricLlamacppSlotsBusy)
			gp := g.SetEmptyGauge().DataPoints().AppendEmpty()
			gp.SetTimestamp(dp.Timestamp())
			gp.SetIntValue(int64(len(model)))
		}
		e.ingestMetrics(md)
	}
	require.NoError(t, e.writeFile())
	p := pageData(t, mustRead(t, cfg.Path))
	rate := figureByID(p, "live-generation-rate")
	require.NotNil(t, rate)
	names := map[string]bool{}
	for _, tr := range rate.Data {
		names[tr["name"].(string)] = true
	}
	assert.Len(t, names, 2, "one line per model: %v", names)
	for n := range names {
		assert.Regexp(t, `127\.0\.0\.1:8080 (alpha|beta)$`, n)
	}
	slots := figureByID(p, "live-active-slots")
	require.NotNil(t, slots)
	assert.Len(t, slots.Data, 2, "busy slots per model")
}
