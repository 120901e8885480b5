// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"fmt"
	"math"
	"sort"
)

// timeHalves splits the requests at the middle of their time span: older and newer.
func timeHalves(rs []Request) (older, newer []Request) {
	if len(rs) == 0 {
		return nil, nil
	}
	mid := rs[0].EndMs + (rs[len(rs)-1].EndMs-rs[0].EndMs)/2
	if rs[0].EndMs == rs[len(rs)-1].EndMs {
		return nil, rs
	}
	i := sort.Search(len(rs), func(i int) bool { return rs[i].EndMs > mid })
	return rs[:i], rs[i:]
}

func successPct(rs []Request) float64 {
	if len(rs) == 0 {
		return math.NaN()
	}
	ok := 0
	for _, r := range rs {
		if !r.Failed {
			ok++
		}
	}
	return 100 * float64(ok) / float64(len(rs))
}

func meanLatencyMs(rs []Request) float64 {
	var v []float64
	for _, r := range rs {
		if finite(r.Latency) {
			v = append(v, r.Latency*1000)
		}
	}
	return mean(v)
}

// naIndicator is an indicator without a value: a drawn number trace whose title says why.
func naIndicator(title, why string, domain Obj) Obj {
	return Obj{
		"type": "indicator", "mode": "number", "value": Num(math.NaN()), "domain": domain,
		"title":  Obj{"text": title + "<br><span style=\"font-size:0.8em;color:#666\">n/a: " + why + "</span>"},
		"number": Obj{"font": Obj{"color": "rgba(0,0,0,0)"}},
	}
}

// keyIndicators are four indicators: GPU utilization, success rate, average latency, temperature.
func keyIndicators(d *Data) *Figure {
	const id, title = "unified-indicators", "Indicators"
	dom := func(i int) Obj {
		return Obj{"x": []float64{float64(i)*0.25 + 0.02, float64(i)*0.25 + 0.23}, "y": []float64{0, 1}}
	}
	var traces []Obj

	// GPU utilization: mean over GPUs of each one's newest value.
	var newest []float64
	for _, s := range d.series(metricGPUUtil, gpuSeries) {
		if _, v, ok := s.Last(); ok && finite(v) {
			newest = append(newest, v*100)
		}
	}
	if len(newest) > 0 {
		traces = append(traces, Obj{
			"type": "indicator", "mode": "gauge+number", "value": Num(mean(newest)), "domain": dom(0),
			"title":  Obj{"text": fmt.Sprintf("GPU utilization (%d GPU(s))", len(newest))},
			"number": Obj{"suffix": "%", "valueformat": ".1f"},
			"gauge":  Obj{"axis": Obj{"range": []float64{0, 100}}, "bar": Obj{"color": colorInput}},
		})
	} else {
		traces = append(traces, naIndicator("GPU utilization", "no GPU data", dom(0)))
	}

	older, newer := timeHalves(d.Requests)
	if len(d.Requests) == 0 {
		traces = append(traces, naIndicator("Success rate", "no requests", dom(1)))
		traces = append(traces, naIndicator("Average latency", "no requests", dom(2)))
	} else {
		sr := Obj{
			"type": "indicator", "mode": "gauge+number", "value": Num(successPct(newer)), "domain": dom(1),
			"title":  Obj{"text": "Success rate (newer half)"},
			"number": Obj{"suffix": "%", "valueformat": ".1f"},
			"gauge": Obj{"axis": Obj{"range": []float64{0, 100}}, "bar": Obj{"color": colorOK},
				"steps": []Obj{{"range": []float64{0, 90}, "color": "#fbe3e3"}, {"range": []float64{90, 99}, "color": "#fff4d6"}}},
		}
		lat := Obj{
			"type": "indicator", "mode": "number", "value": Num(meanLatencyMs(newer)), "domain": dom(2),
			"title":  Obj{"text": "Average latency (newer half)"},
			"number": Obj{"suffix": " ms", "valueformat": ".0f"},
		}
		if ref := successPct(older); finite(ref) {
			sr["mode"] = "gauge+number+delta"
			sr["delta"] = Obj{"reference": Num(ref), "valueformat": ".1f", "suffix": " pp"}
		}
		if ref := meanLatencyMs(older); finite(ref) {
			lat["mode"] = "number+delta"
			lat["delta"] = Obj{"reference": Num(ref), "valueformat": ".0f", "suffix": " ms",
				"increasing": Obj{"color": colorError}, "decreasing": Obj{"color": colorOK}}
		}
		traces = append(traces, sr, lat)
	}

	// Temperature: the hottest GPU's newest value.
	hot := math.NaN()
	for _, s := range d.series(metricTemperature, nil) {
		if _, v, ok := s.Last(); ok && finite(v) && (math.IsNaN(hot) || v > hot) {
			hot = v
		}
	}
	thr := d.Opts.TemperatureThreshold
	if finite(hot) {
		top := max(100.0, hot+5)
		if finite(thr) && thr > 0 {
			top = max(top, thr+10)
		}
		gauge := Obj{"axis": Obj{"range": []float64{0, top}}, "bar": Obj{"color": colorOutput}}
		if finite(thr) && thr > 0 {
			gauge["threshold"] = Obj{"line": Obj{"color": "red", "width": 4}, "thickness": 0.75, "value": thr}
		}
		traces = append(traces, Obj{
			"type": "indicator", "mode": "gauge+number", "value": Num(hot), "domain": dom(3),
			"title":  Obj{"text": "GPU temperature (hottest)"},
			"number": Obj{"suffix": " °C", "valueformat": ".0f"},
			"gauge":  gauge,
		})
	} else {
		traces = append(traces, naIndicator("GPU temperature", "no GPU data", dom(3)))
	}
	lay := Obj{"margin": Obj{"l": 30, "r": 30, "t": 60, "b": 20}}
	return &Figure{ID: id, Title: title, Height: indicatorsHeight, Wide: true, Layout: lay, Data: traces}
}
