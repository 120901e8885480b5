// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"math"
	"strings"
	"testing"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// utCounter is a cumulative series of values one step apart.
func utCounter(metric, label string, attrs map[string]string, t0, stepMs int64, vals ...float64) []store.Point {
	pts := utGauge(metric, label, attrs, t0, stepMs, vals...)
	for i := range pts {
		pts[i].Kind = store.Cumulative
	}
	return pts
}

// utTraceNamed is the trace of f whose name is name, or nil.
func utTraceNamed(f *Figure, name string) Obj {
	for _, tr := range f.Data {
		if tr["name"] == name {
			return tr
		}
	}
	return nil
}

func utNear(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// The upstream 2026-05 build never resets predicted_tokens_seconds: it stays at
// tokens_predicted_total / tokens_predicted_seconds_total (1100 / 7.006 = 157.008) while the server
// turns out 250 tokens a second. The panel's main series is the counter rate; the gauge is only
// the separately labelled per-slot series.
func TestGenerationRateIsTheCounterRate(t *testing.T) {
	for _, tc := range []struct {
		name string
		// withGauge: the receiver's llamacpp.generation.throughput is in the snapshot.
		withGauge bool
	}{{"receiver's counter rate", true}, {"rate computed from the counter", false}} {
		t.Run(tc.name, func(t *testing.T) {
			st := utStore(100)
			t0 := utBase().UnixMilli()
			var pts []store.Point
			// 2 s scrapes, +500 tokens each: 250 tokens/s.
			pts = append(pts, utCounter(metricGenerationTokens, "", nil, t0, 2000, 1100, 1600, 2100, 2600, 3100)...)
			if tc.withGauge {
				pts = append(pts, utGauge(metricGenerationThroughput, "", nil, t0+2000, 2000, 250, 250, 250, 250)...)
			}
			pts = append(pts, utGauge(metricGenerationWindowThroughput, "", nil, t0, 2000, utRepeat(157.008, 5)...)...)
			st.AddPoints(pts)
			f := generationRate(utData(st, 500))
			if f.Empty != "" || len(f.Data) != 2 {
				t.Fatalf("empty %q, %d traces", f.Empty, len(f.Data))
			}
			main := f.Data[0]
			if main["name"] != nameGenerationRate {
				t.Fatalf("main series %v", main["name"])
			}
			y := main["y"].(Nums)
			if len(y) != 4 {
				t.Fatalf("main series %v", y)
			}
			for _, v := range y {
				if !utNear(v, 250, 1e-9) || utNear(v, 157.008, 1) {
					t.Errorf("main series value %v, want 250 tokens/s", v)
				}
			}
			slot := utTraceNamed(f, namePerSlotDecode)
			if slot == nil {
				t.Fatalf("no per-slot series: %v", f.Data)
			}
			for _, v := range slot["y"].(Nums) {
				if v != 157.008 {
					t.Errorf("per-slot value %v", v)
				}
			}
			if slot["line"].(Obj)["dash"] != "dot" || slot["line"].(Obj)["color"] == main["line"].(Obj)["color"] {
				t.Errorf("per-slot series not told apart: %v vs %v", slot["line"], main["line"])
			}
		})
	}
}

// Debian b11669 resets predicted_tokens_seconds at every /metrics request: 0 after an idle scrape.
// That gauge does not drive the panel either.
func TestGenerationRateIgnoresResetGauge(t *testing.T) {
	st := utStore(100)
	t0 := utBase().UnixMilli()
	st.AddPoints(utCounter(metricGenerationTokens, "", nil, t0, 1000, 430, 430, 530, 530))
	st.AddPoints(utGauge(metricGenerationWindowThroughput, "", nil, t0, 1000, 0, 0, 1770.32, 0))
	f := generationRate(utData(st, 500))
	y := f.Data[0]["y"].(Nums)
	want := []float64{0, 100, 0}
	if f.Data[0]["name"] != nameGenerationRate || len(y) != len(want) {
		t.Fatalf("main series %v %v", f.Data[0]["name"], y)
	}
	for i := range want {
		if !utNear(y[i], want[i], 1e-9) {
			t.Errorf("point %d: %v, want %v", i, y[i], want[i])
		}
	}
}

// Several servers: one with the receiver's rate, one with only its counter; each gets one line,
// named by its server.
func TestGenerationRatePerServer(t *testing.T) {
	st := utStore(100)
	t0 := utBase().UnixMilli()
	a := map[string]string{"server.port": "8080"}
	b := map[string]string{"server.port": "8090"}
	st.AddPoints(utCounter(metricGenerationTokens, "8080", a, t0, 1000, 0, 10, 20))
	st.AddPoints(utGauge(metricGenerationThroughput, "8080", a, t0+1000, 1000, 10, 10))
	st.AddPoints(utCounter(metricGenerationTokens, "8090", b, t0, 1000, 0, 40, 80))
	f := generationRate(utData(st, 500))
	if len(f.Data) != 2 {
		t.Fatalf("%d traces", len(f.Data))
	}
	got := map[string]float64{}
	for _, tr := range f.Data {
		got[tr["name"].(string)] = tr["y"].(Nums)[0]
	}
	if got[nameGenerationRate+" · 8080"] != 10 || got[nameGenerationRate+" · 8090"] != 40 {
		t.Errorf("rates %v", got)
	}
}

// Only llama-server's gauge: it is drawn, labelled as what it is, and the panel says that the
// server's throughput is missing and what gives it.
func TestGenerationRateOnlyPerSlotGauge(t *testing.T) {
	st := utStore(100)
	st.AddPoints(utGauge(metricGenerationWindowThroughput, "", nil, utBase().UnixMilli(), 1000, 157.008, 157.008))
	f := generationRate(utData(st, 500))
	if f.Empty != "" || len(f.Data) != 1 || f.Data[0]["name"] != namePerSlotDecode {
		t.Fatalf("figure %+v", f)
	}
	title := f.Layout["title"].(Obj)["text"].(string)
	if !strings.Contains(title, "llamacpp.generation.throughput or llamacpp.generation.tokens") {
		t.Errorf("title %q", title)
	}
	if f := generationRate(utData(utStore(100), 500)); !strings.Contains(f.Empty, "llamacpp.generation.throughput") {
		t.Errorf("empty panel %q", f.Empty)
	}
}

func TestTokenRatesPrompt(t *testing.T) {
	st := utStore(100)
	t0 := utBase().UnixMilli()
	st.AddPoints(utCounter(metricPromptTokens, "", nil, t0, 500, 300, 400, 400))
	st.AddPoints(utGauge(metricPromptWindowThroughput, "", nil, t0, 500, 1421.8, 1421.8, 1421.8))
	rs := utData(st, 500).tokenRates(metricPromptThroughput, metricPromptTokens)
	if len(rs) != 1 || !rs[0].Computed || len(rs[0].V) != 2 || rs[0].V[0] != 200 || rs[0].V[1] != 0 {
		t.Fatalf("rates %+v", rs)
	}
}
