// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// etRequest is a gateway request span with the GPU attributes (NaN: absent).
func etRequest(tr int, end time.Time, out int64, energy, perToken, gpuTime float64, gpu string) store.Span {
	s := utRequest(tr, end.Add(-100*time.Millisecond), 100*time.Millisecond, 10, out, false)
	s.Kind = spanKindServer
	s.GPUEnergyJ, s.GPUEnergyPerTokenJ, s.GPUSeconds, s.GPU = energy, perToken, gpuTime, gpu
	return s
}

// etLine is one drawn line: its name, times and values.
type etLine struct {
	name string
	x    []int64
	y    []float64
}

func etLines(t *testing.T, f *Figure) []etLine {
	t.Helper()
	if f.Empty != "" {
		t.Fatalf("%s is empty: %s", f.ID, f.Empty)
	}
	var out []etLine
	for _, tr := range f.Data {
		x, ok := tr["x"].(Times)
		y, ok2 := tr["y"].(Nums)
		if !ok || !ok2 {
			t.Fatalf("%s: trace without a time series: %v", f.ID, tr)
		}
		out = append(out, etLine{tr["name"].(string), []int64(x), []float64(y)})
	}
	return out
}

func etEqualLines(t *testing.T, id string, got, want []etLine) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d lines %+v, want %d %+v", id, len(got), got, len(want), want)
	}
	for i := range want {
		if got[i].name != want[i].name || !slices.Equal(got[i].x, want[i].x) || !slices.Equal(got[i].y, want[i].y) {
			t.Errorf("%s line %d:\n got %+v\nwant %+v", id, i, got[i], want[i])
		}
	}
}

func TestEnergyPanelsAndSummary(t *testing.T) {
	st := utStore(100)
	b := utBase()
	nan := math.NaN()
	end := func(i int) time.Time { return b.Add(time.Duration(i) * time.Second) }
	ms := func(i int) int64 { return end(i).UnixMilli() }
	st.AddSpans([]store.Span{
		etRequest(1, end(1), 10, 1.5, 0.15, 0.25, "GPU-a"),
		etRequest(2, end(2), 30, 2.5, 2.5/30, 0.5, "GPU-a"),
		etRequest(3, end(3), 40, 4, 0.1, 0.75, "GPU-a, GPU-b"),
		// No GPU attributes: not in the panels, not in the energy figures.
		etRequest(4, end(4), 100, nan, nan, nan, ""),
		// Energy without output tokens: no energy per token, but its joules count.
		etRequest(5, end(5), 0, 1, nan, 0.125, "GPU-a"),
	})
	d := utData(st, 500)
	sec := Live(d)

	etEqualLines(t, "live-energy-per-token", etLines(t, utFigure(t, sec, "live-energy-per-token")), []etLine{
		{"J/token · GPU-a", []int64{ms(1), ms(2)}, []float64{0.15, 2.5 / 30}},
		{"J/token · GPU-a, GPU-b", []int64{ms(3)}, []float64{0.1}},
	})
	etEqualLines(t, "live-gpu-time", etLines(t, utFigure(t, sec, "live-gpu-time")), []etLine{
		{"GPU time · GPU-a", []int64{ms(1), ms(2), ms(5)}, []float64{0.25, 0.5, 0.125}},
		{"GPU time · GPU-a, GPU-b", []int64{ms(3)}, []float64{0.75}},
	})
	if y := utFigure(t, sec, "live-energy-per-token").Layout["yaxis"].(Obj)["title"].(Obj)["text"]; y != "J per output token" {
		t.Errorf("energy y axis %q", y)
	}

	s := Summarize(d)
	// 9 J over 10+30+40+0 output tokens: 112.5 J per 1000; 0.25+0.5+0.75+0.125 GPU-seconds.
	if s.GPUEnergyRequests != 4 || s.GPUEnergy != 9 || s.GPUEnergyPer1kOutput != 112.5 {
		t.Errorf("energy: %d requests, %v J, %v J per 1k output tokens", s.GPUEnergyRequests, s.GPUEnergy, s.GPUEnergyPer1kOutput)
	}
	if s.GPUTimeRequests != 4 || s.GPUTime != 1.625 {
		t.Errorf("GPU time: %d requests, %v s", s.GPUTimeRequests, s.GPUTime)
	}
	raw := utMarshal(t, s)
	for _, key := range []string{`"gpu_energy_requests":4`, `"gpu_energy_j":9`, `"gpu_energy_j_per_1k_output_tokens":112.5`,
		`"gpu_time_requests":4`, `"gpu_time_s":1.625`} {
		if !bytes.Contains(raw, []byte(key)) {
			t.Errorf("summary JSON lacks %s: %s", key, raw)
		}
	}
}

func TestEnergyAbsent(t *testing.T) {
	for name, st := range map[string]*store.Store{"no spans": utStore(100), "spans without GPU attributes": utFull(t)} {
		t.Run(name, func(t *testing.T) {
			d := utData(st, 500)
			sec := Live(d)
			for id, attr := range map[string]string{"live-energy-per-token": attrGPUEnergyPerToken, "live-gpu-time": attrGPUTime} {
				f := utFigure(t, sec, id)
				if len(f.Data) != 0 || !strings.HasPrefix(f.Empty, "No data yet: spans with "+attr+" ") ||
					!strings.Contains(f.Empty, needGPUAttribution) {
					t.Errorf("%s: %d traces, empty text %q", id, len(f.Data), f.Empty)
				}
			}
			s := Summarize(d)
			if s.GPUEnergyRequests != 0 || s.GPUTimeRequests != 0 {
				t.Errorf("counts %d %d", s.GPUEnergyRequests, s.GPUTimeRequests)
			}
			raw := utMarshal(t, s)
			for _, key := range []string{`"gpu_energy_requests":0`, `"gpu_energy_j":null`, `"gpu_energy_j_per_1k_output_tokens":null`,
				`"gpu_time_requests":0`, `"gpu_time_s":null`} {
				if !bytes.Contains(raw, []byte(key)) {
					t.Errorf("summary JSON lacks %s: %s", key, raw)
				}
			}
		})
	}
}

// Requests that carried energy but produced no output token: no energy per token, and the panel
// says why; the summary has their joules but no joules per 1k output tokens.
func TestEnergyWithoutOutputTokens(t *testing.T) {
	st := utStore(100)
	b := utBase()
	nan := math.NaN()
	st.AddSpans([]store.Span{
		etRequest(1, b, 0, 2, nan, 0.5, "GPU-a"),
		etRequest(2, b.Add(time.Second), -1, 3, nan, nan, "GPU-a"), // no gen_ai.usage.output_tokens at all
	})
	d := utData(st, 500)
	f := energyPerToken(d)
	want := "No data yet: spans with llt.gen_ai.gpu.energy_per_output_token: 2 request(s) carried llt.gen_ai.gpu.energy, none of them with gen_ai.usage.output_tokens > 0"
	if f.Empty != want || len(f.Data) != 0 {
		t.Errorf("empty text %q, %d traces", f.Empty, len(f.Data))
	}
	if g := gpuTimePerRequest(d); g.Empty != "" || len(g.Data) != 1 || g.Data[0]["name"] != "GPU time" {
		t.Errorf("GPU time panel: %q %v", g.Empty, g.Data)
	}
	s := Summarize(d)
	if s.GPUEnergyRequests != 2 || s.GPUEnergy != 5 || !math.IsNaN(float64(s.GPUEnergyPer1kOutput)) ||
		s.GPUTimeRequests != 1 || s.GPUTime != 0.5 {
		t.Errorf("summary %d %v %v %d %v", s.GPUEnergyRequests, s.GPUEnergy, s.GPUEnergyPer1kOutput, s.GPUTimeRequests, s.GPUTime)
	}
}

// One call seen by a client span and the gateway's span under it counts once, with the gateway's
// GPU attributes even when the client's span carries some too.
func TestEnergyOfOneCallFromTheGatewaySpan(t *testing.T) {
	st := utStore(100)
	b := utBase()
	nan := math.NaN()
	client := etRequest(1, b, 20, 99, 99, 99, "GPU-client")
	client.Kind = 3 // client
	client.StartNs -= 1e6
	client.EndNs += 1e6
	server := etRequest(1, b, 20, 4, 0.2, 1, "GPU-a")
	server.SpanID = [8]byte{1, 0, 2}
	server.ParentID = client.SpanID
	other := etRequest(2, b.Add(time.Second), 10, nan, nan, nan, "")
	otherClient := etRequest(3, b.Add(2*time.Second), 10, 1, 0.1, 0.5, "GPU-a")
	otherClient.Kind = 3 // a client span alone: its attributes are the call's
	st.AddSpans([]store.Span{client, server, other, otherClient})
	d := utData(st, 500)
	if len(d.Requests) != 3 {
		t.Fatalf("%d requests, want 3", len(d.Requests))
	}
	etEqualLines(t, "live-energy-per-token", etLines(t, energyPerToken(d)), []etLine{
		{"J/token", []int64{(b.UnixNano() + 1e6) / 1e6, b.Add(2 * time.Second).UnixMilli()}, []float64{0.2, 0.1}},
	})
	s := Summarize(d)
	if s.GPUEnergyRequests != 2 || s.GPUEnergy != 5 || s.GPUEnergyPer1kOutput != 1000*5.0/30 || s.GPUTime != 1.5 {
		t.Errorf("summary %d %v %v %v", s.GPUEnergyRequests, s.GPUEnergy, s.GPUEnergyPer1kOutput, s.GPUTime)
	}
}

// More requests than max_points_per_series: each line is thinned to the budget, keeping the
// newest request.
func TestEnergyPanelsDownsample(t *testing.T) {
	st := utStore(100)
	b := utBase()
	var spans []store.Span
	for i := range 500 {
		spans = append(spans, etRequest(i+1, b.Add(time.Duration(i)*time.Second), 10, float64(i%7), float64(i%7)/10, float64(i%5)/4, "GPU-a"))
	}
	st.AddSpans(spans)
	d := utData(st, 50)
	for _, f := range []*Figure{energyPerToken(d), gpuTimePerRequest(d)} {
		lines := etLines(t, f)
		if len(lines) != 1 || len(lines[0].x) != 50 || lines[0].x[49] != b.Add(499*time.Second).UnixMilli() {
			t.Errorf("%s: %d lines, %d points", f.ID, len(lines), len(lines[0].x))
		}
	}
}

// Requests on many GPU sets: the most frequent get a line each, the others share one.
func TestEnergyPanelsBoundTheLines(t *testing.T) {
	st := utStore(100)
	b := utBase()
	var spans []store.Span
	n := 0
	for g := range maxGPUSets + 3 {
		for range maxGPUSets + 3 - g { // GPU-00 has the most requests
			n++
			spans = append(spans, etRequest(n, b.Add(time.Duration(n)*time.Second), 10, 1, 0.1, 0.5, fmt.Sprintf("GPU-%02d", g)))
		}
	}
	st.AddSpans(spans)
	lines := etLines(t, gpuTimePerRequest(utData(st, 500)))
	if len(lines) != maxGPUSets {
		t.Fatalf("%d lines, want %d", len(lines), maxGPUSets)
	}
	points := 0
	for i, l := range lines {
		points += len(l.x)
		want := fmt.Sprintf("GPU time · GPU-%02d", i)
		if i == maxGPUSets-1 {
			want = "GPU time · other GPUs"
		}
		if l.name != want {
			t.Errorf("line %d named %q, want %q", i, l.name, want)
		}
		if !slices.IsSorted(l.x) {
			t.Errorf("line %q not in time order", l.name)
		}
	}
	if points != n {
		t.Errorf("%d points drawn of %d requests", points, n)
	}
}

func TestEnergyPanelsEscapeGPUIDs(t *testing.T) {
	st := utStore(100)
	b := utBase()
	var spans []store.Span
	for i, h := range utHostile {
		spans = append(spans, etRequest(i+1, b.Add(time.Duration(i)*time.Second), 10, 1, 0.1, 0.5, h))
	}
	st.AddSpans(spans)
	d := utData(st, 500)
	for _, f := range []*Figure{energyPerToken(d), gpuTimePerRequest(d)} {
		raw := utMarshal(t, f)
		for _, bad := range []string{"<img", "</script", "<script", "\u2028"} {
			if bytes.Contains(raw, []byte(bad)) {
				t.Errorf("%s: raw JSON contains %q", f.ID, bad)
			}
		}
		found := false
		for _, tr := range f.Data {
			if strings.Contains(tr["name"].(string), "&lt;img src=x onerror=alert(1)&gt;") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no escaped GPU id among the line names", f.ID)
		}
	}
}
