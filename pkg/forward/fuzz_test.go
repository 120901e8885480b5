// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package forward

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed files in testdata/fuzz/FuzzNew")

// FuzzNew reads arbitrary bytes as a model and, when New accepts them,
// runs it on a few tokens asking for everything; neither may panic, and a
// run that succeeds returns what was asked for. The same bytes are also
// read with the file size hidden, so that tensor data past the end of the
// file is found by Run, not by the reader.
//
// The seeds are the files in testdata/fuzz/FuzzNew, which TestFuzzCorpus
// keeps in step with seedFiles.
func FuzzNew(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, r := range []readerAt{bytes.NewReader(data), unsized{bytes.NewReader(data)}} {
			gf, err := gguf.NewFile(r)
			if err != nil {
				continue
			}
			m, err := New(gf)
			if err != nil {
				if err.Error() == "" || !strings.HasPrefix(err.Error(), "forward: ") {
					t.Fatalf("bad error message %q", err)
				}
				continue
			}
			exerciseModel(t, m)
		}
	})
}

type readerAt interface {
	ReadAt(p []byte, off int64) (int, error)
}

// exerciseModel runs m on three tokens for the logits and the attention
// of its first and last layers, and checks the shapes of what it returns.
func exerciseModel(t *testing.T, m *Model) {
	info := m.Info()
	tokens := []int32{0, int32(info.Vocab - 1), int32(info.Vocab / 2)}
	opts := Options{Logits: true, Attention: []int{0, info.Layers - 1}}
	res, err := m.Run(bg, tokens, opts)
	if err != nil {
		return
	}
	if len(res.Logits) != info.Vocab || len(res.Attention) != 2 {
		t.Fatalf("%d logits and %d attentions for a vocabulary of %d", len(res.Logits), len(res.Attention), info.Vocab)
	}
	for _, a := range res.Attention {
		if len(a.Probs) != info.Heads*9 || a.Tokens != 3 || a.Heads != info.Heads {
			t.Fatalf("attention of layer %d has %d probabilities for %d heads", a.Layer, len(a.Probs), a.Heads)
		}
	}
	if _, err := m.Run(bg, tokens[:1], Options{Layers: 1, Attention: []int{0}}); err != nil {
		t.Fatalf("a run that succeeded fails when it computes less: %v", err)
	}
}

// seedFiles returns the seed corpus: small valid models of each kind New
// reads, and broken ones (truncated, a tensor missing, a wrong shape).
func seedFiles() map[string][]byte {
	t := &testing.T{} // the builders only fail on bugs in this file
	small := tiny{embd: 4, heads: 2, ff: 4, vocab: 6, n: 1}
	with := func(change func(*tiny)) []byte {
		s := small
		change(&s)
		return s.bytes(t)
	}
	llama := small.bytes(t)
	seeds := map[string][]byte{
		"llama":      llama,
		"llama-2":    with(func(s *tiny) { s.n = 2 }),
		"llama-tied": with(func(s *tiny) { s.tied, s.typ = true, gguf.TensorTypeF16 }),
		"llama-rope": with(func(s *tiny) {
			s.extra, s.kvs = map[string][]float32{"rope_freqs.weight": {1}}, map[string]any{"llama.rope.scale_linear": float32(2)}
		}),
		"qwen2-gqa": with(func(s *tiny) { s.arch, s.heads, s.headsKV, s.biases = "qwen2", 2, 1, true }),
		"qwen2-q8_0": with(func(s *tiny) {
			s.arch, s.typ, s.embd, s.ff, s.heads, s.headsKV = "qwen2", gguf.TensorTypeQ8_0, 32, 32, 4, 2
		}),
		"missing": with(func(s *tiny) { s.drop = []string{"blk.0.ffn_gate.weight"} }),
		"wrong-shape": with(func(s *tiny) {
			s.dims = map[string][]uint64{"blk.0.attn_v.weight": {4, 2}}
			s.values = map[string][]float32{"blk.0.attn_v.weight": make([]float32, 8)}
		}),
	}
	for _, n := range []int{20, 300, len(llama) / 2, len(llama) - 40} {
		seeds[fmt.Sprintf("llama-truncated-%d", n)] = llama[:n]
	}
	return seeds
}

// TestFuzzCorpus checks that testdata/fuzz/FuzzNew holds the seeds of
// seedFiles; run with -update-corpus to rewrite it. Other files in the
// directory (crashers kept as regression cases) are left alone.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzNew")
	seeds := seedFiles()
	for _, name := range slices.Sorted(maps.Keys(seeds)) {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seeds[name])
		path := filepath.Join(dir, "seed-"+name)
		if *updateCorpus {
			require.NoError(t, os.MkdirAll(dir, 0o755))
			require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
			continue
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err, "run go test -run TestFuzzCorpus -update-corpus")
		assert.Equal(t, want, string(got), "%s is stale; run go test -run TestFuzzCorpus -update-corpus", path)
	}
}

// TestSeeds checks that the valid seeds load and run and the broken ones
// fail, so that the corpus covers both paths.
func TestSeeds(t *testing.T) {
	for name, data := range seedFiles() {
		m, err := newFromBytes(data)
		switch {
		case name == "missing" || name == "wrong-shape" || strings.Contains(name, "truncated"):
			assert.Error(t, err, name)
		default:
			require.NoError(t, err, name)
			_, err := m.Run(bg, []int32{1, 2, 3}, Options{Logits: true, Attention: []int{0}})
			assert.NoError(t, err, name)
			exerciseModel(t, m)
		}
	}
}
