// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// build writes a file from (key, value) pairs and tensors of zeros.
func build(t *testing.T, kvs []any, tensors ...TensorInfo) *File {
	t.Helper()
	var b Builder
	for i := 0; i+1 < len(kvs); i += 2 {
		require.NoError(t, b.AddKV(kvs[i].(string), kvs[i+1]))
	}
	for _, ti := range tensors {
		ti.Offset = 0
		size := (&ti).Size()
		require.NoError(t, b.AddTensor(ti.Name, ti.Type, ti.Dims, make([]byte, size)))
	}
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(t, err)
	f, err := NewFile(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	return f
}

func TestAccessors(t *testing.T) {
	f := build(t, []any{
		KeyArchitecture, "qwen2",
		KeyName, "Qwen2.5 3B",
		KeyFileType, uint32(15),
		"qwen2.context_length", uint64(32768), // the spec's uint64
		"qwen2.embedding_length", int32(2048), // signed
		"qwen2.block_count", int64(36),
		"qwen2.feed_forward_length", []uint32{11008, 13824, 11008}, // per layer
		"qwen2.attention.head_count", uint32(16),
		"qwen2.attention.head_count_kv", []int32{2, 2},
		"qwen2.rope.dimension_count", uint32(128),
		"qwen2.rope.freq_base", float32(1e6),
		"qwen2.attention.layer_norm_rms_epsilon", float64(1e-6),
		KeyTokenizerModel, "gpt2",
		KeyTokens, []string{"a", "b", "c"},
		KeyBOSTokenID, uint32(1),
		KeyEOSTokenID, uint32(2),
		KeyUNKTokenID, int32(0),
		KeyChatTemplate, "{{ messages }}",
	})

	str := func(s string, ok bool) any { return []any{s, ok} }
	u := func(n uint64, ok bool) any { return []any{n, ok} }
	fl := func(x float64, ok bool) any { return []any{x, ok} }
	ft := func(x FileType, ok bool) any { return []any{x, ok} }
	tests := []struct {
		name      string
		got, want any
	}{
		{"Architecture", str(f.Architecture()), []any{"qwen2", true}},
		{"Name", str(f.Name()), []any{"Qwen2.5 3B", true}},
		{"FileType", ft(f.FileType()), []any{FileTypeMostlyQ4_K_M, true}},
		{"ContextLength", u(f.ContextLength()), []any{uint64(32768), true}},
		{"EmbeddingLength", u(f.EmbeddingLength()), []any{uint64(2048), true}},
		{"BlockCount", u(f.BlockCount()), []any{uint64(36), true}},
		{"FeedForwardLength", u(f.FeedForwardLength()), []any{uint64(13824), true}},
		{"HeadCount", u(f.HeadCount()), []any{uint64(16), true}},
		{"HeadCountKV", u(f.HeadCountKV()), []any{uint64(2), true}},
		{"RopeDimensionCount", u(f.RopeDimensionCount()), []any{uint64(128), true}},
		{"RopeFreqBase", fl(f.RopeFreqBase()), []any{1e6, true}},
		{"LayerNormRMSEpsilon", fl(f.LayerNormRMSEpsilon()), []any{1e-6, true}},
		{"TokenizerModel", str(f.TokenizerModel()), []any{"gpt2", true}},
		{"VocabSize", u(f.VocabSize()), []any{uint64(3), true}},
		{"BOSTokenID", u(f.BOSTokenID()), []any{uint64(1), true}},
		{"EOSTokenID", u(f.EOSTokenID()), []any{uint64(2), true}},
		{"UNKTokenID", u(f.UNKTokenID()), []any{uint64(0), true}},
		{"ChatTemplate", str(f.ChatTemplate()), []any{"{{ messages }}", true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got)
		})
	}
	tokens, ok := f.Tokens()
	assert.True(t, ok)
	assert.Equal(t, []string{"a", "b", "c"}, tokens)
	tokens[0] = "changed"
	again, _ := f.Tokens()
	assert.Equal(t, "a", again[0], "Tokens returns a copy")
}

func TestAccessorsMissing(t *testing.T) {
	f := build(t, []any{
		"llama.block_count", "two", // wrong type
		"llama.context_length", int32(-1), // negative
	})
	// Without general.architecture no <arch>.* key is found.
	_, ok := f.BlockCount()
	assert.False(t, ok)

	f = build(t, []any{
		KeyArchitecture, "llama",
		"llama.block_count", "two",
		"llama.context_length", int32(-1),
		"llama.attention.head_count", []uint32{},
		"llama.rope.freq_base", uint32(10000),
		KeyFileType, uint64(1 << 40),
		KeyTokens, []int32{1, 2},
	})
	for name, fn := range map[string]func() (uint64, bool){
		"BlockCount (string)":       f.BlockCount,
		"ContextLength (negative)":  f.ContextLength,
		"HeadCount (empty array)":   f.HeadCount,
		"EmbeddingLength (missing)": f.EmbeddingLength,
		"VocabSize (not strings)":   f.VocabSize,
		"BOSTokenID (missing)":      f.BOSTokenID,
	} {
		n, ok := fn()
		assert.False(t, ok, name)
		assert.Zero(t, n, name)
	}
	_, ok = f.RopeFreqBase()
	assert.False(t, ok, "an integer is not a float")
	_, ok = f.FileType()
	assert.False(t, ok, "file type out of uint32 range")
	_, ok = f.Tokens()
	assert.False(t, ok)
	_, ok = f.Name()
	assert.False(t, ok)
	_, ok = f.KV("nope")
	assert.False(t, ok)
}

func TestVocabSizeFallback(t *testing.T) {
	f := build(t, []any{KeyArchitecture, "llama", "llama.vocab_size", uint32(32000)})
	n, ok := f.VocabSize()
	assert.True(t, ok)
	assert.Equal(t, uint64(32000), n)
}

func TestFacts(t *testing.T) {
	f := build(t, []any{
		KeyArchitecture, "llama",
		KeyName, "tiny",
		KeyFileType, uint32(1),
		"llama.context_length", uint32(2048),
		"llama.embedding_length", uint32(64),
		"llama.block_count", uint32(2),
		"llama.feed_forward_length", uint32(128),
		"llama.attention.head_count", uint32(4),
		KeyTokens, []string{"a", "b"},
	},
		TensorInfo{Name: "token_embd.weight", Type: TensorTypeF16, Dims: []uint64{64, 2}},
		TensorInfo{Name: "output_norm.weight", Type: TensorTypeF32, Dims: []uint64{64}},
	)
	want := ModelFacts{
		Architecture:      "llama",
		Name:              "tiny",
		ParameterCount:    64*2 + 64,
		FileType:          FileTypeMostlyF16,
		FileTypeName:      "MOSTLY_F16",
		Quantization:      "F16",
		ContextLength:     2048,
		BlockCount:        2,
		EmbeddingLength:   64,
		HeadCount:         4,
		FeedForwardLength: 128,
		VocabSize:         2,
		TensorCount:       2,
		TensorBytes:       64*2*2 + 64*4,
		Size:              f.Size,
	}
	assert.Equal(t, want, f.Facts())
}

func TestFactsQuantizationFromTensors(t *testing.T) {
	tests := []struct {
		name    string
		kvs     []any
		tensors []TensorInfo
		want    string
	}{
		{"matrices decide", nil, []TensorInfo{
			{Name: "a", Type: TensorTypeQ4_K, Dims: []uint64{256, 4}},
			{Name: "b", Type: TensorTypeQ6_K, Dims: []uint64{256, 2}},
			{Name: "n", Type: TensorTypeF32, Dims: []uint64{4096}},
		}, "Q4_K"},
		{"vectors only", nil, []TensorInfo{{Name: "n", Type: TensorTypeF32, Dims: []uint64{8}}}, "F32"},
		{"no tensors", nil, nil, ""},
		{"unknown file type", []any{KeyFileType, uint32(999)}, []TensorInfo{{Name: "a", Type: TensorTypeQ8_0, Dims: []uint64{32, 2}}}, "Q8_0"},
		{"file type wins", []any{KeyFileType, uint32(15)}, []TensorInfo{{Name: "a", Type: TensorTypeQ8_0, Dims: []uint64{32, 2}}}, "Q4_K_M"},
		{"tie goes to the lower type", nil, []TensorInfo{
			{Name: "a", Type: TensorTypeQ8_0, Dims: []uint64{32, 2}},
			{Name: "b", Type: TensorTypeF16, Dims: []uint64{32, 2}},
		}, "F16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, build(t, tt.kvs, tt.tensors...).Facts().Quantization)
		})
	}
}

func TestTypeNames(t *testing.T) {
	assert.Equal(t, "uint32", ValueTypeUint32.String())
	assert.Equal(t, "ValueType(13)", ValueType(13).String())
	assert.Equal(t, "Q4_K", TensorTypeQ4_K.String())
	assert.Equal(t, "BF16", TensorTypeBF16.String())
	assert.Equal(t, "MXFP4", TensorTypeMXFP4.String())
	assert.Equal(t, "TensorType(4)", TensorType(4).String())
	assert.False(t, TensorType(31).Known())
	assert.Equal(t, 0, TensorType(1000).BlockSize())
	assert.Equal(t, "MOSTLY_Q4_K_M", FileType(15).String())
	assert.Equal(t, "Q4_K_M", FileType(15).Quantization())
	assert.Equal(t, "F32", FileTypeAllF32.Quantization())
	assert.Equal(t, "MXFP4_MOE", FileTypeMostlyMXFP4MoE.Quantization())
	assert.Equal(t, "FileType(5)", FileType(5).String())
	assert.Equal(t, "", FileType(5).Quantization())
	assert.False(t, FileType(5).Known())

	// Block sizes and bytes per block from ggml-common.h.
	for typ, want := range map[TensorType][2]int{
		TensorTypeF32: {1, 4}, TensorTypeF16: {1, 2}, TensorTypeBF16: {1, 2},
		TensorTypeQ4_0: {32, 18}, TensorTypeQ8_0: {32, 34},
		TensorTypeQ4_K: {256, 144}, TensorTypeQ6_K: {256, 210}, TensorTypeQ2_K: {256, 84},
		TensorTypeIQ4_XS: {256, 136}, TensorTypeTQ1_0: {256, 54}, TensorTypeMXFP4: {32, 17},
	} {
		assert.Equal(t, want, [2]int{typ.BlockSize(), typ.BlockBytes()}, typ.String())
	}
}

func TestValue(t *testing.T) {
	_, ok := mustValue(t, int8(-1)).Uint()
	assert.False(t, ok, "negative is not a uint")
	n, ok := mustValue(t, uint64(math.MaxUint64)).Int()
	assert.False(t, ok)
	assert.Equal(t, int64(-1), n)
	x, ok := mustValue(t, float32(0.5)).Float()
	assert.True(t, ok)
	assert.Equal(t, 0.5, x)
	_, ok = mustValue(t, "s").Float()
	assert.False(t, ok)
	b, ok := mustValue(t, true).Bool()
	assert.True(t, ok && b)
	_, ok = mustValue(t, uint8(1)).Bool()
	assert.False(t, ok)
	_, ok = mustValue(t, uint8(1)).Str()
	assert.False(t, ok)

	arr := mustValue(t, []int16{-1, 2})
	assert.Equal(t, ValueTypeArray, arr.Type())
	assert.Equal(t, ValueTypeInt16, arr.ElemType())
	assert.Equal(t, 2, arr.Len())
	ints, ok := arr.Ints()
	assert.True(t, ok)
	assert.Equal(t, []int64{-1, 2}, ints)
	_, ok = arr.Uints()
	assert.False(t, ok)
	e, ok := arr.Index(1)
	assert.True(t, ok)
	assert.Equal(t, mustValue(t, int16(2)), e)
	_, ok = arr.Index(2)
	assert.False(t, ok)
	_, ok = arr.Floats()
	assert.False(t, ok)
	fs, ok := mustValue(t, []float32{0.5}).Floats()
	assert.True(t, ok)
	assert.Equal(t, []float64{0.5}, fs)
	_, ok = mustValue(t, []string{"a"}).Ints()
	assert.False(t, ok)

	var zero Value
	assert.False(t, zero.IsValid())
	assert.Equal(t, "ValueType(4294967295)", zero.Type().String())
	assert.Equal(t, "<invalid>", zero.String())
	assert.Nil(t, zero.Any())
	assert.Equal(t, 0, mustValue(t, uint8(3)).Len())
}

func TestValueString(t *testing.T) {
	long := strings.Repeat("ab", 40)
	tests := []struct {
		x    any
		want string
	}{
		{uint32(7), "7"},
		{int64(-7), "-7"},
		{float32(1e-5), "1e-05"},
		{float64(0.1), "0.1"},
		{true, "true"},
		{"llama", `"llama"`},
		{"a\nb", `"a\nb"`},
		{long, `"` + long[:64] + `"… (80 bytes)`},
		{[]uint32{1, 2, 3}, "[1, 2, 3]"},
		{[]string{"a", "b"}, `["a", "b"]`},
		{make([]string, 303), "[string × 303]"},
		{make([]float32, 9), "[float32 × 9]"},
		{[]Value{mustValue(t, []int8{1}), mustValue(t, []bool{})}, "[[1], []]"},
		{make([]Value, 0), "[]"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, mustValue(t, tt.x).String())
	}
}
