// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"fmt"
	"strconv"
	"strings"
)

// subplot is one cell of the performance grid; Need, when set, says what would fill it.
type subplot struct {
	Title  string
	Traces []Obj
	XAxis  Obj
	YAxis  Obj
	Need   string
	// Right is a second y axis on the right (the power axis of the temperature cell).
	Right Obj
}

// performanceGrid is one figure of six subplots in a 3x2 grid.
func performanceGrid(d *Data) *Figure {
	const id, title = "unified-performance", "Performance: latency, GPU, tokens, memory, success, temperature"
	cells := []subplot{
		subplotOf(latencyHistogram(d, "")), subplotOf(gpuUtilization(d, "")),
		subplotOf(tokenScatter(d, "")), subplotOf(gpuMemory(d, "")),
		outcomesSubplot(d), subplotOf(temperaturePower(d, "")),
	}
	empty := true
	for _, c := range cells {
		if c.Need == "" {
			empty = false
		}
	}
	if empty {
		return emptyPanel(id, title, needs(needSpans, "the llamacpp receiver's and nvml receiver's metrics"), true)
	}
	cols := [2][2]float64{{0, 0.44}, {0.56, 1}}
	rows := [3][2]float64{{0.76, 1}, {0.38, 0.62}, {0, 0.24}}
	lay := Obj{
		"showlegend": true, "legend": Obj{"orientation": "h", "y": -0.07},
		"margin": Obj{"l": 60, "r": 60, "t": 40, "b": 50}, "hovermode": "closest", "bargap": 0.05,
	}
	var notes []Obj
	var traces []Obj
	for i, c := range cells {
		suffix := ""
		if i > 0 {
			suffix = strconv.Itoa(i + 1)
		}
		xd, yd := cols[i%2], rows[i/2]
		xa := Obj{}
		for k, v := range c.XAxis {
			xa[k] = v
		}
		ya := Obj{}
		for k, v := range c.YAxis {
			ya[k] = v
		}
		xa["domain"], xa["anchor"] = []float64{xd[0], xd[1]}, "y"+suffix
		ya["domain"], ya["anchor"] = []float64{yd[0], yd[1]}, "x"+suffix
		notes = append(notes, Obj{
			"text": c.Title, "showarrow": false, "xref": "paper", "yref": "paper",
			"x": (xd[0] + xd[1]) / 2, "y": yd[1], "xanchor": "center", "yanchor": "bottom", "font": Obj{"size": 12},
		})
		if c.Need != "" {
			for _, a := range []Obj{xa, ya} {
				a["showgrid"], a["zeroline"], a["showticklabels"] = false, false, false
				delete(a, "type")
			}
			notes = append(notes, Obj{
				"text": "no data: needs<br>" + c.Need, "showarrow": false, "xref": "paper", "yref": "paper",
				"x": (xd[0] + xd[1]) / 2, "y": (yd[0] + yd[1]) / 2, "font": Obj{"size": 11, "color": "#666"},
				"align": "center",
			})
		}
		lay["xaxis"+suffix], lay["yaxis"+suffix] = xa, ya
		for _, t := range c.Traces {
			t["xaxis"] = "x" + suffix
			if _, ok := t["yaxis"]; !ok {
				t["yaxis"] = "y" + suffix
			}
			traces = append(traces, t)
		}
		if c.Right != nil && c.Need == "" {
			r := Obj{"overlaying": "y" + suffix, "side": "right", "anchor": "x" + suffix}
			for k, v := range c.Right {
				r[k] = v
			}
			lay["yaxis"+strconv.Itoa(len(cells)+1)] = r
		}
	}
	lay["annotations"] = notes
	return &Figure{ID: id, Title: title, Height: performanceHeight, Wide: true, Layout: lay, Data: traces}
}

// subplot of a panel the other dashboards draw: the same traces and axes, so the grid and the
// standalone panels cannot drift apart. A second y axis ("y2") becomes the grid's right axis.
func subplotOf(f *Figure) subplot {
	c := subplot{Title: f.Title}
	if t, ok := f.Layout["title"].(Obj); ok {
		if text, ok := t["text"].(string); ok && text != "" {
			c.Title = text
		}
	}
	if f.Empty != "" {
		c.Need = strings.TrimPrefix(f.Empty, "No data yet: ")
		return c
	}
	c.XAxis, _ = f.Layout["xaxis"].(Obj)
	c.YAxis, _ = f.Layout["yaxis"].(Obj)
	for _, t := range f.Data {
		if t["yaxis"] == "y2" {
			t["yaxis"] = "y7"
			if r, ok := f.Layout["yaxis2"].(Obj); ok && c.Right == nil {
				c.Right = Obj{}
				for k, v := range r {
					if k != "overlaying" && k != "side" {
						c.Right[k] = v
					}
				}
			}
		}
		t["showlegend"] = t["showlegend"] != false && t["type"] != "bar"
		c.Traces = append(c.Traces, t)
	}
	return c
}

func outcomesSubplot(d *Data) subplot {
	c := subplot{Title: "Request outcomes", XAxis: Obj{"type": "category"}, YAxis: Obj{"title": Obj{"text": "requests"}, "rangemode": "tozero"}}
	if len(d.Requests) == 0 {
		c.Need = needSpans
		return c
	}
	failed := 0
	for _, r := range d.Requests {
		if r.Failed {
			failed++
		}
	}
	ok := len(d.Requests) - failed
	c.Title = fmt.Sprintf("Request outcomes: %.1f%% succeeded of %d", 100*float64(ok)/float64(len(d.Requests)), len(d.Requests))
	c.Traces = []Obj{{
		"type": "bar", "name": "outcomes", "x": []string{"succeeded", "failed"}, "y": Nums{float64(ok), float64(failed)},
		"text": []string{strconv.Itoa(ok), strconv.Itoa(failed)}, "textposition": "auto", "showlegend": false,
		"marker": Obj{"color": []string{colorOK, colorError}}, "hovertemplate": "%{x}: %{y}<extra></extra>",
	}}
	return c
}
