// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package embed

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

// testModel writes a modelgen model with F16 or F32 weights.
func testModel(t *testing.T, f16 bool) string {
	t.Helper()
	spec := modelgen.Tiny()
	if f16 {
		spec.WeightType = gguf.TensorTypeF16
	}
	return llamatest.WriteModel(t, spec)
}

func openTestEmbeddings(t *testing.T, path string) *TokenEmbeddings {
	t.Helper()
	e, err := OpenTokenEmbeddings(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// handMean averages DequantizeRow rows of path's token_embd.weight.
func handMean(t *testing.T, path string, ids []int32) []float32 {
	t.Helper()
	f, err := gguf.Open(path)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	var sum []float64
	for _, id := range ids {
		row, err := f.DequantizeRow(TokenEmbeddingTensor, int(id))
		require.NoError(t, err)
		if sum == nil {
			sum = make([]float64, len(row))
		}
		for i, x := range row {
			sum[i] += float64(x)
		}
	}
	out := make([]float32, len(sum))
	for i := range sum {
		out[i] = float32(sum[i] / float64(len(ids)))
	}
	return out
}

func TestTokenEmbeddingsMean(t *testing.T) {
	for _, f16 := range []bool{false, true} {
		name := map[bool]string{false: "F32", true: "F16"}[f16]
		t.Run(name, func(t *testing.T) {
			path := testModel(t, f16)
			e := openTestEmbeddings(t, path)
			assert.Equal(t, modelgen.Tiny().EmbeddingLength, e.Dim())
			assert.Equal(t, 275, e.Vocab())
			for _, ids := range [][]int32{
				{7},
				{1, 2, 3},
				{274, 0, 274, 100, 100, 100, 5},
			} {
				got, err := e.Mean(ids)
				require.NoError(t, err)
				want := handMean(t, path, ids)
				require.Len(t, got, len(want))
				for i := range want {
					assert.InDelta(t, want[i], got[i], 1e-7, "ids %v, value %d", ids, i)
				}
			}
			row, err := e.Row(100)
			require.NoError(t, err)
			assert.Equal(t, handMean(t, path, []int32{100}), row)
			row[0] = 99 // a copy: the cache is untouched
			again, _ := e.Row(100)
			assert.NotEqual(t, float32(99), again[0])
			if f16 { // F16 rows are really F16: ~3 significant digits
				f32 := openTestEmbeddings(t, testModel(t, false))
				a, _ := e.Row(100)
				b, _ := f32.Row(100)
				assert.NotEqual(t, a, b)
				assert.InDeltaSlice(t, b, a, 1e-4)
			}
		})
	}
}

func TestTokenEmbeddingsBadTokens(t *testing.T) {
	e := openTestEmbeddings(t, testModel(t, false))
	for _, ids := range [][]int32{{-1}, {275}, {1, 2, 1 << 30}} {
		_, err := e.Mean(ids)
		assert.ErrorContains(t, err, "out of range [0, 275)", "%v", ids)
	}
	_, err := e.Mean(nil)
	assert.ErrorContains(t, err, "no tokens")
	_, err = e.Row(-5)
	assert.Error(t, err)
}

func TestTokenEmbeddingsUsesFirstTokensOnly(t *testing.T) {
	path := testModel(t, false)
	e := openTestEmbeddings(t, path)
	ids := make([]int32, MaxMeanTokens+100)
	for i := range ids {
		ids[i] = int32(i % 200)
	}
	for i := MaxMeanTokens; i < len(ids); i++ {
		ids[i] = 270 // different tokens past the limit change nothing
	}
	got, err := e.Mean(ids)
	require.NoError(t, err)
	want, err := e.Mean(ids[:MaxMeanTokens])
	require.NoError(t, err)
	assert.Equal(t, want, got)
	ids[len(ids)-1] = -1 // ... and are not even checked
	_, err = e.Mean(ids)
	assert.NoError(t, err)
}

func TestTokenEmbeddingsCacheBounded(t *testing.T) {
	path := testModel(t, false)
	const rows = 10
	e, err := OpenTokenEmbeddingsCache(path, rows*64*4)
	require.NoError(t, err)
	defer func() { _ = e.Close() }()
	ids := make([]int32, 200)
	for i := range ids {
		ids[i] = int32(i)
	}
	got, err := e.Mean(ids)
	require.NoError(t, err)
	assert.Equal(t, rows, e.cachedRows())
	want := handMean(t, path, ids)
	for i := range want {
		assert.InDelta(t, want[i], got[i], 1e-7)
	}
	tiny, err := OpenTokenEmbeddingsCache(path, 1)
	require.NoError(t, err)
	defer func() { _ = tiny.Close() }()
	_, err = tiny.Mean(ids)
	require.NoError(t, err)
	assert.Equal(t, 1, tiny.cachedRows(), "at least one row")
}

func TestTokenEmbeddingsConcurrent(t *testing.T) {
	path := testModel(t, true)
	e, err := OpenTokenEmbeddingsCache(path, 50*64*4)
	require.NoError(t, err)
	defer func() { _ = e.Close() }()
	want := handMean(t, path, []int32{9, 99, 199})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				ids := []int32{int32((i*7 + g) % 275), int32((i * 13) % 275), int32(g)}
				if _, err := e.Mean(ids); err != nil {
					t.Error(err)
				}
				got, err := e.Mean([]int32{9, 99, 199})
				if err != nil || !assert.InDeltaSlice(t, want, got, 1e-7) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// writeGGUF writes a GGUF file holding the given tensors.
func writeGGUF(t *testing.T, add func(b *gguf.Builder) error) string {
	t.Helper()
	b := &gguf.Builder{}
	require.NoError(t, b.AddKV(gguf.KeyArchitecture, "llama"))
	require.NoError(t, add(b))
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "m.gguf")
	require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o600))
	return p
}

func TestOpenTokenEmbeddingsErrors(t *testing.T) {
	dir := t.TempDir()
	notGGUF := filepath.Join(dir, "model.gguf")
	require.NoError(t, os.WriteFile(notGGUF, []byte("this is not a model at all, just text"), 0o600))
	_, err := OpenTokenEmbeddings(notGGUF)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad magic number")
	assert.Contains(t, err.Error(), notGGUF)

	_, err = OpenTokenEmbeddings(filepath.Join(dir, "missing.gguf"))
	assert.ErrorIs(t, err, os.ErrNotExist)

	empty := filepath.Join(dir, "empty.gguf")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	_, err = OpenTokenEmbeddings(empty)
	assert.Error(t, err)

	noEmbd := writeGGUF(t, func(b *gguf.Builder) error {
		return b.AddTensor("output.weight", gguf.TensorTypeF32, []uint64{4, 2}, make([]byte, 32))
	})
	_, err = OpenTokenEmbeddings(noEmbd)
	assert.ErrorIs(t, err, ErrNoTokenEmbeddings)

	q41 := writeGGUF(t, func(b *gguf.Builder) error { // Q4_1: 32 values in 20 bytes
		return b.AddTensor(TokenEmbeddingTensor, gguf.TensorTypeQ4_1, []uint64{32, 3}, make([]byte, 60))
	})
	_, err = OpenTokenEmbeddings(q41)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Q4_1")
	assert.Contains(t, err.Error(), "cannot be dequantized")

	oneDim := writeGGUF(t, func(b *gguf.Builder) error {
		return b.AddTensor(TokenEmbeddingTensor, gguf.TensorTypeF32, []uint64{8}, make([]byte, 32))
	})
	_, err = OpenTokenEmbeddings(oneDim)
	assert.ErrorContains(t, err, "want [n_embd n_vocab]")

	// A truncated file fails when opened, not on the first span.
	full, err := os.ReadFile(testModel(t, false))
	require.NoError(t, err)
	cut := filepath.Join(dir, "cut.gguf")
	require.NoError(t, os.WriteFile(cut, full[:len(full)/2], 0o600))
	_, err = OpenTokenEmbeddings(cut)
	assert.Error(t, err)
}

func TestTokenEmbeddingsQ8_0(t *testing.T) {
	// One Q8_0 block per row: scale 0.5 (F16 0x3800), values -16..15.
	const dim, vocab = 32, 4
	data := make([]byte, 0, vocab*34)
	for r := range vocab {
		data = append(data, 0x00, 0x38)
		for i := range dim {
			data = append(data, byte(int8(i-16+r)))
		}
	}
	p := writeGGUF(t, func(b *gguf.Builder) error {
		return b.AddTensor(TokenEmbeddingTensor, gguf.TensorTypeQ8_0, []uint64{dim, vocab}, data)
	})
	e := openTestEmbeddings(t, p)
	got, err := e.Mean([]int32{0, 2})
	require.NoError(t, err)
	for i := range dim {
		assert.InDelta(t, 0.5*float64(i-16+1), float64(got[i]), 1e-6)
	}
}
