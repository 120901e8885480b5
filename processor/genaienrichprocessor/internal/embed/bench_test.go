// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package embed

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// benchModel returns a GGUF file for the benchmarks: the tiny modelgen
// model (n_embd 64, F32), or a file holding only an F16 token_embd.weight
// of 4096 × 2048 (the width of a 7-8B model; 2048 rows, all of which the
// default row cache holds, as a warm cache would hold a prompt's tokens).
func benchModel(b *testing.B, dim int) (path string, vocab int) {
	b.Helper()
	if dim == 64 {
		return llamatest.TinyModel(b), 275
	}
	vocab = 2048
	rng := rand.New(rand.NewPCG(5, 5))
	bld := &gguf.Builder{}
	if err := bld.AddKV(gguf.KeyArchitecture, "llama"); err != nil {
		b.Fatal(err)
	}
	err := bld.AddTensorFunc(TokenEmbeddingTensor, gguf.TensorTypeF16, []uint64{uint64(dim), uint64(vocab)}, func(w io.Writer) error {
		row := make([]byte, 2*dim)
		for range vocab {
			for i := range dim {
				binary.LittleEndian.PutUint16(row[2*i:], gguf.Float32ToFloat16(float32(rng.NormFloat64()*0.02)))
			}
			if _, err := w.Write(row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	path = filepath.Join(b.TempDir(), "embd.gguf")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bld.WriteTo(f); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path, vocab
}

// benchPrompts returns 1024 prompts of 200 token ids each (more than a
// window, so that a window never holds repeats), skewed towards
// low ids as real token frequencies are.
func benchPrompts(vocab int) [][]int32 {
	rng := rand.New(rand.NewPCG(6, 6))
	out := make([][]int32, 1024)
	for i := range out {
		p := make([]int32, 200)
		for j := range p {
			p[j] = int32(min(vocab-1, int(rng.ExpFloat64()*float64(vocab)/6)))
		}
		out[i] = p
	}
	return out
}

// BenchmarkMean is the baseline: one 200-token Mean with a warm row cache.
func BenchmarkMean(b *testing.B) {
	for _, dim := range []int{64, 4096} {
		b.Run(fmt.Sprintf("n_embd=%d", dim), func(b *testing.B) {
			path, vocab := benchModel(b, dim)
			e, err := OpenTokenEmbeddings(path)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = e.Close() }()
			prompts := benchPrompts(vocab)
			for _, p := range prompts[:64] { // warm the cache
				_, _ = e.Mean(p)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := e.Mean(prompts[i%len(prompts)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMeanAndProject is the per-span cost of the token embedding
// path: Mean of a 200-token prompt, then Projector.Add with a window of
// 256 refitted every 64 vectors, the refits' cost amortised over the
// operations.
func BenchmarkMeanAndProject(b *testing.B) {
	for _, dim := range []int{64, 4096} {
		b.Run(fmt.Sprintf("n_embd=%d", dim), func(b *testing.B) {
			path, vocab := benchModel(b, dim)
			e, err := OpenTokenEmbeddings(path)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = e.Close() }()
			prompts := benchPrompts(vocab)
			p := NewProjector(DefaultWindow, DefaultRefitEvery)
			for i := range DefaultWindow { // a full window and a fit
				v, _ := e.Mean(prompts[i%len(prompts)])
				p.Add(v)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				v, err := e.Mean(prompts[i%len(prompts)])
				if err != nil {
					b.Fatal(err)
				}
				if _, ok := p.Add(v); !ok {
					b.Fatal("no projection")
				}
			}
		})
	}
}

// BenchmarkFitPCA is the cost of one refit of a full default window.
func BenchmarkFitPCA(b *testing.B) {
	for _, size := range [][2]int{{DefaultWindow, 64}, {DefaultWindow, 4096}, {2000, 1536}} {
		n, dim := size[0], size[1]
		b.Run(fmt.Sprintf("%dx%d", n, dim), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(7, 7))
			rows := make([][]float32, n)
			for i := range rows {
				rows[i] = make([]float32, dim)
				for j := range rows[i] {
					rows[i][j] = float32(rng.NormFloat64())
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if fitPCA(rows, dim, nil) == nil {
					b.Fatal("fit failed")
				}
			}
		})
	}
}
