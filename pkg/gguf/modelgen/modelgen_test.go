// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package modelgen

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

func generate(t *testing.T, s Spec) ([]byte, *gguf.File) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, s))
	f, err := gguf.NewFile(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	return buf.Bytes(), f
}

func TestDeterministic(t *testing.T) {
	a, _ := generate(t, Tiny())
	b, _ := generate(t, Tiny())
	assert.Equal(t, sha256.Sum256(a), sha256.Sum256(b), "same Spec, same bytes")

	z, _ := generate(t, Spec{})
	assert.Equal(t, a, z, "the zero Spec is Tiny()")

	s := Tiny()
	s.Seed = 2
	c, _ := generate(t, s)
	assert.Equal(t, len(a), len(c))
	assert.NotEqual(t, a, c, "another seed, other weights")
}

func TestTiny(t *testing.T) {
	data, f := generate(t, Tiny())
	// n_vocab = 3 special + 256 byte tokens + 16 pieces = 275.
	// token_embd and output: 64·275 each; output_norm: 64;
	// per block: 2 norms of 64, q/k/v/o of 64·64, gate/up/down of 64·128.
	const perBlock = 2*64 + 4*64*64 + 3*64*128
	const params = 2*64*275 + 64 + 2*perBlock
	require.Equal(t, 117440, params)
	require.Equal(t, int64(params), Tiny().parameterCount())
	want := gguf.ModelFacts{
		Architecture:      "llama",
		Name:              "llt-tiny",
		ParameterCount:    params,
		FileType:          gguf.FileTypeAllF32,
		FileTypeName:      "ALL_F32",
		Quantization:      "F32",
		ContextLength:     2048,
		BlockCount:        2,
		EmbeddingLength:   64,
		HeadCount:         4,
		HeadCountKV:       4,
		FeedForwardLength: 128,
		VocabSize:         275,
		TensorCount:       3 + 9*2,
		TensorBytes:       4 * params,
		Size:              int64(len(data)),
	}
	assert.Equal(t, want, f.Facts())
	assert.InDelta(t, 480_000, len(data), 20_000, "about half a megabyte")

	rope, _ := f.RopeDimensionCount()
	assert.Equal(t, uint64(16), rope, "rope dimensions = head dimension")
	eps, _ := f.LayerNormRMSEpsilon()
	assert.InDelta(t, 1e-5, eps, 1e-12)
	base, _ := f.RopeFreqBase()
	assert.Equal(t, 10000.0, base)
	model, _ := f.TokenizerModel()
	assert.Equal(t, "llama", model)
	for key, want := range map[string]uint64{gguf.KeyBOSTokenID: 1, gguf.KeyEOSTokenID: 2, gguf.KeyUNKTokenID: 0} {
		v, ok := f.KV(key)
		require.True(t, ok, key)
		assert.Equal(t, uint32(want), v.Any(), "%s is a uint32", key)
	}
	addBOS, _ := f.KV(gguf.KeyAddBOSToken)
	assert.Equal(t, true, addBOS.Any())
	// Counts are uint32, as llama.cpp checks.
	for _, key := range []string{"llama.context_length", "llama.embedding_length", "llama.block_count",
		"llama.feed_forward_length", "llama.attention.head_count", "llama.attention.head_count_kv",
		"llama.rope.dimension_count", gguf.KeyFileType} {
		v, ok := f.KV(key)
		require.True(t, ok, key)
		assert.Equal(t, gguf.ValueTypeUint32, v.Type(), key)
	}
}

func TestVocabulary(t *testing.T) {
	_, f := generate(t, Tiny())
	tokens, ok := f.Tokens()
	require.True(t, ok)
	require.Len(t, tokens, 275)
	assert.Equal(t, []string{"<unk>", "<s>", "</s>", "<0x00>"}, tokens[:4])
	assert.Equal(t, "<0x0A>", tokens[3+10], "the newline byte token")
	assert.Equal(t, "<0xFF>", tokens[258])
	assert.Equal(t, "▁", tokens[259])
	seen := map[string]bool{}
	for _, tok := range tokens {
		assert.False(t, seen[tok], "duplicate token %q", tok)
		seen[tok] = true
	}
	v, _ := f.KV(gguf.KeyTokenType)
	types := v.Any().([]int32)
	assert.Equal(t, []int32{2, 3, 3, 6}, types[:4])
	assert.Equal(t, int32(6), types[258])
	assert.Equal(t, int32(1), types[259])
	v, _ = f.KV(gguf.KeyScores)
	assert.Equal(t, 275, v.Len())
	// Every piece but single characters can be built by merging two
	// shorter pieces, so SentencePiece can reach it.
	pieceSet := map[string]bool{}
	for _, p := range pieces {
		pieceSet[p] = true
	}
	for _, p := range pieces {
		r := []rune(p)
		if len(r) == 1 {
			continue
		}
		ok := false
		for i := 1; i < len(r); i++ {
			ok = ok || (pieceSet[string(r[:i])] && pieceSet[string(r[i:])])
		}
		assert.True(t, ok, "%q cannot be merged from two pieces", p)
	}
}

// TestTensors checks the names, shapes (ggml order) and types llama.cpp's
// loader expects, for both architectures, with GQA and F16.
func TestTensors(t *testing.T) {
	s := Spec{Arch: "qwen2", EmbeddingLength: 128, BlockCount: 1, HeadCount: 4, HeadCountKV: 2, FeedForwardLength: 96, WeightType: gguf.TensorTypeF16}
	_, f := generate(t, s)
	const vocab = 275
	type tensor struct {
		typ  gguf.TensorType
		dims []uint64
	}
	f16, f32 := gguf.TensorTypeF16, gguf.TensorTypeF32
	want := map[string]tensor{
		"token_embd.weight":        {f16, []uint64{128, vocab}},
		"output_norm.weight":       {f32, []uint64{128}},
		"output.weight":            {f16, []uint64{128, vocab}},
		"blk.0.attn_norm.weight":   {f32, []uint64{128}},
		"blk.0.attn_q.weight":      {f16, []uint64{128, 128}},
		"blk.0.attn_q.bias":        {f32, []uint64{128}},
		"blk.0.attn_k.weight":      {f16, []uint64{128, 64}}, // 2 kv heads × head dim 32
		"blk.0.attn_k.bias":        {f32, []uint64{64}},
		"blk.0.attn_v.weight":      {f16, []uint64{128, 64}},
		"blk.0.attn_v.bias":        {f32, []uint64{64}},
		"blk.0.attn_output.weight": {f16, []uint64{128, 128}},
		"blk.0.ffn_norm.weight":    {f32, []uint64{128}},
		"blk.0.ffn_gate.weight":    {f16, []uint64{128, 96}},
		"blk.0.ffn_up.weight":      {f16, []uint64{128, 96}},
		"blk.0.ffn_down.weight":    {f16, []uint64{96, 128}},
	}
	got := map[string]tensor{}
	var off uint64
	for _, ti := range f.Tensors {
		got[ti.Name] = tensor{ti.Type, ti.Dims}
		assert.Equal(t, off, ti.Offset, "%s: offsets are cumulative, padded to 32", ti.Name)
		off += (uint64(ti.Size()) + 31) / 32 * 32
	}
	assert.Equal(t, want, got)

	facts := f.Facts()
	assert.Equal(t, "qwen2", facts.Architecture)
	assert.Equal(t, "MOSTLY_F16", facts.FileTypeName)
	assert.Equal(t, "F16", facts.Quantization)
	assert.Equal(t, uint64(2), facts.HeadCountKV)
	base, _ := f.RopeFreqBase()
	assert.Equal(t, 1e6, base)
	rope, _ := f.RopeDimensionCount()
	assert.Equal(t, uint64(32), rope)

	norm, err := f.DequantizeRow("blk.0.ffn_norm.weight", 0)
	require.NoError(t, err)
	for _, x := range norm {
		require.Equal(t, float32(1), x)
	}
	emb, err := f.DequantizeRow("token_embd.weight", 274)
	require.NoError(t, err)
	var sum, sumSq float64
	for _, x := range emb {
		sum += float64(x)
		sumSq += float64(x) * float64(x)
	}
	assert.InDelta(t, 0, sum/128, 0.01, "weights are centred on 0")
	assert.InDelta(t, 0.02, math.Sqrt(sumSq/128), 0.008, "weights have a standard deviation of about 0.02")
}

// TestTensorsIndependentOfLayout checks that each tensor's values depend
// only on the seed and its name.
func TestTensorsIndependentOfLayout(t *testing.T) {
	_, a := generate(t, Tiny())
	s := Tiny()
	s.BlockCount = 3
	_, b := generate(t, s)
	ra, err := a.ReadTensor("blk.1.ffn_up.weight")
	require.NoError(t, err)
	rb, err := b.ReadTensor("blk.1.ffn_up.weight")
	require.NoError(t, err)
	assert.Equal(t, ra, rb)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"arch", Spec{Arch: "gpt2"}, `modelgen: Arch "gpt2" is not supported (want "llama" or "qwen2")`},
		{"negative", Spec{BlockCount: -1}, "modelgen: BlockCount -1 must not be negative"},
		{"too many layers", Spec{BlockCount: 513}, "modelgen: BlockCount 513 exceeds the limit of 512"},
		{"huge embedding", Spec{EmbeddingLength: 1 << 21}, "modelgen: EmbeddingLength 2097152 exceeds the limit of 1048576"},
		{"not divisible", Spec{EmbeddingLength: 66, HeadCount: 4}, "modelgen: EmbeddingLength 66 must be divisible by HeadCount 4"},
		{"odd head dim", Spec{EmbeddingLength: 60, HeadCount: 4}, "modelgen: head dimension EmbeddingLength/HeadCount = 15 must be even (rotary embeddings rotate pairs)"},
		{"kv heads do not divide", Spec{HeadCount: 4, HeadCountKV: 3}, "modelgen: HeadCountKV 3 must divide HeadCount 4"},
		{"more kv heads", Spec{HeadCount: 4, HeadCountKV: 8}, "modelgen: HeadCountKV 8 must divide HeadCount 4"},
		{"weight type", Spec{WeightType: gguf.TensorTypeQ5_K}, "modelgen: WeightType Q5_K is not supported (want F32, F16, Q8_0, Q4_K or Q6_K)"},
		{"k-quant embedding", Spec{WeightType: gguf.TensorTypeQ4_K}, "modelgen: EmbeddingLength 64 must be a multiple of 256 for WeightType Q4_K (the row length of the weight matrices)"},
		{"k-quant feed-forward", Spec{EmbeddingLength: 256, FeedForwardLength: 384, WeightType: gguf.TensorTypeQ6_K}, "modelgen: FeedForwardLength 384 must be a multiple of 256 for WeightType Q6_K (the row length of the weight matrices)"},
		{"q8_0 embedding", Spec{EmbeddingLength: 48, HeadCount: 4, WeightType: gguf.TensorTypeQ8_0}, "modelgen: EmbeddingLength 48 must be a multiple of 32 for WeightType Q8_0 (the row length of the weight matrices)"},
		{"negative std", Spec{WeightStd: -1}, "modelgen: WeightStd -1 must be between 0 and 1000"},
		{"huge std", Spec{WeightStd: 1e4}, "modelgen: WeightStd 10000 must be between 0 and 1000"},
		{"negative context", Spec{ContextLength: -5}, "modelgen: ContextLength -5 must not be negative"},
		// 4 × (32 × (2·16384 + 4·16384² + 3·16384·65536) + 2·16384·275 + 16384) bytes.
		{"too large", Spec{EmbeddingLength: 1 << 14, FeedForwardLength: 1 << 16, BlockCount: 32}, "modelgen: the weights would take 549796118528 bytes, the limit is 68719476736 (64 GiB)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.EqualError(t, tt.spec.Validate(), tt.want)
			assert.EqualError(t, Write(&bytes.Buffer{}, tt.spec), tt.want)
		})
	}
	assert.NoError(t, Tiny().Validate())
	assert.NoError(t, Spec{}.Validate())
	assert.NoError(t, Spec{Arch: "qwen2", EmbeddingLength: 896, HeadCount: 14, HeadCountKV: 2, FeedForwardLength: 4864}.Validate())
	assert.NoError(t, Spec{EmbeddingLength: 96, HeadCount: 4, FeedForwardLength: 160, WeightType: gguf.TensorTypeQ8_0}.Validate())
	assert.NoError(t, Spec{EmbeddingLength: 512, HeadCount: 8, FeedForwardLength: 1280, WeightType: gguf.TensorTypeQ4_K}.Validate())
}

// TestGolden pins the bytes of F32 and F16 models, which must not change
// as the generator grows.
func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		spec Spec
		sum  string
	}{
		{Tiny(), "df042f90e8b8bdabe3b81141dfbd553b5b22205aa5debac2f3f935913f84b754"},
		{Spec{WeightStd: 0.02}, "df042f90e8b8bdabe3b81141dfbd553b5b22205aa5debac2f3f935913f84b754"},
		{Spec{Arch: "qwen2", EmbeddingLength: 128, BlockCount: 1, HeadCount: 4, HeadCountKV: 2, FeedForwardLength: 96, WeightType: gguf.TensorTypeF16},
			"947e444c4d0e3ea552ee80441c4e63daa01f6984d2da06c693c01d78315ebaa8"},
	} {
		data, _ := generate(t, tt.spec)
		assert.Equal(t, tt.sum, fmt.Sprintf("%x", sha256.Sum256(data)), "%+v", tt.spec)
	}
}

// TestQuantized checks the types, file types and values of quantized
// models: every matrix has the weight type, norms and biases stay F32, and
// the decoded weights are the F32 model's within the quantizer's error.
func TestQuantized(t *testing.T) {
	base := Spec{Arch: "qwen2", EmbeddingLength: 256, BlockCount: 1, HeadCount: 4, HeadCountKV: 2, FeedForwardLength: 512}
	_, ref := generate(t, base)
	for _, tt := range []struct {
		typ   gguf.TensorType
		ftype gguf.FileType
		tol   float64 // largest error of a weight of sd 0.02 (|w| < 0.1)
	}{
		{gguf.TensorTypeQ8_0, gguf.FileTypeMostlyQ8_0, 0.51 * 0.1 / 127},
		{gguf.TensorTypeQ4_K, gguf.FileTypeMostlyQ4_K_S, 0.55 * 0.2 / 15},
		{gguf.TensorTypeQ6_K, gguf.FileTypeMostlyQ6_K, 0.51 * 0.1 / 31},
	} {
		t.Run(tt.typ.String(), func(t *testing.T) {
			s := base
			s.WeightType = tt.typ
			data, f := generate(t, s)
			facts := f.Facts()
			assert.Equal(t, tt.ftype, facts.FileType)
			assert.Equal(t, base.withDefaults().parameterCount(), int64(facts.ParameterCount))
			assert.Equal(t, int64(len(data)), facts.Size)
			for _, ti := range f.Tensors {
				want := tt.typ
				if len(ti.Dims) == 1 {
					want = gguf.TensorTypeF32
				}
				assert.Equal(t, want, ti.Type, ti.Name)
			}
			for _, name := range []string{"token_embd.weight", "blk.0.attn_k.weight", "blk.0.ffn_down.weight", "output.weight"} {
				ti, _ := f.Tensor(name)
				for _, row := range []int{0, int(ti.Rows()) - 1} {
					got, err := f.DequantizeRow(name, row)
					require.NoError(t, err)
					want, err := ref.DequantizeRow(name, row)
					require.NoError(t, err)
					for i := range want {
						require.InDelta(t, want[i], got[i], tt.tol, "%s row %d value %d", name, row, i)
					}
				}
			}
			bias, err := f.DequantizeRow("blk.0.attn_q.bias", 0)
			require.NoError(t, err)
			refBias, _ := ref.DequantizeRow("blk.0.attn_q.bias", 0)
			assert.Equal(t, refBias, bias, "biases are F32, as in the F32 model")
		})
	}
}

func TestWeightStd(t *testing.T) {
	s := Tiny()
	s.WeightStd = 0.5
	_, f := generate(t, s)
	_, ref := generate(t, Tiny())
	got, err := f.DequantizeRow("blk.1.ffn_up.weight", 3)
	require.NoError(t, err)
	want, err := ref.DequantizeRow("blk.1.ffn_up.weight", 3)
	require.NoError(t, err)
	for i := range want {
		require.InDelta(t, want[i]*25, got[i], 1e-6, "the same draws, scaled by 0.5/0.02")
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	require.NoError(t, WriteFile(path, Tiny()))
	f, err := gguf.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, f.Close()) })
	assert.Equal(t, uint64(2), f.Facts().BlockCount)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

	// A bad Spec leaves no file behind, and an existing file untouched.
	require.Error(t, WriteFile(path, Spec{Arch: "bad"}))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1)

	// An unwritable directory fails cleanly.
	err = WriteFile(filepath.Join(dir, "missing", "m.gguf"), Tiny())
	assert.True(t, errors.Is(err, os.ErrNotExist), "%v", err)
}

type failAfter struct{ n int }

func (w *failAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	err := Write(&failAfter{n: 100_000}, Tiny())
	assert.ErrorContains(t, err, "disk full")
}
