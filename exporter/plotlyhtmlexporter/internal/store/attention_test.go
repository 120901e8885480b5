// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// uniformProbs are layers x heads causal triangles of n positions, each row uniform (1/(q+1)).
func uniformProbs(layers, heads, n int) []byte {
	var b []byte
	for range layers * heads {
		for q := range n {
			for range q + 1 {
				b = binary.LittleEndian.AppendUint16(b, gguf.Float32ToFloat16(float32(1/float64(q+1))))
			}
		}
	}
	return b
}

func attentionIn(layers []int64, heads, n int) *AttentionInput {
	return &AttentionInput{Model: "m", Layers: layers, LayerCount: 24, Heads: int64(heads), Tokens: int64(n),
		Probs: uniformProbs(len(layers), heads, n), StartNs: 5, EndNs: 10}
}

func TestDecodeAttention(t *testing.T) {
	in := attentionIn([]int64{2, 7}, 3, 5)
	in.HasLabels, in.Labels = true, []string{"a", "b", "c", "d", "é" + string(make([]byte, 100))}
	a, err := DecodeAttention(in)
	if err != nil {
		t.Fatal(err)
	}
	if a.Values() != 2*3*15 || a.Tokens != 5 || a.Heads != 3 || len(a.Layers) != 2 || a.Layers[1] != 7 || a.LayerCount != 24 {
		t.Fatalf("sample %+v", a)
	}
	if len(a.Labels[4]) > maxAttentionLabel {
		t.Errorf("label of %d bytes kept", len(a.Labels[4]))
	}
	if a.RequestStartNs != 5 {
		t.Errorf("request start %d: the span's start is the fallback", a.RequestStartNs)
	}
	for q := range 5 {
		for k := range 5 {
			v := a.Prob(1, 2, q, k)
			if k > q {
				if !math.IsNaN(v) {
					t.Errorf("(%d,%d) above the diagonal: %v", q, k, v)
				}
				continue
			}
			if math.Abs(v-1/float64(q+1)) > 1e-3 {
				t.Errorf("(%d,%d) = %v", q, k, v)
			}
		}
	}
	for _, bad := range [][4]int{{-1, 0, 0, 0}, {2, 0, 0, 0}, {0, 3, 0, 0}, {0, 0, 5, 0}, {0, 0, 0, -1}} {
		if v := a.Prob(bad[0], bad[1], bad[2], bad[3]); !math.IsNaN(v) {
			t.Errorf("Prob%v = %v", bad, v)
		}
	}
	// Different layers and heads are different triangles.
	probs := make([]byte, 0, 2*2*2*3)
	for i := range 12 {
		probs = binary.LittleEndian.AppendUint16(probs, gguf.Float32ToFloat16(float32(i)/16))
	}
	b, err := DecodeAttention(&AttentionInput{Layers: []int64{0, 1}, Heads: 2, Tokens: 2, Probs: probs})
	if err != nil {
		t.Fatal(err)
	}
	// layer index 1, head 0: the third triangle (values 6, 7, 8), q=1 k=0 is the second.
	if got := b.Prob(1, 0, 1, 0); got != 7.0/16 {
		t.Errorf("layer 1 head 0 (1,0) = %v, want %v", got, 7.0/16)
	}
}

func TestDecodeAttentionRefuses(t *testing.T) {
	nan := binary.LittleEndian.AppendUint16(nil, 0x7e00)
	for _, c := range []struct {
		name   string
		edit   func(in *AttentionInput)
		reason string
	}{
		{"no heads", func(in *AttentionInput) { in.Heads = 0 }, AttentionReasonShape},
		{"negative tokens", func(in *AttentionInput) { in.Tokens = -4 }, AttentionReasonShape},
		{"too many tokens", func(in *AttentionInput) { in.Tokens = MaxAttentionTokens + 1 }, AttentionReasonShape},
		{"no layers", func(in *AttentionInput) { in.Layers = nil }, AttentionReasonShape},
		{"negative layer", func(in *AttentionInput) { in.Layers = []int64{-1, 3} }, AttentionReasonShape},
		{"layer beyond the count", func(in *AttentionInput) { in.Layers = []int64{2, 24} }, AttentionReasonShape},
		{"repeated layer", func(in *AttentionInput) { in.Layers = []int64{2, 2} }, AttentionReasonShape},
		{"bad layer count", func(in *AttentionInput) { in.LayerCount = -1 }, AttentionReasonShape},
		{"huge", func(in *AttentionInput) { in.Heads, in.Tokens = 1000, 1000 }, AttentionReasonTooLarge},
		{"short", func(in *AttentionInput) { in.Probs = in.Probs[:len(in.Probs)-2] }, AttentionReasonLength},
		{"odd", func(in *AttentionInput) { in.Probs = in.Probs[:len(in.Probs)-1] }, AttentionReasonLength},
		{"long", func(in *AttentionInput) { in.Probs = append(in.Probs, 0, 0) }, AttentionReasonLength},
		{"missing", func(in *AttentionInput) { in.Probs = nil }, AttentionReasonLength},
		{"other shape", func(in *AttentionInput) { in.Tokens = 4 }, AttentionReasonLength},
		{"few labels", func(in *AttentionInput) { in.HasLabels, in.Labels = true, []string{"a"} }, AttentionReasonLabels},
		{"labels not a list", func(in *AttentionInput) { in.HasLabels = true }, AttentionReasonLabels},
		{"NaN", func(in *AttentionInput) { copy(in.Probs[4:], nan) }, AttentionReasonValues},
		{"negative", func(in *AttentionInput) { binary.LittleEndian.PutUint16(in.Probs[6:], gguf.Float32ToFloat16(-0.25)) }, AttentionReasonValues},
		{"above one", func(in *AttentionInput) { binary.LittleEndian.PutUint16(in.Probs[6:], gguf.Float32ToFloat16(1.5)) }, AttentionReasonValues},
		{"infinite", func(in *AttentionInput) { binary.LittleEndian.PutUint16(in.Probs[0:], 0x7c00) }, AttentionReasonValues},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := attentionIn([]int64{2, 7}, 3, 5)
			c.edit(in)
			a, err := DecodeAttention(in)
			var ae *AttentionError
			if !errors.As(err, &ae) || a != nil {
				t.Fatalf("sample %v, error %v", a, err)
			}
			if ae.Reason != c.reason {
				t.Errorf("reason %q (%v), want %q", ae.Reason, err, c.reason)
			}
		})
	}
}

func TestStoreKeepsTheNewestAttentionSamples(t *testing.T) {
	s, c := newTestStore(Limits{Retention: time.Hour, MaxPoints: 10, MaxSeries: 10, MaxSpans: 10, MaxLogs: 10})
	add := func(startMin int, model string) {
		t.Helper()
		in := attentionIn([]int64{0}, 1, 3)
		in.Model = model
		in.RequestStartNs = c.t.Add(time.Duration(startMin) * time.Minute).UnixNano()
		in.EndNs = in.RequestStartNs + int64(time.Second)
		if err := s.AddAttention(in); err != nil {
			t.Fatal(err)
		}
	}
	add(-50, "a")
	add(-10, "c")
	before := s.Snapshot()
	add(-30, "b") // arrives late: sorted in by its request's start
	for i := range MaxAttentionSamples {
		add(-9+i, "new")
	}
	add(-40, "old") // older than everything kept: does not displace a newer one
	snap := s.Snapshot()
	if len(snap.Attention) != MaxAttentionSamples {
		t.Fatalf("%d samples kept", len(snap.Attention))
	}
	for i, a := range snap.Attention {
		if a.Model != "new" || (i > 0 && a.RequestStartNs < snap.Attention[i-1].RequestStartNs) {
			t.Errorf("sample %d: %s at %d", i, a.Model, a.RequestStartNs)
		}
	}
	if len(before.Attention) != 2 || before.Attention[0].Model != "a" || before.Attention[1].Model != "c" {
		t.Errorf("an earlier snapshot changed: %v", before.Attention)
	}
	// Out of the window: not drawn.
	c.t = c.t.Add(2 * time.Hour)
	if n := len(s.Snapshot().Attention); n != 0 {
		t.Errorf("%d samples outside the window", n)
	}
	// Refused samples are counted by reason.
	bad := attentionIn([]int64{0}, 1, 3)
	bad.Probs = bad.Probs[:4]
	for i := range 3 {
		err := s.AddAttention(bad)
		var ae *AttentionError
		if !errors.As(err, &ae) || ae.Count != uint64(i+1) {
			t.Fatalf("error %v", err)
		}
	}
	bad.Heads = 0
	_ = s.AddAttention(bad)
	if got := s.AttentionRejected(); got[AttentionReasonLength] != 3 || got[AttentionReasonShape] != 1 || len(got) != 2 {
		t.Errorf("rejected %v", got)
	}
}

func TestStoreModelFacts(t *testing.T) {
	s, c := newTestStore(Limits{Retention: time.Hour, MaxPoints: 10, MaxSeries: 10, MaxSpans: 10, MaxLogs: 10})
	s.SetModelFacts([]ModelFacts{{Path: "/models/a.gguf", Parameters: 5}, {Name: "nothing"}})
	s.SetModelFacts([]ModelFacts{{Name: "a.gguf", Architecture: "llama", Parameters: 0}})
	snap := s.Snapshot()
	if len(snap.Models) != 1 {
		t.Fatalf("models %+v", snap.Models)
	}
	if m := snap.Models[0]; m.Name != "a.gguf" || m.Parameters != 5 || m.Architecture != "llama" || m.Path != "/models/a.gguf" {
		t.Errorf("merged %+v", m)
	}
	for i := range MaxModels + 3 {
		c.t = c.t.Add(time.Second)
		s.SetModelFacts([]ModelFacts{{Name: string(rune('b' + i)), VocabSize: 10}})
	}
	snap = s.Snapshot()
	if len(snap.Models) != MaxModels {
		t.Fatalf("%d models kept", len(snap.Models))
	}
	for i := 1; i < len(snap.Models); i++ {
		if snap.Models[i-1].Name >= snap.Models[i].Name {
			t.Errorf("not by name: %q before %q", snap.Models[i-1].Name, snap.Models[i].Name)
		}
	}
	if snap.Models[0].Name == "a.gguf" {
		t.Error("the model seen longest ago was kept")
	}
	c.t = c.t.Add(2 * time.Hour)
	if n := len(s.Snapshot().Models); n != 0 {
		t.Errorf("%d models outside the window", n)
	}
}
