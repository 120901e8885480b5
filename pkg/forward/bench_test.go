// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package forward

import (
	"path/filepath"
	"testing"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

// benchPrompt returns n token ids.
func benchPrompt(n, vocab int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(1 + i*37%(vocab-1))
	}
	return p
}

// benchRun runs m on tokens b.N times and reports the prompt tokens
// processed per second.
func benchRun(b *testing.B, m *Model, tokens []int32, opts Options) {
	b.Helper()
	for b.Loop() {
		if _, err := m.Run(bg, tokens, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(tokens))*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkLayer1p5B runs one block with the shapes of Qwen2.5-1.5B
// (n_embd 1536, 12 heads, 2 K/V heads, n_ff 8960; 46.8 M weights in the
// block) on a 64-token prompt. "attention" asks for layer 0's attention
// (Options{Layers: 1, Attention: {0}}), which needs only the Q and K
// projections; "block" asks for the logits, which need the whole block
// (and an output projection of 275 rows, next to nothing). Run it on one
// core, as Run uses one:
//
//	go test -run '^$' -bench Layer1p5B -cpu 1 .
func BenchmarkLayer1p5B(b *testing.B) {
	for _, typ := range []gguf.TensorType{gguf.TensorTypeQ8_0, gguf.TensorTypeF16} {
		b.Run(typ.String(), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "layer.gguf")
			spec := modelgen.Spec{Arch: "qwen2", EmbeddingLength: 1536, BlockCount: 1, HeadCount: 12, HeadCountKV: 2,
				FeedForwardLength: 8960, ContextLength: 32768, WeightType: typ}
			if err := modelgen.WriteFile(path, spec); err != nil {
				b.Fatal(err)
			}
			m, err := Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = m.Close() }()
			tokens := benchPrompt(64, m.Info().Vocab)
			b.Run("attention", func(b *testing.B) {
				benchRun(b, m, tokens, Options{Layers: 1, Attention: []int{0}})
			})
			b.Run("block", func(b *testing.B) {
				benchRun(b, m, tokens, Options{Logits: true, Attention: []int{0}})
			})
		})
	}
}

// BenchmarkTiny runs modelgen.Tiny() (2 blocks, n_embd 64) on a 64-token
// prompt for the logits and both layers' attention.
func BenchmarkTiny(b *testing.B) {
	path := filepath.Join(b.TempDir(), "tiny.gguf")
	if err := modelgen.WriteFile(path, modelgen.Tiny()); err != nil {
		b.Fatal(err)
	}
	m, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = m.Close() }()
	benchRun(b, m, benchPrompt(64, m.Info().Vocab), Options{Logits: true, Attention: []int{0, 1}})
}
