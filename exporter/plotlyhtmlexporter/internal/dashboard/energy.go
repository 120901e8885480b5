// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// The GPU attributes the llamacpp gateway puts on a request's span when the request ran on a GPU.
const (
	attrGPUEnergy         = conventions.AttrLLTGPUEnergy
	attrGPUEnergyPerToken = conventions.AttrLLTGPUEnergyPerOutputToken
	attrGPUTime           = conventions.AttrLLTGPUTime
)

const (
	// needGPUAttribution says what makes the gateway attribute GPU energy and time to requests.
	needGPUAttribution = "GPU energy and time need the nvml receiver and the llamalauncher extension"
	// maxGPUSets bounds the lines of a GPU panel: one per GPU (or set of GPUs, hw.id) the requests
	// ran on, the rarest sharing one.
	maxGPUSets = 8
)

// energyPerToken draws each request's llt.gen_ai.gpu.energy_per_output_token at its end, one
// line per GPU (set) the requests ran on.
func energyPerToken(d *Data) *Figure {
	const id, title = "live-energy-per-token", "GPU energy per output token"
	traces := gpuRequestLines(d, "J/token", "%{y:.4g} J per output token", colorOutput,
		func(s *store.Span) float64 { return s.GPUEnergyPerTokenJ })
	if len(traces) > 0 {
		return &Figure{ID: id, Title: title, Height: panelHeight, Layout: timeLayout("J per output token"), Data: traces}
	}
	withEnergy := 0
	for i := range d.Requests {
		if g := d.Requests[i].GPU; g != nil && !math.IsNaN(g.GPUEnergyJ) {
			withEnergy++
		}
	}
	if withEnergy > 0 {
		// The attribute is only set when the request produced output tokens.
		return emptyFig(id, title, fmt.Sprintf("spans with %s: %d request(s) carried %s, none of them with gen_ai.usage.output_tokens > 0",
			attrGPUEnergyPerToken, withEnergy, attrGPUEnergy))
	}
	return emptyFig(id, title, fmt.Sprintf("spans with %s (the gateway's spans of requests that ran on a GPU; %s)",
		attrGPUEnergyPerToken, needGPUAttribution))
}

// gpuTimePerRequest draws each request's llt.gen_ai.gpu.time (GPU-seconds) at its end, one line
// per GPU (set) the requests ran on.
func gpuTimePerRequest(d *Data) *Figure {
	const id, title = "live-gpu-time", "GPU time per request"
	traces := gpuRequestLines(d, "GPU time", "%{y:.4g} GPU-s", colorInput,
		func(s *store.Span) float64 { return s.GPUSeconds })
	if len(traces) > 0 {
		return &Figure{ID: id, Title: title, Height: panelHeight, Layout: timeLayout("GPU-seconds"), Data: traces}
	}
	return emptyFig(id, title, fmt.Sprintf("spans with %s (the gateway's spans of requests that ran on a GPU; %s)",
		attrGPUTime, needGPUAttribution))
}

// gpuRequestLines is one line per GPU (set) through value(request's GPU span) at each request's
// end, for the requests where the value is present. The GPU sets with the most requests get
// their own line, up to maxGPUSets; the others share one. A line is named base, followed by its
// GPU when there are several.
func gpuRequestLines(d *Data, base, hover, color string, value func(*store.Span) float64) []Obj {
	var rs []*Request
	count := map[string]int{}
	for i := range d.Requests {
		r := &d.Requests[i]
		if r.GPU == nil || !finite(value(r.GPU)) {
			continue
		}
		rs = append(rs, r)
		count[r.GPU.GPU]++
	}
	if len(rs) == 0 {
		return nil
	}
	sets := make([]string, 0, len(count))
	for k := range count {
		sets = append(sets, k)
	}
	slices.SortFunc(sets, func(a, b string) int { return cmp.Or(cmp.Compare(count[b], count[a]), cmp.Compare(a, b)) })
	const other = "\x00other"
	lineOf := make(map[string]int, len(sets)) // GPU set -> index of its line
	for i, k := range sets {
		lineOf[k] = min(i, maxGPUSets-1)
	}
	if len(sets) > maxGPUSets {
		sets = append(sets[:maxGPUSets-1], other)
	}
	ts := make([][]int64, len(sets))
	vs := make([][]float64, len(sets))
	for _, r := range rs { // by end time already
		j := lineOf[r.GPU.GPU]
		ts[j] = append(ts[j], r.EndMs)
		vs[j] = append(vs[j], value(r.GPU))
	}
	traces := make([]Obj, 0, len(sets))
	for j, k := range sets {
		name, c := base, color
		if len(sets) > 1 {
			c = ""
			switch k {
			case "":
				name += " · (no hw.id)"
			case other:
				name += " · other GPUs"
			default:
				name += " · " + k
			}
		}
		tr := line(name, d.thin(ts[j], vs[j], 1), c)
		tr["mode"] = "lines+markers"
		tr["marker"] = Obj{"size": 4}
		tr["hovertemplate"] = hover
		traces = append(traces, tr)
	}
	return traces
}

// energyStats totals the GPU attributes of the requests, for the summary.
type energyStats struct {
	// energyRequests carry llt.gen_ai.gpu.energy: energyJ in all, over energyOut output tokens.
	energyRequests int
	energyJ        float64
	energyOut      int64
	// timeRequests carry llt.gen_ai.gpu.time: gpuSeconds in all.
	timeRequests int
	gpuSeconds   float64
}

func gpuEnergyStats(d *Data) energyStats {
	var e energyStats
	for i := range d.Requests {
		r := &d.Requests[i]
		if r.GPU == nil {
			continue
		}
		if v := r.GPU.GPUEnergyJ; finite(v) {
			e.energyRequests++
			e.energyJ += v
			e.energyOut += max(r.Out, 0)
		}
		if v := r.GPU.GPUSeconds; finite(v) {
			e.timeRequests++
			e.gpuSeconds += v
		}
	}
	return e
}

// per1kOutput is joules per 1000 output tokens over the requests that carry energy: NaN when
// none does, or when they produced no output tokens.
func (e energyStats) per1kOutput() float64 {
	if e.energyRequests == 0 || e.energyOut == 0 {
		return math.NaN()
	}
	return 1000 * e.energyJ / float64(e.energyOut)
}
