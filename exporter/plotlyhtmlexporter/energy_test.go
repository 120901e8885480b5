// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/dashboard"
)

func TestSpanRecordGPUAttributes(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name                     string
		set                      func(pcommon.Map)
		energy, perToken, gpuSec float64
		gpu                      string
	}{
		{"absent", func(pcommon.Map) {}, nan, nan, nan, ""},
		{"doubles and one GPU", func(m pcommon.Map) {
			m.PutDouble("llt.gen_ai.gpu.energy", 12.5)
			m.PutDouble("llt.gen_ai.gpu.energy_per_output_token", 0.125)
			m.PutDouble("llt.gen_ai.gpu.time", 0.75)
			m.PutStr("hw.id", "GPU-a")
		}, 12.5, 0.125, 0.75, "GPU-a"},
		{"ints and an array of GPUs", func(m pcommon.Map) {
			m.PutInt("llt.gen_ai.gpu.energy", 3)
			m.PutInt("llt.gen_ai.gpu.time", 2)
			ids := m.PutEmptySlice("hw.id")
			ids.AppendEmpty().SetStr("GPU-a")
			ids.AppendEmpty().SetStr("")
			ids.AppendEmpty().SetStr("GPU-b")
		}, 3, nan, 2, "GPU-a, GPU-b"},
		{"zero is a value", func(m pcommon.Map) {
			m.PutDouble("llt.gen_ai.gpu.energy", 0)
			m.PutDouble("llt.gen_ai.gpu.time", 0)
		}, 0, nan, 0, ""},
		{"negative, infinite, NaN and text are absent", func(m pcommon.Map) {
			m.PutDouble("llt.gen_ai.gpu.energy", -1)
			m.PutDouble("llt.gen_ai.gpu.energy_per_output_token", math.Inf(1))
			m.PutStr("llt.gen_ai.gpu.time", "0.5")
			m.PutEmptySlice("hw.id")
		}, nan, nan, nan, ""},
		{"NaN", func(m pcommon.Map) { m.PutDouble("llt.gen_ai.gpu.energy", nan) }, nan, nan, nan, ""},
	}
	same := func(want, got float64) bool { return (math.IsNaN(want) && math.IsNaN(got)) || want == got }
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp := ptrace.NewSpan()
			sp.Attributes().PutStr("gen_ai.operation.name", "chat")
			c.set(sp.Attributes())
			r := spanRecord(sp, "otelcol-llt")
			assert.True(t, same(c.energy, r.GPUEnergyJ), "energy %v", r.GPUEnergyJ)
			assert.True(t, same(c.perToken, r.GPUEnergyPerTokenJ), "energy per token %v", r.GPUEnergyPerTokenJ)
			assert.True(t, same(c.gpuSec, r.GPUSeconds), "GPU time %v", r.GPUSeconds)
			assert.Equal(t, c.gpu, r.GPU)
		})
	}
}

// pageLine is one line of a figure, as the page receives it.
type pageLine struct {
	Name string
	X    []int64
	Y    []float64
}

// pageLines decodes a figure's lines from the page's JSON (time axes as {t0, d}).
func pageLines(t *testing.T, f *dashboard.Figure) []pageLine {
	t.Helper()
	var out []pageLine
	for _, tr := range f.Data {
		x, ok := tr["x"].(map[string]any)
		require.True(t, ok, "x of %v", tr)
		l := pageLine{Name: tr["name"].(string)}
		at := int64(x["t0"].(float64))
		for _, d := range x["d"].([]any) {
			at += int64(d.(float64))
			l.X = append(l.X, at)
		}
		for _, y := range tr["y"].([]any) {
			l.Y = append(l.Y, y.(float64))
		}
		out = append(out, l)
	}
	return out
}

// The gateway's GPU attributes reach the live panels and the unified summary.
func TestGPUEnergyReachesThePage(t *testing.T) {
	cfg := testConfig(t)
	e := startExporter(t, cfg)
	fd := newFeed(t)
	now := time.Now().Truncate(time.Millisecond)
	end := func(i int) time.Time { return now.Add(time.Duration(i-5) * time.Second) }
	request := func(i int, out int64, set func(pcommon.Map)) {
		td := fd.request(end(i), 200*time.Millisecond, 10, out, false)
		set(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes())
		e.ingestTraces(td)
	}
	request(1, 10, func(m pcommon.Map) {
		m.PutDouble("llt.gen_ai.gpu.energy", 2.5)
		m.PutDouble("llt.gen_ai.gpu.energy_per_output_token", 0.25)
		m.PutDouble("llt.gen_ai.gpu.time", 0.5)
		m.PutStr("hw.id", "GPU-a")
	})
	request(2, 20, func(m pcommon.Map) {
		m.PutInt("llt.gen_ai.gpu.energy", 5)
		m.PutDouble("llt.gen_ai.gpu.energy_per_output_token", 0.25)
		m.PutInt("llt.gen_ai.gpu.time", 1)
		ids := m.PutEmptySlice("hw.id")
		ids.AppendEmpty().SetStr("GPU-a")
		ids.AppendEmpty().SetStr("GPU-b")
	})
	request(3, 30, func(pcommon.Map) {}) // ran on no GPU the collector watches
	require.NoError(t, e.writeFile())
	p := pageData(t, mustRead(t, cfg.Path))

	ms := func(i int) int64 { return end(i).UnixMilli() }
	assert.Equal(t, []pageLine{
		{"J/token · GPU-a", []int64{ms(1)}, []float64{0.25}},
		{"J/token · GPU-a, GPU-b", []int64{ms(2)}, []float64{0.25}},
	}, pageLines(t, figureByID(p, "live-energy-per-token")))
	assert.Equal(t, []pageLine{
		{"GPU time · GPU-a", []int64{ms(1)}, []float64{0.5}},
		{"GPU time · GPU-a, GPU-b", []int64{ms(2)}, []float64{1}},
	}, pageLines(t, figureByID(p, "live-gpu-time")))

	s := unifiedSummary(t, p)
	assert.Equal(t, 3, s.RequestsTotal)
	// 7.5 J over the 30 output tokens of the two requests with energy: 250 J per 1000.
	assert.Equal(t, 2, s.GPUEnergyRequests)
	assert.Equal(t, dashboard.Num(7.5), s.GPUEnergy)
	assert.Equal(t, dashboard.Num(250), s.GPUEnergyPer1kOutput)
	assert.Equal(t, 2, s.GPUTimeRequests)
	assert.Equal(t, dashboard.Num(1.5), s.GPUTime)
}

func TestGPUPanelsSayWhatIsMissing(t *testing.T) {
	cfg := testConfig(t)
	e := startExporter(t, cfg)
	newFeed(t).run(e, 3) // requests without GPU attributes
	require.NoError(t, e.writeFile())
	p := pageData(t, mustRead(t, cfg.Path))
	assert.Equal(t, "No data yet: spans with llt.gen_ai.gpu.energy_per_output_token (the gateway's spans of requests that ran on a GPU; "+
		"GPU energy and time need the nvml receiver and the llamalauncher extension)", figureByID(p, "live-energy-per-token").Empty)
	assert.Equal(t, "No data yet: spans with llt.gen_ai.gpu.time (the gateway's spans of requests that ran on a GPU; "+
		"GPU energy and time need the nvml receiver and the llamalauncher extension)", figureByID(p, "live-gpu-time").Empty)
	s := unifiedSummary(t, p)
	assert.Equal(t, 6, s.RequestsTotal)
	assert.Zero(t, s.GPUEnergyRequests)
	assert.Zero(t, s.GPUTimeRequests)
	// Unknown values are null in the page's JSON, which decodes to 0 here.
	raw := string(mustRead(t, cfg.Path))
	for _, key := range []string{`"gpu_energy_j":null`, `"gpu_energy_j_per_1k_output_tokens":null`, `"gpu_time_s":null`} {
		assert.Contains(t, raw, key)
	}
}

func unifiedSummary(t *testing.T, p *dashboard.Page) *dashboard.Summary {
	t.Helper()
	for _, s := range p.Sections {
		if s.Summary != nil {
			return s.Summary
		}
	}
	require.FailNow(t, "no section with a summary")
	return nil
}
