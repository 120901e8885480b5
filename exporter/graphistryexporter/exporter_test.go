// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graphistryexporter

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/graphistrytest"
	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/metadatatest"
)

// traces is n gateway-like traces: a server span with a child, ids derived from seq.
func traces(seq, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "otelcol-llt")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	start := time.Unix(1_800_000_000, 0)
	for i := range n {
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(seq*1_000_000+i+1))
		root := ss.AppendEmpty()
		root.SetTraceID(tid)
		root.SetSpanID(pcommon.SpanID{1, byte(i), byte(seq)})
		root.SetName("chat llt-tiny")
		root.SetKind(ptrace.SpanKindServer)
		root.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		root.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(100+i) * time.Millisecond)))
		root.Attributes().PutStr("gen_ai.response.model", "llt-tiny")
		root.Attributes().PutInt("gen_ai.usage.input_tokens", int64(10+i))
		root.Attributes().PutInt("gen_ai.usage.output_tokens", 4)
		if i%5 == 4 {
			root.Status().SetCode(ptrace.StatusCodeError)
		}
		child := ss.AppendEmpty()
		child.SetTraceID(tid)
		child.SetSpanID(pcommon.SpanID{2, byte(i), byte(seq)})
		child.SetParentSpanID(root.SpanID())
		child.SetName("generation")
		child.SetStartTimestamp(root.StartTimestamp())
		child.SetEndTimestamp(root.EndTimestamp())
	}
	return td
}

type harness struct {
	srv  *graphistrytest.Server
	cfg  *Config
	logs *observer.ObservedLogs
	exp  exporter.Traces
	id   component.ID
	once sync.Once
}

func (h *harness) shutdown(t *testing.T) {
	h.once.Do(func() { require.NoError(t, h.exp.Shutdown(context.Background())) })
}

// start runs the exporter the way the collector does (exporterhelper with queue and retry),
// with a short window so each test batch becomes one dataset.
func start(t *testing.T, mutate func(*Config)) *harness {
	return startWith(t, exportertest.NewNopSettings(metadata.Type), mutate)
}

// startWith is start with the given settings (their logger is replaced by an observer).
func startWith(t *testing.T, set exporter.Settings, mutate func(*Config)) *harness {
	srv := graphistrytest.NewTestServer(t, graphistrytest.Options{})
	cfg := createDefaultConfig()
	cfg.Endpoint = srv.URL
	cfg.Auth.Username, cfg.Auth.Password = graphistrytest.TestUsername, configopaque.String(graphistrytest.TestPassword)
	cfg.Window = 100 * time.Millisecond
	cfg.BackOffConfig.InitialInterval = 10 * time.Millisecond
	cfg.BackOffConfig.MaxInterval = 50 * time.Millisecond
	cfg.BackOffConfig.RandomizationFactor = 0
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, confmap.Validate(cfg))
	core, logs := observer.New(zapcore.DebugLevel)
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	h := &harness{srv: srv, cfg: cfg, logs: logs, exp: exp, id: set.ID}
	t.Cleanup(func() { h.shutdown(t) })
	return h
}

func (h *harness) waitDatasets(t *testing.T, n int) []graphistrytest.Dataset {
	t.Helper()
	require.Eventually(t, func() bool { return len(h.srv.CompleteDatasets()) >= n }, 15*time.Second, 20*time.Millisecond,
		"want %d complete datasets, have %d", n, len(h.srv.CompleteDatasets()))
	return h.srv.CompleteDatasets()
}

// spanIDs lists the span nodes of the complete datasets (trace roots excluded).
func spanIDs(ds []graphistrytest.Dataset) []string {
	var ids []string
	for _, d := range ds {
		for _, row := range d.Nodes.Rows {
			if id, _ := row["id"].(string); !strings.HasPrefix(id, "trace:") {
				ids = append(ids, id)
			}
		}
	}
	sort.Strings(ids)
	return ids
}

func TestUploadContract(t *testing.T) {
	h := start(t, func(c *Config) { c.Share = ShareOrganization })
	td := traces(1, 5)
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	h.waitDatasets(t, 1)
	// A dataset is complete once its nodes and edges are in; the share call
	// comes after that, and the exporter logs the viewer URL last of all.
	require.Eventually(t, func() bool { return h.logs.FilterMessage("trace graph uploaded").Len() >= 1 },
		15*time.Second, 20*time.Millisecond)
	d := h.srv.CompleteDatasets()[0]

	// Encodings and bindings as pygraphistry sends them.
	assert.Equal(t, "src", d.EdgeEncodings["bindings"].(map[string]any)["source"])
	assert.Equal(t, "dst", d.EdgeEncodings["bindings"].(map[string]any)["destination"])
	assert.Equal(t, "id", d.NodeEncodings["bindings"].(map[string]any)["node"])
	assert.Contains(t, fmt.Sprint(d.NodeEncodings["complex"]), "pointColorEncoding")
	require.NotNil(t, d.Share)
	assert.Equal(t, "organization", d.Share.Mode)

	// Row by row: a node per span plus one synthetic root per trace; an edge per span.
	require.Len(t, d.Nodes.Rows, 10+5)
	require.Len(t, d.Edges.Rows, 10)
	byID := map[string]map[string]any{}
	for _, r := range d.Nodes.Rows {
		byID[r["id"].(string)] = r
	}
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		s := spans.At(i)
		id := s.TraceID().String() + ":" + s.SpanID().String()
		row, ok := byID[id]
		require.True(t, ok, "span %s has no node", id)
		assert.Equal(t, s.Name(), row["name"])
		assert.Equal(t, "otelcol-llt", row["service"])
		// The status column is the outcome: a span left UNSET without error.type succeeded ("ok").
		status := map[ptrace.StatusCode]string{ptrace.StatusCodeOk: "OK", ptrace.StatusCodeError: "ERROR", ptrace.StatusCodeUnset: "ok"}[s.Status().Code()]
		if et, ok := s.Attributes().Get("error.type"); ok && et.AsString() != "" {
			status = "ERROR"
		}
		assert.Equal(t, status, row["status"], id)
		assert.InDelta(t, float64(s.EndTimestamp()-s.StartTimestamp())/1e6, row["duration_ms"], 1e-9)
		if s.ParentSpanID().IsEmpty() {
			assert.Equal(t, "llt-tiny", row["gen_ai_model"])
		}
	}
	for _, e := range d.Edges.Rows {
		assert.Contains(t, byID, e["src"])
		assert.Contains(t, byID, e["dst"])
		assert.Equal(t, "child", e["edge_type"])
	}

	// The viewer URL is logged once, and offered to the dashboards.
	urls := h.logs.FilterMessage("trace graph uploaded").All()
	require.Len(t, urls, 1)
	url := urls[0].ContextMap()["url"].(string)
	assert.Equal(t, h.srv.URL+"/graph/graph.html?dataset="+d.ID, url)
	ds, err := Find(h.id)
	require.NoError(t, err)
	newest, ok := ds.Newest()
	require.True(t, ok)
	assert.Equal(t, url, newest.URL)
	assert.Equal(t, d.Name, newest.Name)
}

// Find resolves a component ID to a graphistry exporter of the collector while it runs, and says
// why it cannot.
func TestFind(t *testing.T) {
	_, err := Find(component.MustNewID("graphistry"))
	require.EqualError(t, err, `no graphistry exporter "graphistry" in the collector's pipelines`)
	_, err = Find(component.MustNewID("debug"))
	require.EqualError(t, err, `"debug" is not a graphistry exporter`)

	id := component.MustNewIDWithName("graphistry", "hub")
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = id
	cfg := createDefaultConfig()
	cfg.File.Path = t.TempDir()
	exp, err := NewFactory().CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	ds, err := Find(id) // created is enough: every exporter is created before any component starts
	require.NoError(t, err)
	_, ok := ds.Newest()
	assert.False(t, ok, "nothing uploaded yet")
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.Shutdown(context.Background()))
	_, err = Find(id)
	require.Error(t, err, "a shut down exporter is forgotten")
}

// Every failed upload attempt is counted, by whether it is permanent: two 5xx that the retry
// gets past, then a 400 that is not retried.
func TestUploadFailuresCounted(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	h := startWith(t, metadatatest.NewSettings(tt), nil)
	h.srv.FailNext(graphistrytest.RouteEdgesArrow, http.StatusInternalServerError, 2, nil)
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), traces(1, 2)))
	h.waitDatasets(t, 1)
	h.srv.FailNext(graphistrytest.RouteCreateDataset, http.StatusBadRequest, 1, nil)
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), traces(2, 2)))
	require.Eventually(t, func() bool { return h.logs.FilterMessage("graphistry upload failed").Len() == 3 },
		10*time.Second, 20*time.Millisecond)
	metadatatest.AssertEqualGraphistryUploadsFailed(t, tt, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.Bool("permanent", false))},
		{Value: 1, Attributes: attribute.NewSet(attribute.Bool("permanent", true))},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestReauthenticatesOnceAfter401(t *testing.T) {
	h := start(t, nil)
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), traces(1, 2)))
	h.waitDatasets(t, 1)
	h.srv.InvalidateTokens() // the token the exporter holds is now rejected
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), traces(2, 2)))
	ds := h.waitDatasets(t, 2)
	assert.Len(t, spanIDs(ds), 8)
	assert.GreaterOrEqual(t, h.srv.Calls(graphistrytest.RouteTokenAuth)+h.srv.Calls(graphistrytest.RouteTokenGenerate), 2, "logged in again")
}

func TestRetries5xx(t *testing.T) {
	h := start(t, nil)
	h.srv.FailNext(graphistrytest.RouteEdgesArrow, http.StatusInternalServerError, 3, nil)
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), traces(1, 3)))
	ds := h.waitDatasets(t, 1)
	assert.Len(t, spanIDs(ds), 6, "every span arrives in the dataset that completed")
	assert.Equal(t, 4, h.srv.Calls(graphistrytest.RouteEdgesArrow))
}

func TestHonoursRetryAfter(t *testing.T) {
	h := start(t, nil)
	h.srv.FailNext(graphistrytest.RouteCreateDataset, http.StatusTooManyRequests, 1, http.Header{"Retry-After": {"1"}})
	begin := time.Now()
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), traces(1, 1)))
	h.waitDatasets(t, 1)
	assert.GreaterOrEqual(t, time.Since(begin), time.Second, "waited for Retry-After, not the 10 ms backoff")
}

func TestPermanent4xxIsLoggedWithServerMessage(t *testing.T) {
	h := start(t, nil)
	h.srv.FailNextWithBody(graphistrytest.RouteCreateDataset, http.StatusBadRequest, 1, nil, `{"message":"bad encodings: no such column"}`)
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), traces(1, 1)))
	require.Eventually(t, func() bool {
		for _, e := range h.logs.All() {
			if strings.Contains(fmt.Sprint(e.ContextMap()), "bad encodings: no such column") {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, 1, h.srv.Calls(graphistrytest.RouteCreateDataset), "a permanent error is not retried")
}

func TestSecretsNeverLogged(t *testing.T) {
	h := start(t, nil)
	h.srv.FailNext(graphistrytest.RouteEdgesArrow, http.StatusInternalServerError, 2, nil)
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), traces(1, 2)))
	h.waitDatasets(t, 1)
	h.srv.InvalidateTokens()
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), traces(2, 2)))
	h.waitDatasets(t, 2)
	h.shutdown(t)
	var all strings.Builder
	for _, e := range h.logs.All() {
		fmt.Fprintf(&all, "%s %v\n", e.Message, e.ContextMap())
	}
	require.NotEmpty(t, all.String())
	secrets := append([]string{graphistrytest.TestPassword}, h.srv.IssuedTokens()...)
	for _, s := range secrets {
		assert.NotContains(t, all.String(), s)
	}
}

func TestFileModeOnly(t *testing.T) {
	for _, format := range []string{FormatArrow, FormatParquet} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			cfg := createDefaultConfig()
			cfg.File = FileConfig{Path: dir, Format: format}
			cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
			require.NoError(t, confmap.Validate(cfg))
			exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
			require.NoError(t, err)
			require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
			td := traces(1, 3)
			require.NoError(t, exp.ConsumeTraces(context.Background(), td))
			require.NoError(t, exp.ConsumeTraces(context.Background(), td)) // a retry of the same spans: same files
			require.NoError(t, exp.Shutdown(context.Background()))
			files, err := filepath.Glob(filepath.Join(dir, "traces-*"))
			require.NoError(t, err)
			require.Len(t, files, 2, "%v", files)
			for _, f := range files {
				assert.True(t, strings.HasSuffix(f, ".nodes."+format) || strings.HasSuffix(f, ".edges."+format), f)
				st, err := os.Stat(f)
				require.NoError(t, err)
				assert.Positive(t, st.Size())
			}
		})
	}
}

// TestTLSAndHeadersApply: the confighttp settings reach every request. A server behind a
// private CA is refused without `tls::ca_file` and trusted with it, and `headers` are sent.
func TestTLSAndHeadersApply(t *testing.T) {
	ctx := context.Background()
	srv := graphistrytest.NewTestServer(t, graphistrytest.Options{TLS: true})
	require.True(t, strings.HasPrefix(srv.URL, "https://"), srv.URL)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, srv.CACertPEM(), 0o600))
	push := func(caFile string) error {
		cfg := createDefaultConfig()
		cfg.Endpoint = srv.URL
		cfg.TLS.CAFile = caFile
		cfg.Headers.Set("X-Tenant", "llm-team")
		cfg.Auth.Username, cfg.Auth.Password = graphistrytest.TestUsername, configopaque.String(graphistrytest.TestPassword)
		require.NoError(t, confmap.Validate(cfg))
		e, err := newExporter(cfg, exportertest.NewNopSettings(metadata.Type))
		require.NoError(t, err)
		require.NoError(t, e.Start(ctx, componenttest.NewNopHost()))
		defer func() { require.NoError(t, e.Shutdown(ctx)) }()
		assert.Equal(t, 30*time.Second, e.http.Timeout, "`timeout` bounds each request too")
		return e.pushTraces(ctx, traces(1, 2))
	}

	err := push("")
	require.Error(t, err)
	assert.ErrorContains(t, err, "certificate signed by unknown authority")
	assert.Empty(t, srv.Requests(), "no request got through the TLS handshake")

	require.NoError(t, push(ca))
	assert.Len(t, srv.CompleteDatasets(), 1)
	reqs := srv.Requests()
	require.NotEmpty(t, reqs)
	for _, r := range reqs {
		assert.Equal(t, "llm-team", r.Header.Get("X-Tenant"), "%s", r.Route)
	}
}
