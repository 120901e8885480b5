// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import "github.com/llamatelemetry/otelcol-llt/pkg/conventions"

const (
	needLlamacpp = "the llamacpp receiver"
	needNVML     = "the nvml receiver (an NVIDIA GPU)"
)

// Live is the real-time monitor: generation throughput, GPU utilization, request latency, GPU
// memory, active slots, temperature with power, the GPU energy per output token and GPU time of
// each request, and a statistics table; its summary is the unified dashboard's.
func Live(d *Data) *Section {
	return &Section{Name: "live", Title: "Live: throughput, GPU, latency, slots, energy", Figures: []*Figure{
		generationRate(d),
		gpuUtilization(d, "live-gpu-utilization"),
		latencyOverTime(d),
		gpuMemory(d, "live-gpu-memory"),
		activeSlots(d),
		temperaturePower(d, "live-temperature-power"),
		energyPerToken(d),
		gpuTimePerRequest(d),
		statisticsTable(d, "live-statistics"),
	}, Summary: Summarize(d)}
}

// generationRate is the tokens the server generated per second of wall-clock time: the
// receiver's llamacpp.generation.throughput (the token counter's growth between scrapes), else
// the rate of llamacpp.generation.tokens computed here. llama-server's own
// llamacpp.generation.window_throughput is a per-slot decode speed, not the server's throughput
// (and in some builds a value from long ago), so it is drawn only as its own, dashed series.
func generationRate(d *Data) *Figure {
	const id, title = "live-generation-rate", "Generation tokens/s"
	var traces []Obj
	rates := d.tokenRates(metricGenerationThroughput, metricGenerationTokens)
	for _, r := range rates {
		tr := line(seriesName(nameGenerationRate, r.S, len(rates) > 1), d.thin(r.T, r.V, 1), colorOutput)
		tr["hovertemplate"] = "%{y:.1f} tokens/s (token counter over wall-clock time)"
		traces = append(traces, tr)
	}
	slot := d.series(metricGenerationWindowThroughput, nil)
	for _, s := range slot {
		tr := line(seriesName(namePerSlotDecode, s, len(slot) > 1), d.thin(s.T, s.V, 1), colorLimit)
		tr["line"] = Obj{"color": colorLimit, "dash": "dot"}
		tr["hovertemplate"] = "%{y:.1f} tokens/s per slot (llama-server's predicted_tokens_seconds)"
		traces = append(traces, tr)
	}
	if len(rates) == 0 {
		need := "llamacpp.generation.throughput or llamacpp.generation.tokens from " + needLlamacpp
		if len(traces) == 0 {
			return emptyFig(id, title, need)
		}
		lay := timeLayout("tokens/s")
		lay["title"] = Obj{"text": "no server throughput yet (needs " + need + ")", "font": Obj{"size": 12}}
		return &Figure{ID: id, Title: title, Height: panelHeight, Layout: lay, Data: traces}
	}
	return &Figure{ID: id, Title: title, Height: panelHeight, Layout: timeLayout("tokens/s"), Data: traces}
}

// gpuUtilization is hw.gpu.utilization per GPU, in percent.
func gpuUtilization(d *Data, id string) *Figure {
	const title = "GPU utilization"
	ss := d.series(conventions.MetricHWGPUUtilization, gpuSeries)
	if len(ss) == 0 {
		return emptyFig(id, title, "hw.gpu.utilization from "+needNVML)
	}
	var traces []Obj
	for _, s := range ss {
		traces = append(traces, line(seriesName("utilization", s, true), d.thin(s.T, s.V, 100), ""))
	}
	lay := timeLayout("%")
	lay["yaxis"] = Obj{"title": Obj{"text": "%"}, "range": []float64{0, 105}}
	return &Figure{ID: id, Title: title, Height: panelHeight, Layout: lay, Data: traces}
}

// latencyOverTime draws each request's latency at its end; without spans, the mean latency
// between scrapes of the gateway's histogram.
func latencyOverTime(d *Data) *Figure {
	const id, title = "live-request-latency", "Request latency"
	if len(d.Requests) > 0 {
		// One line per model when the requests name several (a router, or several servers).
		groups := byModel(d.Requests)
		var traces []Obj
		for i, g := range groups {
			t := requestTimes(g.Requests)
			v := make([]float64, len(t))
			for j, r := range g.Requests {
				v[j] = r.Latency * 1000
			}
			name, color := "latency", colorInput
			if len(groups) > 1 {
				name, color = "latency · "+g.Model, seriesColor(i)
			}
			tr := line(name, d.thin(t, v, 1), color)
			tr["mode"] = "lines+markers"
			tr["marker"] = Obj{"size": 4}
			traces = append(traces, tr)
		}
		return &Figure{ID: id, Title: title, Height: panelHeight, Layout: timeLayout("ms"), Data: traces}
	}
	if ss := d.series(DerivedMeanLatency, nil); len(ss) > 0 {
		var traces []Obj
		for _, s := range ss {
			traces = append(traces, line(seriesName("mean latency", s, len(ss) > 1), d.thin(s.T, s.V, 1000), colorInput))
		}
		return &Figure{ID: id, Title: title, Height: panelHeight, Layout: timeLayout("ms"), Data: traces}
	}
	return emptyFig(id, title, needs(needSpans, "gen_ai.server.request.duration from the gateway"))
}

// DerivedMeanLatency is the series the exporter derives from gen_ai.server.request.duration:
// the mean request duration (seconds) between two points of the histogram.
const DerivedMeanLatency = "llt.derived.request.duration.mean"

// gpuMemory is hw.gpu.memory.usage per GPU in MiB, with the limit dashed.
func gpuMemory(d *Data, id string) *Figure {
	const title = "GPU memory used"
	ss := d.series(conventions.MetricHWGPUMemoryUsage, nil)
	if len(ss) == 0 {
		return emptyFig(id, title, "hw.gpu.memory.usage from "+needNVML)
	}
	const mib = 1.0 / (1 << 20)
	var traces []Obj
	for _, s := range ss {
		traces = append(traces, line(seriesName("used", s, true), d.thin(s.T, s.V, mib), ""))
	}
	for _, s := range d.series(conventions.MetricHWGPUMemoryLimit, nil) {
		tr := line(seriesName("limit", s, true), d.thin(s.T, s.V, mib), colorLimit)
		tr["line"] = Obj{"color": colorLimit, "dash": "dash"}
		traces = append(traces, tr)
	}
	return &Figure{ID: id, Title: title, Height: panelHeight, Layout: timeLayout("MiB"), Data: traces}
}

// activeSlots is llamacpp.slots.busy, with the slot count dashed and deferred requests.
func activeSlots(d *Data) *Figure {
	const id, title = "live-active-slots", "Active slots"
	busy := d.series(conventions.MetricLlamacppSlotsBusy, nil)
	if len(busy) == 0 {
		busy = d.series(conventions.MetricLlamacppRequestsProcessing, nil)
	}
	if len(busy) == 0 {
		return emptyFig(id, title, "llamacpp.slots.busy or llamacpp.requests.processing from "+needLlamacpp)
	}
	many := len(busy) > 1
	var traces []Obj
	for _, s := range busy {
		tr := line(seriesName("busy slots", s, many), d.thin(s.T, s.V, 1), colorOutput)
		tr["line"] = Obj{"color": colorOutput, "shape": "hv"}
		traces = append(traces, tr)
	}
	for _, s := range d.series(conventions.MetricLlamacppSlotsTotal, nil) {
		tr := line(seriesName("slots", s, many), d.thin(s.T, s.V, 1), colorLimit)
		tr["line"] = Obj{"color": colorLimit, "dash": "dash", "shape": "hv"}
		traces = append(traces, tr)
	}
	for _, s := range d.series(conventions.MetricLlamacppRequestsDeferred, nil) {
		tr := line(seriesName("deferred requests", s, many), d.thin(s.T, s.V, 1), colorError)
		tr["line"] = Obj{"color": colorError, "shape": "hv"}
		traces = append(traces, tr)
	}
	return &Figure{ID: id, Title: title, Height: panelHeight, Layout: timeLayout("slots / requests"), Data: traces}
}

// temperaturePower draws hw.temperature (left axis) and hw.power (right axis) per GPU.
func temperaturePower(d *Data, id string) *Figure {
	const title = "GPU temperature and power"
	temps := d.series(conventions.MetricHWTemperature, nil)
	power := d.series(conventions.MetricHWPower, nil)
	if len(temps) == 0 && len(power) == 0 {
		return emptyFig(id, title, "hw.temperature and hw.power from "+needNVML)
	}
	var traces []Obj
	for _, s := range temps {
		traces = append(traces, line(seriesName("temperature", s, true), d.thin(s.T, s.V, 1), ""))
	}
	for _, s := range power {
		tr := line(seriesName("power", s, true), d.thin(s.T, s.V, 1), "")
		tr["yaxis"] = "y2"
		tr["line"] = Obj{"dash": "dot"}
		traces = append(traces, tr)
	}
	lay := timeLayout("°C")
	lay["yaxis2"] = Obj{"title": Obj{"text": "W"}, "overlaying": "y", "side": "right", "rangemode": "tozero"}
	return &Figure{ID: id, Title: title, Height: panelHeight, Layout: lay, Data: traces}
}
