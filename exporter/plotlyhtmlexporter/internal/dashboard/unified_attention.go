// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// Bounds of the attention panel.
const (
	// attentionOptions bounds the layer/head pairs in the selector; beyond it, heads are picked
	// evenly in each layer (and layers evenly when there are more layers than that).
	attentionOptions = 64
	// attentionCells bounds the z cells the panel writes into the page: both traces' initial
	// matrices plus one per selector option (plotly's restyle gives a one-element value to every
	// trace it names). Beyond it only the first tokens are drawn (at least attentionMinTokens).
	attentionCells     = 200_000
	attentionMinTokens = 8
	// attentionTicks bounds the labelled ticks of an axis.
	attentionTicks = 40
	// attentionLabelRunes bounds a token label on an axis.
	attentionLabelRunes = 16
)

var needAttention = "an attention sample: a " + conventions.SpanAttention +
	" span (the genaienrich processor with attention enabled, `attention::enabled: true`, on requests whose prompts it captures)"

// attnChoice is one entry of the selector: the layer at index li of the sample's layers, a head.
type attnChoice struct{ li, layer, head int }

// attentionChoices are the selector's entries, layer by layer.
func attentionChoices(a *store.AttentionSample) []attnChoice {
	lis := stride(len(a.Layers), attentionOptions)
	heads := []int{0}
	if perLayer := attentionOptions / len(lis); perLayer > 1 {
		heads = stride(a.Heads, perLayer)
	}
	out := make([]attnChoice, 0, len(lis)*len(heads))
	for _, li := range lis {
		for _, h := range heads {
			out = append(out, attnChoice{li: li, layer: a.Layers[li], head: h})
		}
	}
	return out
}

// probRows is a probability matrix for plotly's z: three significant digits (a half float
// has about as many), NaN as null (no cell: above the causal diagonal).
type probRows [][]float64

// MarshalJSON implements json.Marshaler.
func (m probRows) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(m)*len(m)*5)
	b = append(b, '[')
	for i, row := range m {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, v := range row {
			if j > 0 {
				b = append(b, ',')
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				b = append(b, "null"...)
				continue
			}
			b = strconv.AppendFloat(b, v, 'g', 3, 64)
		}
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

// attentionMatrix is z[q][k] of one layer/head over the first n positions; NaN for k > q.
func attentionMatrix(a *store.AttentionSample, c attnChoice, n int) probRows {
	z := make(probRows, n)
	for q := range z {
		z[q] = make([]float64, n)
		for k := range z[q] {
			z[q][k] = a.Prob(c.li, c.head, q, k) // NaN above the diagonal
		}
	}
	return z
}

// attentionTime formats a time as the page shows times (UTC).
func attentionTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05 UTC")
}

// tokenLabel is a token piece made visible and safe for a 2D axis or a hover text (plotly's
// pseudo-HTML: escaped).
func tokenLabel(s string) string {
	return Text(visibleToken(s))
}

// sceneLookalikes stand in for the characters that HTML would need escaped: a 3D scene draws
// tick text as it is, so an escaped "&lt;s&gt;" would show as such; these show as "‹s›".
var sceneLookalikes = strings.NewReplacer("<", "‹", ">", "›", "&", "＆", `"`, "＂", "'", "’")

// sceneTokenLabel is a token piece for a 3D scene's tick text: no markup, none interpreted.
func sceneTokenLabel(s string) string {
	s = visibleToken(s)
	if !utf8.ValidString(s) {
		s = string([]rune(s))
	}
	return sceneLookalikes.Replace(s)
}

// visibleToken shows a token piece's whitespace and control characters, cut to
// attentionLabelRunes.
func visibleToken(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return '↵'
		case r == '\t':
			return '⇥'
		case r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029:
			return '·'
		}
		return r
	}, s)
	if strings.TrimSpace(s) == "" && s != "" {
		s = strings.ReplaceAll(s, " ", "␣")
	}
	return clipRunes(s, attentionLabelRunes)
}

// attentionTitle is the plot's title for one selector entry.
func attentionTitle(a *store.AttentionSample, c attnChoice) string {
	model := a.Model
	if model == "" {
		model = "unknown model"
	}
	return fmt.Sprintf("Attention — %s, layer %d head %d — request at %s", Text(model), c.layer, c.head, attentionTime(a.RequestStartNs))
}

// attentionPanel draws the newest attention sample: a 3D surface (key, query, probability) and
// beside it a heatmap of the same matrix, with one selector that switches the layer and head of
// both.
func attentionPanel(d *Data) *Figure {
	const id = "unified-attention"
	title := "Attention of a sampled prompt: query × key probabilities"
	if len(d.Snap.Attention) == 0 {
		return emptyPanel(id, title, needAttention, true)
	}
	a := d.Snap.Attention[len(d.Snap.Attention)-1]
	choices := attentionChoices(a)
	n := a.Tokens
	if fit := int(math.Sqrt(float64(attentionCells) / float64(len(choices)+2))); fit < n {
		n = max(fit, min(a.Tokens, attentionMinTokens))
	}
	var notes []string
	if n < a.Tokens {
		notes = append(notes, fmt.Sprintf("first %d of %d tokens", n, a.Tokens))
	} else {
		notes = append(notes, fmt.Sprintf("%d tokens", n))
	}
	if all := len(a.Layers) * a.Heads; len(choices) < all {
		notes = append(notes, fmt.Sprintf("%d of %d layer/head pairs", len(choices), all))
	}
	title += " (" + strings.Join(notes, ", ") + ")"

	mats := make([]probRows, len(choices))
	zmax := 0.0
	for i, c := range choices {
		mats[i] = attentionMatrix(a, c, n)
		for _, row := range mats[i] {
			for _, v := range row {
				if v > zmax {
					zmax = v
				}
			}
		}
	}
	if zmax <= 0 {
		zmax = 1
	}
	zmax = math.Min(1, math.Ceil(zmax*100)/100)

	pos := make([]int, n)
	for i := range pos {
		pos[i] = i
	}
	tickIdx := stride(n, attentionTicks)
	tickVals := make([]int, len(tickIdx))
	tickText := make([]string, len(tickIdx))
	sceneText := make([]string, len(tickIdx))
	for i, p := range tickIdx {
		tickVals[i] = p
		if a.Labels != nil {
			tickText[i], sceneText[i] = tokenLabel(a.Labels[p]), sceneTokenLabel(a.Labels[p])
		} else {
			tickText[i] = strconv.Itoa(p)
			sceneText[i] = tickText[i]
		}
	}
	hover := "query %{y} · key %{x}<br>p = %{z:.3f}<extra></extra>"
	var text [][]string
	if a.Labels != nil {
		hover = "%{text}<br>p = %{z:.3f}<extra></extra>"
		labels := make([]string, n)
		for i := range labels {
			labels[i] = tokenLabel(a.Labels[i])
		}
		text = make([][]string, n)
		for q := range text {
			text[q] = make([]string, n)
			for k := 0; k <= q; k++ {
				text[q][k] = fmt.Sprintf("query %d “%s” · key %d “%s”", q, labels[q], k, labels[k])
			}
		}
	}

	surface := Obj{
		"type": "surface", "name": "surface", "x": pos, "y": pos, "z": mats[0], "scene": "scene",
		"colorscale": "Viridis", "cmin": 0, "cmax": zmax, "showscale": false, "hovertemplate": hover,
	}
	heatmap := Obj{
		"type": "heatmap", "name": "heatmap", "x": pos, "y": pos, "z": mats[0], "xaxis": "x", "yaxis": "y",
		"colorscale": "RdBu", "zmin": 0, "zmax": zmax, "hoverongaps": false, "hovertemplate": hover,
		"colorbar": Obj{"title": Obj{"text": "p"}, "thickness": 12, "len": 0.8, "x": 1.0},
	}
	if text != nil {
		surface["text"], heatmap["text"] = text, text
	}

	buttons := make([]Obj, len(choices))
	for i, c := range choices {
		buttons[i] = Obj{
			"label":  fmt.Sprintf("layer %d · head %d", c.layer, c.head),
			"method": "update",
			// One matrix for the surface (trace 0) and the heatmap (trace 1).
			"args": []any{Obj{"z": []probRows{mats[i]}}, Obj{"title.text": attentionTitle(a, c)}, []int{0, 1}},
		}
	}
	tickFont := Obj{"size": 9}
	sceneAxis := func(t string) Obj {
		return Obj{"title": Obj{"text": t}, "tickmode": "array", "tickvals": tickVals, "ticktext": sceneText, "tickfont": tickFont}
	}
	lay := Obj{
		"title": Obj{"text": attentionTitle(a, choices[0]), "x": 0.01, "xanchor": "left", "y": 0.97, "yanchor": "top", "font": Obj{"size": 13}},
		"scene": Obj{
			"domain": Obj{"x": []float64{0, 0.48}, "y": []float64{0, 1}},
			"xaxis":  sceneAxis("key"),
			"yaxis":  sceneAxis("query"),
			"zaxis":  Obj{"title": Obj{"text": "p"}, "range": []float64{0, zmax}, "tickfont": tickFont},
			// A fixed view in which the whole causal triangle and its diagonal show.
			"camera":      Obj{"eye": Obj{"x": -1.15, "y": 1.45, "z": 0.85}},
			"aspectmode":  "manual",
			"aspectratio": Obj{"x": 1, "y": 1, "z": 0.6},
		},
		"xaxis": Obj{"domain": []float64{0.56, 0.93}, "title": Obj{"text": "key"}, "tickmode": "array",
			"tickvals": tickVals, "ticktext": tickText, "tickfont": tickFont, "automargin": true, "anchor": "y", "zeroline": false},
		"yaxis": Obj{"domain": []float64{0, 0.9}, "title": Obj{"text": "query"}, "tickmode": "array",
			"tickvals": tickVals, "ticktext": tickText, "tickfont": tickFont, "automargin": true, "autorange": "reversed", "anchor": "x",
			"zeroline": false},
		"updatemenus": []Obj{{
			"type": "dropdown", "direction": "down", "active": 0, "showactive": true, "buttons": buttons,
			"x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom", "pad": Obj{"r": 2, "t": 2, "b": 2},
		}},
		"margin": Obj{"l": 10, "r": 10, "t": 60, "b": 50},
	}
	if a.Labels != nil {
		lay["xaxis"].(Obj)["tickangle"] = -60
	}
	return &Figure{ID: id, Title: title, Height: internals3DHeight, Wide: true, Layout: lay, Data: []Obj{surface, heatmap}}
}
