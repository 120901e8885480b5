// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/dashboard"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// bigExporter holds 100k spans (25k gateway requests with three children each) and about 1M
// metric points spread over the series the dashboards draw: 8 llama-servers and 8 GPUs.
func bigExporter(tb testing.TB) (*plotlyExporter, int) {
	cfg := createDefaultConfig()
	cfg.Path = ""
	e := newExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	now := time.Now()
	start := now.Add(-55 * time.Minute)
	const perSeries = 2*5000 - 1 // just under the compaction point: all of it is kept
	llama := []string{"llamacpp.generation.window_throughput", "llamacpp.generation.tokens", "llamacpp.prompt.tokens",
		"llamacpp.slots.busy", "llamacpp.slots.total", "llamacpp.requests.deferred"}
	gpu := []string{"hw.gpu.utilization", "hw.gpu.memory.usage", "hw.gpu.memory.limit", "hw.temperature", "hw.power", "llamacpp.requests.processing"}
	points := 0
	step := 55 * time.Minute / perSeries
	add := func(metric string, attrs map[string]string, kind store.Kind) {
		pts := make([]store.Point, perSeries)
		key := seriesKey(metric, attrs)
		for i := range pts {
			v := 0.5 + 0.4*math.Sin(float64(i)/50)
			if kind == store.Cumulative {
				v = float64(i * 10)
			}
			pts[i] = store.Point{Key: key, Metric: metric, Label: label(attrs), Attrs: attrs, Kind: kind,
				TimeMs: start.Add(time.Duration(i) * step).UnixMilli(), Value: v}
		}
		e.store.AddPoints(pts)
		points += len(pts)
	}
	for s := range 8 {
		for _, m := range llama {
			add(m, map[string]string{"server.address": "10.0.0.1", "server.port": fmt.Sprint(8080 + s)}, drawnMetrics[m])
		}
		for _, m := range gpu {
			add(m, map[string]string{"hw.gpu.index": fmt.Sprint(s), "hw.id": fmt.Sprintf("GPU-%d", s)}, drawnMetrics[m])
		}
	}
	for s := range 5 {
		add("hw.gpu.utilization", map[string]string{"hw.gpu.index": fmt.Sprint(s), "hw.gpu.task": "encoder"}, store.Gauge)
	}
	recs := make([]store.Span, 0, 100_000)
	for r := range 25_000 {
		end := start.Add(time.Duration(r) * 55 * time.Minute / 25_000)
		lat := time.Duration(100+r%900) * time.Millisecond
		var tid [16]byte
		binary.BigEndian.PutUint64(tid[8:], uint64(r+1))
		root := store.NewSpan()
		root.TraceID, root.Name, root.Service, root.Kind = tid, "chat qwen2.5-3b", "otelcol-llt", 2
		binary.BigEndian.PutUint64(root.SpanID[:], uint64(r*4+1))
		root.StartNs, root.EndNs = end.Add(-lat).UnixNano(), end.UnixNano()
		root.GenAI, root.Operation, root.Model = true, "chat", "qwen2.5-3b"
		root.InputTokens, root.OutputTokens = int64(20+r%500), int64(8+r%120)
		root.Status = 1
		if r%37 == 0 {
			root.Status, root.ErrorType = 2, "500"
		}
		root.HasProjection, root.Category = true, []string{"code", "prose"}[r%2]
		root.Projection = [3]float64{math.Sin(float64(r)), math.Cos(float64(r)), float64(r % 2)}
		recs = append(recs, root)
		for c, name := range []string{"queue", "prompt", "generation"} {
			ch := store.NewSpan()
			ch.TraceID, ch.ParentID, ch.Name = tid, root.SpanID, name
			binary.BigEndian.PutUint64(ch.SpanID[:], uint64(r*4+2+c))
			ch.StartNs = root.StartNs + int64(c)*int64(lat)/3
			ch.EndNs = ch.StartNs + int64(lat)/3
			recs = append(recs, ch)
		}
	}
	e.store.AddSpans(recs)
	st := e.store.Stats()
	require.Equal(tb, 100_000, st.Spans)
	require.Equal(tb, points, st.Points, "every point is kept")
	return e, points
}

// TestRenderBudget: the page for 100k spans and ~1M metric points stays within 10 MB without
// plotly.js (the time it takes is measured by BenchmarkRender).
func TestRenderBudget(t *testing.T) {
	e, points := bigExporter(t)
	require.GreaterOrEqual(t, points, 1_000_000)
	var buf bytes.Buffer
	require.NoError(t, dashboard.WriteHTML(&buf, e.page(allDashboards), dashboard.Loader{Src: "plotly.min.js"}))
	t.Logf("page: %.2f MB for 100k spans and %d metric points", float64(buf.Len())/1e6, points)
	require.LessOrEqual(t, buf.Len(), 10_000_000)
}

// BenchmarkRender draws all three dashboards for 100k spans and ~1M metric points and writes the
// page (plotly.js excluded). Side by side in the same run, the baseline encodes the same raw
// points and spans as JSON without any drawing: the cost of shipping everything as-is.
func BenchmarkRender(b *testing.B) {
	e, points := bigExporter(b)
	b.Run("dashboards", func(b *testing.B) {
		var size int
		for b.Loop() {
			var buf bytes.Buffer
			if err := dashboard.WriteHTML(&buf, e.page(allDashboards), dashboard.Loader{Src: "plotly.min.js"}); err != nil {
				b.Fatal(err)
			}
			size = buf.Len()
		}
		b.ReportMetric(float64(size)/1e6, "MB/page")
		b.ReportMetric(float64(points), "points")
	})
	b.Run("baseline-raw-json", func(b *testing.B) {
		var size int
		for b.Loop() {
			snap := e.store.Snapshot()
			type raw struct {
				T []int64
				V dashboard.Nums
			}
			var all []raw
			for _, list := range snap.Series {
				for _, s := range list {
					all = append(all, raw{s.T, s.V})
				}
			}
			type span struct {
				Name       string
				Start, End int64
				In, Out    int64
			}
			spans := make([]span, 0, 100_000)
			snap.Spans.Each(func(s *store.Span) bool {
				spans = append(spans, span{s.Name, s.StartNs, s.EndNs, s.InputTokens, s.OutputTokens})
				return true
			})
			out, err := json.Marshal(struct {
				Series []raw
				Spans  []span
			}{all, spans})
			if err != nil {
				b.Fatal(err)
			}
			size = len(out)
		}
		b.ReportMetric(float64(size)/1e6, "MB/page")
	})
}
