// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"errors"
	"math"
	"testing"
)

// FuzzDecodeAttention feeds DecodeAttention what a span could carry: any probabilities' bytes,
// any layers (one byte each; 0xff stands for an element that was not an integer), any layer
// count, heads and tokens, and a number of token labels (negative: none). It must never panic,
// and a sample it accepts must hold what the convention says. The seed corpus is in
// testdata/fuzz/FuzzDecodeAttention.
func FuzzDecodeAttention(f *testing.F) {
	f.Add(uniformProbs(2, 3, 5), []byte{2, 7}, int64(24), int64(3), int64(5), int16(5))
	f.Add(uniformProbs(1, 1, 1), []byte{0}, int64(0), int64(1), int64(1), int16(-1))
	f.Add(uniformProbs(1, 2, 4)[:10], []byte{1}, int64(2), int64(2), int64(4), int16(-1))
	f.Fuzz(func(t *testing.T, probs, layerBytes []byte, layerCount, heads, tokens int64, labels int16) {
		in := &AttentionInput{Probs: probs, LayerCount: layerCount, Heads: heads, Tokens: tokens, Model: "m"}
		for _, b := range layerBytes {
			l := int64(b)
			if b == 0xff {
				l = -1
			}
			in.Layers = append(in.Layers, l)
		}
		if labels >= 0 {
			in.HasLabels = true
			in.Labels = make([]string, labels)
		}
		a, err := DecodeAttention(in)
		if err != nil {
			if a != nil {
				t.Fatal("a sample and an error")
			}
			var ae *AttentionError
			if !errors.As(err, &ae) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		n := a.Tokens
		if int64(n) != tokens || int64(a.Heads) != heads || len(a.Layers) != len(layerBytes) {
			t.Fatalf("shape %d/%d/%d from %d/%d/%d", n, a.Heads, len(a.Layers), tokens, heads, len(layerBytes))
		}
		if a.Values() != len(a.Layers)*a.Heads*n*(n+1)/2 || 2*a.Values() != len(probs) {
			t.Fatalf("%d values from %d bytes", a.Values(), len(probs))
		}
		if (a.Labels != nil) != (labels >= 0) || (a.Labels != nil && len(a.Labels) != n) {
			t.Fatalf("%d labels for %d tokens", len(a.Labels), n)
		}
		for li := range a.Layers {
			for h := range a.Heads {
				for q := range n {
					for k := range n {
						v := a.Prob(li, h, q, k)
						if k > q != math.IsNaN(v) || v < 0 || v > 1+probTolerance {
							t.Fatalf("Prob(%d,%d,%d,%d) = %v", li, h, q, k, v)
						}
					}
				}
			}
		}
	})
}
