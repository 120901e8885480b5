// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// utProb is the probability of the test samples: query q attends to key k<=q in layer at index
// li and head h (each row sums to 1; every layer/head differs).
func utProb(li, h, q, k int) float64 { return utRow(li, h, q)[k] }

// utRow is the row of query q: utProb for every key k<=q.
func utRow(li, h, q int) []float64 {
	row := make([]float64, q+1)
	sum := 0.0
	for k := range row {
		row[k] = math.Exp(-float64(q-k)*(0.2+0.3*float64(h)) + 0.25*float64(li)*float64(k%3))
		sum += row[k]
	}
	for k := range row {
		row[k] /= sum
	}
	return row
}

// utAttention is an attention sample's span attributes with utProb's probabilities.
func utAttention(model string, layers []int64, heads, n int, labels []string, start time.Time) *store.AttentionInput {
	var probs []byte
	for li := range layers {
		for h := range heads {
			for q := range n {
				for _, p := range utRow(li, h, q) {
					probs = binary.LittleEndian.AppendUint16(probs, gguf.Float32ToFloat16(float32(p)))
				}
			}
		}
	}
	return &store.AttentionInput{
		TraceID: [16]byte{9, 9}, SpanID: [8]byte{9, 9}, StartNs: start.Add(time.Second).UnixNano(), EndNs: start.Add(2 * time.Second).UnixNano(),
		Model: model, RequestStartNs: start.UnixNano(), Layers: layers, LayerCount: 28, Heads: int64(heads), Tokens: int64(n),
		Labels: labels, HasLabels: labels != nil, Probs: probs,
	}
}

func utAddAttention(t *testing.T, st *store.Store, in *store.AttentionInput) {
	t.Helper()
	if err := st.AddAttention(in); err != nil {
		t.Fatal(err)
	}
}

var utTokens = []string{"<s>", "▁The", "▁capital", "▁of", "▁France", "▁is", "\n", "▁Paris", ".", "▁It", "▁has", "▁museums"}

func TestAttentionPanelDrawsTheNewestSample(t *testing.T) {
	b := utBase()
	st := utStore(10)
	utAddAttention(t, st, utAttention("older-model", []int64{0}, 1, 4, nil, b.Add(-time.Minute)))
	utAddAttention(t, st, utAttention("qwen2.5-1.5b", []int64{3, 20}, 4, 12, utTokens, b))
	f := utFigure(t, Unified(utData(st, 500)), "unified-attention")
	if f.Empty != "" || !f.Wide || len(f.Data) != 2 {
		t.Fatalf("figure %+v", f)
	}
	surface, heat := f.Data[0], f.Data[1]
	if surface["type"] != "surface" || heat["type"] != "heatmap" || heat["colorscale"] != "RdBu" {
		t.Fatalf("traces %v / %v", surface["type"], heat["type"])
	}
	// The matrix is the decoded layer 3, head 0: the lower triangle as sent (to half-float
	// precision), nothing above the diagonal.
	z := surface["z"].(probRows)
	if len(z) != 12 || len(z[0]) != 12 {
		t.Fatalf("z is %dx%d", len(z), len(z[0]))
	}
	for q := range 12 {
		sum := 0.0
		for k := range 12 {
			v := z[q][k]
			if k > q {
				if !math.IsNaN(v) {
					t.Errorf("z[%d][%d] = %v above the diagonal", q, k, v)
				}
				continue
			}
			if want := utProb(0, 0, q, k); math.Abs(v-want) > 1e-3 {
				t.Errorf("z[%d][%d] = %v, want %v", q, k, v, want)
			}
			sum += v
		}
		if math.Abs(sum-1) > 0.01 {
			t.Errorf("row %d sums to %v", q, sum)
		}
	}
	if fmt.Sprint(heat["z"]) != fmt.Sprint(surface["z"]) {
		t.Error("the heatmap draws another matrix than the surface")
	}
	raw := string(utMarshal(t, f))
	if !strings.Contains(raw, `"z":[[1,null,null,`) {
		t.Errorf("z not written with nulls above the diagonal: %.200s", raw)
	}
	// Title: model, layer, head and the request's time, UTC.
	lay := f.Layout
	want := "Attention — qwen2.5-1.5b, layer 3 head 0 — request at " + b.UTC().Format("2006-01-02 15:04:05") + " UTC"
	if got := lay["title"].(Obj)["text"]; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	if !strings.Contains(f.Title, "12 tokens") {
		t.Errorf("panel title %q", f.Title)
	}
	// Token labels on both plots' axes, escaped and made visible.
	ticks := lay["xaxis"].(Obj)["ticktext"].([]string)
	if len(ticks) != 12 || ticks[0] != "&lt;s&gt;" || ticks[6] != "↵" || ticks[7] != "▁Paris" {
		t.Errorf("ticks %q", ticks)
	}
	// A 3D scene shows tick text as it is: no escapes, lookalikes instead of markup.
	if got := lay["scene"].(Obj)["yaxis"].(Obj)["ticktext"].([]string); len(got) != 12 || got[0] != "‹s›" || got[7] != "▁Paris" || got[6] != "↵" {
		t.Errorf("scene ticks %q", got)
	}
	// Short scene axis titles (the old panel's long ones overlapped).
	for _, ax := range []string{"xaxis", "yaxis", "zaxis"} {
		if s := lay["scene"].(Obj)[ax].(Obj)["title"].(Obj)["text"].(string); len(s) > 6 {
			t.Errorf("scene %s title %q is long", ax, s)
		}
	}
	if text := surface["text"].([][]string); text[7][4] != "query 7 “▁Paris” · key 4 “▁France”" || text[4][7] != "" {
		t.Errorf("hover text %q / %q", text[7][4], text[4][7])
	}
}

func TestAttentionSelectorSwitchesBothPlots(t *testing.T) {
	b := utBase()
	st := utStore(10)
	utAddAttention(t, st, utAttention("m", []int64{3, 20}, 4, 12, nil, b))
	f := utFigure(t, Unified(utData(st, 500)), "unified-attention")
	menus := f.Layout["updatemenus"].([]Obj)
	if len(menus) != 1 {
		t.Fatalf("%d menus, want one selector", len(menus))
	}
	buttons := menus[0]["buttons"].([]Obj)
	if len(buttons) != 8 {
		t.Fatalf("%d options, want 2 layers x 4 heads", len(buttons))
	}
	seen := map[string]string{}
	for i, btn := range buttons {
		li, h := i/4, i%4
		layer := []int{3, 20}[li]
		if want := fmt.Sprintf("layer %d · head %d", layer, h); btn["label"] != want {
			t.Errorf("option %d label %q, want %q", i, btn["label"], want)
		}
		if btn["method"] != "update" {
			t.Errorf("method %v", btn["method"])
		}
		args := btn["args"].([]any)
		zs := args[0].(Obj)["z"].([]probRows)
		if len(zs) != 1 {
			t.Fatalf("option %d gives %d matrices, want one for both traces", i, len(zs))
		}
		if idx := args[2].([]int); len(idx) != 2 || idx[0] != 0 || idx[1] != 1 {
			t.Errorf("option %d restyles traces %v", i, idx)
		}
		if title := args[1].(Obj)["title.text"].(string); !strings.Contains(title, fmt.Sprintf("layer %d head %d", layer, h)) {
			t.Errorf("option %d title %q", i, title)
		}
		if math.Abs(zs[0][5][2]-utProb(li, h, 5, 2)) > 1e-3 {
			t.Errorf("option %d: z[5][2] = %v, want %v", i, zs[0][5][2], utProb(li, h, 5, 2))
		}
		key := string(utMarshal(t, zs[0]))
		if prev, ok := seen[key]; ok {
			t.Errorf("options %s and %d draw the same matrix", prev, i)
		}
		seen[key] = fmt.Sprint(i)
	}
	if fmt.Sprint(buttons[0]["args"].([]any)[0].(Obj)["z"].([]probRows)[0]) != fmt.Sprint(f.Data[0]["z"]) {
		t.Error("the first option is not what is drawn first")
	}
	// Without labels: positions on the axes, no label text anywhere.
	ticks := f.Layout["xaxis"].(Obj)["ticktext"].([]string)
	if len(ticks) != 12 || ticks[0] != "0" || ticks[11] != "11" {
		t.Errorf("ticks %q", ticks)
	}
	if _, ok := f.Data[0]["text"]; ok {
		t.Error("hover text without labels")
	}
	raw := utMarshal(t, f)
	for _, tok := range []string{"The", "capital", "France", "Paris", "museums", "▁"} {
		if bytes.Contains(raw, []byte(tok)) {
			t.Errorf("%q in a figure drawn without labels", tok)
		}
	}
}

func TestAttentionPanelBoundsThePage(t *testing.T) {
	b := utBase()
	st := utStore(10)
	layers := []int64{0, 1, 2, 3, 4, 5, 6, 7}
	utAddAttention(t, st, utAttention("big", layers, 32, 96, nil, b))
	f := utFigure(t, Unified(utData(st, 500)), "unified-attention")
	buttons := f.Layout["updatemenus"].([]Obj)[0]["buttons"].([]Obj)
	if len(buttons) > attentionOptions || len(buttons) < attentionOptions/2 {
		t.Errorf("%d options", len(buttons))
	}
	n := len(f.Data[0]["z"].(probRows))
	if n >= 96 || n < attentionMinTokens {
		t.Errorf("%d tokens drawn", n)
	}
	if cells := (len(buttons) + 2) * n * n; cells > attentionCells {
		t.Errorf("%d cells, bound %d", cells, attentionCells)
	}
	if !strings.Contains(f.Title, fmt.Sprintf("first %d of 96 tokens", n)) || !strings.Contains(f.Title, "of 256 layer/head pairs") {
		t.Errorf("title %q", f.Title)
	}
	// Every layer keeps some heads.
	layerSeen := map[string]bool{}
	for _, btn := range buttons {
		layerSeen[strings.Fields(btn["label"].(string))[1]] = true
	}
	if len(layerSeen) != len(layers) {
		t.Errorf("layers in the selector: %v", layerSeen)
	}
	if size := len(utMarshal(t, f)); size > 1_500_000 {
		t.Errorf("panel JSON %d bytes", size)
	}
}

func TestAttentionChoicesOfManyLayers(t *testing.T) {
	layers := make([]int64, 100)
	for i := range layers {
		layers[i] = int64(i)
	}
	in := utAttention("m", layers, 4, 3, nil, utBase())
	in.LayerCount = 0
	a, err := store.DecodeAttention(in)
	if err != nil {
		t.Fatal(err)
	}
	cs := attentionChoices(a)
	if len(cs) != attentionOptions || cs[0].layer != 0 || cs[len(cs)-1].layer != 99 {
		t.Fatalf("%d choices, from %+v to %+v", len(cs), cs[0], cs[len(cs)-1])
	}
	for _, c := range cs {
		if c.head != 0 {
			t.Errorf("choice %+v: one head per layer is head 0", c)
		}
	}
	a, err = store.DecodeAttention(utAttention("m", []int64{1, 2, 3}, 64, 3, nil, utBase()))
	if err != nil {
		t.Fatal(err)
	}
	if cs := attentionChoices(a); len(cs) != 3*21 || cs[0].head != 0 || cs[20].head != 63 {
		t.Errorf("%d choices: %+v", len(cs), cs[:21])
	}
}

func TestAttentionPanelEmptyAndEscaped(t *testing.T) {
	f := utFigure(t, Unified(utData(utStore(10), 500)), "unified-attention")
	if !strings.Contains(f.Empty, "llt.attention") || !strings.Contains(f.Empty, "attention::enabled: true") {
		t.Errorf("empty text %q", f.Empty)
	}
	st := utStore(10)
	labels := make([]string, 4)
	for i := range labels {
		labels[i] = utHostile[i%len(utHostile)]
	}
	utAddAttention(t, st, utAttention(utHostile[0], []int64{0}, 1, 4, labels, utBase()))
	f = utFigure(t, Unified(utData(st, 500)), "unified-attention")
	raw := utMarshal(t, f)
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	utWalkStrings(v, func(s string) {
		for _, bad := range []string{"<img", "<script", "</script", "\u2028"} {
			if strings.Contains(s, bad) {
				t.Errorf("string %q contains %q", s, bad)
			}
		}
	})
	if !bytes.Contains(raw, []byte(`\u0026lt;/script`)) {
		t.Errorf("escaped model name missing: %.300s", raw)
	}
}

func TestProbRowsJSON(t *testing.T) {
	b, err := json.Marshal(probRows{{0.123456, math.NaN()}, {1, 0.000012345}})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "[[0.123,null],[1,1.23e-05]]" {
		t.Errorf("%s", b)
	}
	var back [][]*float64
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
}
