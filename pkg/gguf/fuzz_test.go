// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed files in testdata/fuzz/FuzzRead")

// FuzzRead parses arbitrary bytes and, when they parse, calls every
// accessor and dequantizes the first and last row of every tensor. It must
// never panic, and a file that parses with its size known must parse
// without it too.
//
// The seeds are the files in testdata/fuzz/FuzzRead, which TestFuzzCorpus
// keeps in step with seedFiles.
func FuzzRead(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ff, err := NewFile(bytes.NewReader(data))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		exercise(t, ff)
		unsized, err := NewFile(onlyReaderAt{bytes.NewReader(data)})
		if err != nil {
			t.Fatalf("parses with the size known but not without: %v", err)
		}
		exercise(t, unsized)
	})
}

func exercise(t *testing.T, f *File) {
	for _, kv := range f.Metadata {
		_ = kv.Value.String()
		_, _ = kv.Value.Uints()
		_, _ = kv.Value.Ints()
		_, _ = kv.Value.Floats()
		_, _ = kv.Value.Strings()
		_, _ = kv.Value.Index(0)
		_, _ = ValueOf(kv.Value)
	}
	_, _ = f.Architecture()
	_, _ = f.Name()
	_, _ = f.FileType()
	_, _ = f.ContextLength()
	_, _ = f.EmbeddingLength()
	_, _ = f.BlockCount()
	_, _ = f.FeedForwardLength()
	_, _ = f.HeadCount()
	_, _ = f.HeadCountKV()
	_, _ = f.RopeDimensionCount()
	_, _ = f.RopeFreqBase()
	_, _ = f.LayerNormRMSEpsilon()
	_, _ = f.TokenizerModel()
	_, _ = f.Tokens()
	_, _ = f.VocabSize()
	_, _ = f.BOSTokenID()
	_, _ = f.EOSTokenID()
	_, _ = f.UNKTokenID()
	_, _ = f.ChatTemplate()
	facts := f.Facts()
	if facts.TensorCount != uint64(len(f.Tensors)) {
		t.Fatalf("tensor count %d, have %d tensors", facts.TensorCount, len(f.Tensors))
	}
	for _, ti := range f.Tensors {
		if _, err := f.TensorData(ti.Name); err != nil && ti.Type.Known() && f.Size >= 0 {
			t.Fatalf("TensorData(%q): %v", ti.Name, err)
		}
		rows := ti.Rows()
		for _, row := range []uint64{0, rows - 1} {
			if row >= rows || row > math.MaxInt32 {
				continue
			}
			vals, err := f.DequantizeRow(ti.Name, int(row))
			if err == nil && uint64(len(vals)) != ti.RowLength() {
				t.Fatalf("DequantizeRow(%q, %d) returned %d values, want %d", ti.Name, row, len(vals), ti.RowLength())
			}
			if err != nil && canDequantize(ti.Type) && f.Size >= 0 {
				t.Fatalf("DequantizeRow(%q, %d): %v", ti.Name, row, err)
			}
		}
	}
}

// seedFiles returns the seed corpus: valid files from the Builder, and
// truncated and mutated copies of one of them.
func seedFiles() map[string][]byte {
	seeds := map[string][]byte{}
	write := func(b *Builder) []byte {
		var buf bytes.Buffer
		if _, err := b.WriteTo(&buf); err != nil {
			panic(err)
		}
		return buf.Bytes()
	}
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}

	// A miniature llama model: F32 norms, F16 weights, a byte vocabulary.
	var m Builder
	must(m.AddKV(KeyArchitecture, "llama"))
	must(m.AddKV(KeyName, "seed"))
	must(m.AddKV(KeyFileType, uint32(1)))
	must(m.AddKV("llama.context_length", uint32(64)))
	must(m.AddKV("llama.embedding_length", uint32(4)))
	must(m.AddKV("llama.block_count", uint32(1)))
	must(m.AddKV("llama.feed_forward_length", []uint32{8}))
	must(m.AddKV("llama.attention.head_count", uint32(2)))
	must(m.AddKV("llama.rope.freq_base", float32(10000)))
	must(m.AddKV(KeyTokenizerModel, "llama"))
	must(m.AddKV(KeyTokens, []string{"<unk>", "<s>", "</s>", "▁a"}))
	must(m.AddKV(KeyScores, []float32{0, 0, 0, -1}))
	must(m.AddKV(KeyTokenType, []int32{2, 3, 3, 1}))
	must(m.AddKV(KeyBOSTokenID, uint32(1)))
	must(m.AddKV(KeyChatTemplate, "{{ x }}"))
	half := make([]byte, 4*4*2)
	for i := range 16 {
		binary.LittleEndian.PutUint16(half[2*i:], Float32ToFloat16(float32(i)/8))
	}
	must(m.AddTensor("token_embd.weight", TensorTypeF16, []uint64{4, 4}, half))
	must(m.AddTensor("output_norm.weight", TensorTypeF32, []uint64{4}, f32bytes(1, 1, 1, 1)))
	model := write(&m)
	seeds["model"] = model

	// Every quantized type the package dequantizes, with alignment 64.
	var q Builder
	must(q.AddKV(KeyAlignment, uint32(64)))
	must(q.AddKV(KeyArchitecture, "llama"))
	q4 := append([]byte{0x00, 0x34}, bytes.Repeat([]byte{0x5a}, 16)...)
	must(q.AddTensor("q4_0", TensorTypeQ4_0, []uint64{32, 2}, append(q4, q4...)))
	q8 := append([]byte{0x00, 0x38}, bytes.Repeat([]byte{0x81}, 32)...)
	must(q.AddTensor("q8_0", TensorTypeQ8_0, []uint64{32}, q8))
	q4k := append([]byte{0x00, 0x3c, 0x00, 0x38}, q4KScales...)
	q4k = append(q4k, bytes.Repeat([]byte{0xc4}, 128)...)
	must(q.AddTensor("q4_k", TensorTypeQ4_K, []uint64{256}, q4k))
	q6k := append(bytes.Repeat([]byte{0x21}, 192), []byte{1, 0xff, 2, 0xfe, 3, 0xfd, 4, 0xfc, 5, 0xfb, 6, 0xfa, 7, 0xf9, 8, 0xf8, 0x00, 0x38}...)
	must(q.AddTensor("q6_k", TensorTypeQ6_K, []uint64{256}, q6k))
	must(q.AddTensor("bf16", TensorTypeBF16, []uint64{2, 1, 1, 1}, []byte{0x80, 0x3f, 0x00, 0xc0}))
	must(q.AddTensor("q5_k", TensorTypeQ5_K, []uint64{256}, make([]byte, 176)))
	seeds["quantized"] = write(&q)

	// Every metadata value type, nested arrays included, and no tensors.
	var v Builder
	for _, kv := range []struct {
		k string
		x any
	}{
		{"u8", uint8(1)}, {"i8", int8(-1)}, {"u16", uint16(2)}, {"i16", int16(-2)},
		{"u32", uint32(3)}, {"i32", int32(-3)}, {"f32", float32(0.5)}, {"bool", true},
		{"str", "s"}, {"u64", uint64(4)}, {"i64", int64(-4)}, {"f64", 0.25},
		{"strs", []string{"a", "bc"}}, {"bools", []bool{true}}, {"f64s", []float64{1}},
		{"nested", []Value{{[]int8{1, 2}}, {[]Value{{[]string{"x"}}}}}},
	} {
		must(v.AddKV(kv.k, kv.x))
	}
	seeds["values"] = write(&v)

	// Version 2, and an empty file of version 3.
	v2 := bytes.Clone(model)
	v2[4] = 2
	seeds["version2"] = v2
	seeds["empty"] = write(&Builder{})

	// Truncations: inside the header, the metadata, the tensor infos and
	// the data.
	for _, n := range []int{3, 20, 100, 400, len(model) - 40} {
		seeds[fmt.Sprintf("model-truncated-%d", n)] = model[:n]
	}
	// Without the padding after the last tensor the data is still within
	// the file, which is all llama.cpp's model loader checks.
	seeds["model-without-final-padding"] = model[:len(model)-1]
	// Mutations: huge counts, a huge string length, a bad type, a bad
	// version, a misaligned tensor offset.
	mutate := func(name string, off int, b ...byte) {
		c := bytes.Clone(model)
		copy(c[off:], b)
		seeds[name] = c
	}
	mutate("model-huge-tensor-count", 8, 0, 0, 0, 0, 0, 0, 0, 0x10)
	mutate("model-huge-kv-count", 16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
	mutate("model-huge-key-length", 24, 0, 0, 0, 0, 0, 1, 0, 0)
	mutate("model-bad-value-type", 24+8+len(KeyArchitecture), 42)
	mutate("model-big-endian", 4, 0, 0, 0, 3)
	mutate("model-bad-magic", 0, 'G', 'G', 'M', 'L')
	last := bytes.LastIndex(model, []byte("output_norm.weight")) + len("output_norm.weight") + 4 + 8 + 4
	mutate("model-misaligned-offset", last, 1)
	return seeds
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestFuzzCorpus checks that the committed seed corpus matches
// seedFiles; run with -update-corpus to rewrite it. Other files in the
// directory (crashers kept as regression cases) are left alone.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzRead")
	for _, name := range sortedKeys(seedFiles()) {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seedFiles()[name])
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

// TestSeedsParse checks that the valid seeds parse and the broken ones
// fail, so the corpus covers both paths.
func TestSeedsParse(t *testing.T) {
	for name, data := range seedFiles() {
		_, err := NewFile(bytes.NewReader(data))
		switch name {
		case "model", "quantized", "values", "version2", "empty", "model-without-final-padding":
			assert.NoError(t, err, name)
		default:
			assert.Error(t, err, name)
		}
	}
}
