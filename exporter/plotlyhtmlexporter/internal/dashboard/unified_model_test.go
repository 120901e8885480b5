// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"strings"
	"testing"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// utQwen are the facts of the scraper's golden llama-server (Qwen2.5-1.5B Q4_K_M) plus the
// GGUF header's.
func utQwen() store.ModelFacts {
	return store.ModelFacts{Name: "qwen2.5-1.5b-instruct", Architecture: "qwen2", Quantization: "Q4_K_M",
		Path: "/models/qwen2.5-1.5b-instruct-q4_k_m.gguf", Parameters: 1_543_714_304, ContextTrain: 32768,
		BlockCount: 28, HeadCount: 12, HeadCountKV: 2, EmbeddingLength: 1536, VocabSize: 151936, SizeBytes: 1_117_320_736}
}

func TestModelPanelRows(t *testing.T) {
	st := utStore(10)
	st.SetModelFacts([]store.ModelFacts{utQwen()})
	f := utFigure(t, Unified(utData(st, 500)), "unified-model")
	if f.Empty != "" || len(f.Data) != 1 || f.Data[0]["type"] != "table" {
		t.Fatalf("figure %+v", f)
	}
	cols := f.Data[0]["cells"].(Obj)["values"].([][]string)
	if len(cols) != 2 || len(cols[0]) != len(modelFactRows) {
		t.Fatalf("%d columns of %d rows", len(cols), len(cols[0]))
	}
	got := map[string]string{}
	for i, r := range modelFactRows {
		if cols[0][i] != "<b>"+r+"</b>" {
			t.Errorf("row %d named %q", i, cols[0][i])
		}
		got[r] = cols[1][i]
	}
	want := map[string]string{
		"name": "qwen2.5-1.5b-instruct", "architecture": "qwen2", "parameters": "1.54 B", "quantization": "Q4_K_M",
		"context (train)": "32,768 tokens", "layers": "28", "heads (kv)": "12 (kv 2)", "embedding": "1,536",
		"vocab": "151,936 tokens", "file size": "1.04 GiB", "file": "qwen2.5-1.5b-instruct-q4_k_m.gguf",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if h := f.Data[0]["header"].(Obj)["values"].([]string); len(h) != 2 || !strings.Contains(h[1], "qwen2.5-1.5b-instruct") {
		t.Errorf("header %q", h)
	}
}

func TestModelPanelMergesAndMisses(t *testing.T) {
	f := utFigure(t, Unified(utData(utStore(10), 500)), "unified-model")
	if !strings.Contains(f.Empty, "llamacpp.model.*") || !strings.Contains(f.Empty, "genaienrich") {
		t.Errorf("empty text %q", f.Empty)
	}
	// The receiver's resource knows no GGUF header facts; a span's (genaienrich) adds them.
	st := utStore(10)
	res := store.ModelFacts{Name: "m", Parameters: 7_000_000_000, ContextTrain: 4096, SizeBytes: 3 << 30}
	span := store.ModelFacts{Name: "m", Architecture: "llama", Quantization: "Q8_0", BlockCount: 32}
	st.SetModelFacts([]store.ModelFacts{res})
	st.SetModelFacts([]store.ModelFacts{span, {Name: "other"}}) // "other" says nothing: ignored
	f = utFigure(t, Unified(utData(st, 500)), "unified-model")
	cols := f.Data[0]["cells"].(Obj)["values"].([][]string)
	if len(cols) != 2 {
		t.Fatalf("%d columns", len(cols))
	}
	col := strings.Join(cols[1], "|")
	if col != "m|llama|7.00 B|Q8_0|4,096 tokens|32|—|—|—|3.00 GiB|—" {
		t.Errorf("column %q", col)
	}
	// Hostile names are escaped.
	st = utStore(10)
	h := utQwen()
	h.Name, h.Architecture, h.Path = utHostile[1], utHostile[0], "/m/"+utHostile[1]
	st.SetModelFacts([]store.ModelFacts{h})
	raw := string(utMarshal(t, utFigure(t, Unified(utData(st, 500)), "unified-model")))
	if strings.Contains(raw, "<img") || strings.Contains(raw, "<script") || !strings.Contains(raw, `\u0026lt;img`) {
		t.Errorf("not escaped: %.400s", raw)
	}
}

func TestFactFormats(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{factParams(1_543_714_304), "1.54 B"}, {factParams(70_553_706_496), "70.6 B"}, {factParams(405_000_000_000), "405 B"},
		{factParams(124_000_000), "124 M"}, {factParams(1_500_000_000_000), "1.50 T"}, {factParams(999), "999"}, {factParams(0), "—"},
		{factBytes(1_923_946_496), "1.79 GiB"}, {factBytes(512), "512 B"}, {factBytes(5 << 20), "5.00 MiB"}, {factBytes(-1), "—"},
		{factInt(1234567, " tokens"), "1,234,567 tokens"}, {factInt(12, ""), "12"}, {factInt(0, ""), "—"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}
