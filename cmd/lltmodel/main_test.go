// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// lltmodel runs the command line and returns its exit status and output.
func lltmodel(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestGenerateThenInspect(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	code, out, errOut := lltmodel(t, "generate", "-o", path)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, path+"\n", out)

	code, out, errOut = lltmodel(t, "inspect", path)
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, errOut)
	for _, line := range []string{
		"file: " + path,
		"version: 3",
		"architecture: llama",
		"name: llt-tiny",
		"file_type: 0 (ALL_F32)",
		"quantization: F32",
		"parameter_count: 117440",
		"context_length: 2048",
		"block_count: 2",
		"embedding_length: 64",
		"head_count: 4",
		"head_count_kv: 4",
		"feed_forward_length: 128",
		"vocab_size: 275",
		"tensor_count: 21",
		"tensor_bytes: 469760",
		"alignment: 32",
	} {
		assert.Contains(t, "\n"+out, "\n"+line+"\n", "missing line %q", line)
	}
	assert.Regexp(t, `(?m)^  tokenizer\.ggml\.tokens +\[\]string +\[string × 275\]$`, out)
	assert.Regexp(t, `(?m)^  general\.architecture +string +"llama"$`, out)
	assert.Contains(t, out, "\ntensors (21):\n")
	assert.Regexp(t, `(?m)^  token_embd\.weight +F32 +64×275 +0 +70400$`, out)
	assert.Regexp(t, `(?m)^  blk\.1\.ffn_down\.weight +F32 +128×64 +\d+ +32768$`, out)

	code, out, _ = lltmodel(t, "inspect", "-tensors=false", path)
	require.Equal(t, 0, code)
	assert.NotContains(t, out, "tensors (")
}

func TestGenerateQuantized(t *testing.T) {
	for _, tt := range []struct {
		args  []string
		typ   string
		ftype string
	}{
		{[]string{"-type", "q8_0"}, "Q8_0", "file_type: 7 (MOSTLY_Q8_0)"},
		{[]string{"-type", "Q4_K", "-embd", "256", "-ff", "512"}, "Q4_K", "file_type: 14 (MOSTLY_Q4_K_S)"},
		{[]string{"-type", "q6_k", "-embd", "256", "-ff", "256", "-arch", "qwen2"}, "Q6_K", "file_type: 18 (MOSTLY_Q6_K)"},
	} {
		t.Run(tt.typ, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.gguf")
			code, _, errOut := lltmodel(t, append([]string{"generate", "-o", path}, tt.args...)...)
			require.Equal(t, 0, code, errOut)
			code, out, errOut := lltmodel(t, "inspect", path)
			require.Equal(t, 0, code, errOut)
			assert.Contains(t, out, "\n"+tt.ftype+"\n")
			assert.Regexp(t, `(?m)^  blk\.0\.ffn_down\.weight +`+tt.typ+` `, out)
			assert.Regexp(t, `(?m)^  token_embd\.weight +`+tt.typ+` `, out)
			assert.Regexp(t, `(?m)^  blk\.0\.ffn_norm\.weight +F32 `, out)
		})
	}
}

func TestInspectJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.gguf")
	code, _, errOut := lltmodel(t, "generate", "-o", path, "-arch", "qwen2", "-embd", "128", "-heads", "4",
		"-heads-kv", "2", "-blocks", "3", "-ff", "96", "-ctx", "4096", "-type", "f16", "-seed", "7", "-name", "q")
	require.Equal(t, 0, code, errOut)

	code, out, errOut := lltmodel(t, "inspect", "-json", path)
	require.Equal(t, 0, code, errOut)
	var doc struct {
		File              string `json:"file"`
		Architecture      string `json:"architecture"`
		Name              string `json:"name"`
		BlockCount        int    `json:"block_count"`
		EmbeddingLength   int    `json:"embedding_length"`
		HeadCount         int    `json:"head_count"`
		HeadCountKV       int    `json:"head_count_kv"`
		FeedForwardLength int    `json:"feed_forward_length"`
		ContextLength     int    `json:"context_length"`
		VocabSize         int    `json:"vocab_size"`
		TensorCount       int    `json:"tensor_count"`
		ParameterCount    int    `json:"parameter_count"`
		FileType          int    `json:"file_type"`
		FileTypeName      string `json:"file_type_name"`
		Quantization      string `json:"quantization"`
		Size              int64  `json:"size"`
		Metadata          []struct {
			Key      string `json:"key"`
			Type     string `json:"type"`
			ElemType string `json:"elem_type"`
			Len      *int   `json:"len"`
			Value    any    `json:"value"`
		} `json:"metadata"`
		Tensors []struct {
			Name string   `json:"name"`
			Type string   `json:"type"`
			Dims []uint64 `json:"dims"`
			Size int64    `json:"size"`
		} `json:"tensors"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	assert.Equal(t, path, doc.File)
	assert.Equal(t, "qwen2", doc.Architecture)
	assert.Equal(t, "q", doc.Name)
	assert.Equal(t, 3, doc.BlockCount)
	assert.Equal(t, 128, doc.EmbeddingLength)
	assert.Equal(t, 4, doc.HeadCount)
	assert.Equal(t, 2, doc.HeadCountKV)
	assert.Equal(t, 96, doc.FeedForwardLength)
	assert.Equal(t, 4096, doc.ContextLength)
	assert.Equal(t, 275, doc.VocabSize)
	assert.Equal(t, 3+12*3, doc.TensorCount)
	assert.Len(t, doc.Tensors, doc.TensorCount)
	assert.Equal(t, 1, doc.FileType)
	assert.Equal(t, "MOSTLY_F16", doc.FileTypeName)
	assert.Equal(t, "F16", doc.Quantization)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fi.Size(), doc.Size)

	meta := map[string]int{}
	for i, m := range doc.Metadata {
		meta[m.Key] = i
	}
	tokens := doc.Metadata[meta["tokenizer.ggml.tokens"]]
	assert.Equal(t, "array", tokens.Type)
	assert.Equal(t, "string", tokens.ElemType)
	require.NotNil(t, tokens.Len)
	assert.Equal(t, 275, *tokens.Len)
	assert.Nil(t, tokens.Value, "long arrays are summarised")
	assert.Equal(t, "qwen2", doc.Metadata[meta["general.architecture"]].Value)
	assert.Equal(t, float64(1e6), doc.Metadata[meta["qwen2.rope.freq_base"]].Value)

	var params int
	for _, tn := range doc.Tensors {
		if tn.Name == "blk.2.attn_k.bias" {
			assert.Equal(t, "F32", tn.Type)
			assert.Equal(t, []uint64{64}, tn.Dims)
		}
		n := 1
		for _, d := range tn.Dims {
			n *= int(d)
		}
		params += n
	}
	assert.Equal(t, params, doc.ParameterCount)
}

func TestInspectJSONSpecialValues(t *testing.T) {
	// NaN and infinities have no JSON form; short arrays are printed,
	// nested ones too.
	var b gguf.Builder
	require.NoError(t, b.AddKV("nan", float32(math.NaN())))
	require.NoError(t, b.AddKV("nested", []gguf.Value{mustValue(t, []float64{1, math.Inf(1)})}))
	require.NoError(t, b.AddKV("bytes", []uint8{1, 2}))
	path := filepath.Join(t.TempDir(), "odd.gguf")
	fh, err := os.Create(path)
	require.NoError(t, err)
	_, err = b.WriteTo(fh)
	require.NoError(t, err)
	require.NoError(t, fh.Close())

	code, out, errOut := lltmodel(t, "inspect", "-json", path)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"value": "NaN"`)
	assert.Contains(t, out, `"+Inf"`)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	meta := doc["metadata"].([]any)
	assert.Equal(t, []any{float64(1), float64(2)}, meta[2].(map[string]any)["value"], "bytes are numbers, not base64")

	code, out, _ = lltmodel(t, "inspect", path)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "architecture: -")
	assert.Contains(t, out, "file_type: -")
	assert.Contains(t, out, "tensor_count: 0")
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.gguf")
	require.NoError(t, os.WriteFile(junk, []byte("this is not a model"), 0o644))
	truncated := filepath.Join(dir, "truncated.gguf")
	model := filepath.Join(dir, "m.gguf")
	code, _, _ := lltmodel(t, "generate", "-o", model)
	require.Equal(t, 0, code)
	data, err := os.ReadFile(model)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(truncated, data[:len(data)/2], 0o644))

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no command", nil, 2, "Usage:"},
		{"unknown command", []string{"frobnicate"}, 2, `lltmodel: unknown command "frobnicate"`},
		{"bad flag", []string{"inspect", "-bogus", model}, 2, "lltmodel: flag provided but not defined: -bogus"},
		{"no file", []string{"inspect"}, 2, "lltmodel: inspect takes one FILE, got 0 arguments"},
		{"two files", []string{"inspect", model, model}, 2, "got 2 arguments"},
		{"missing file", []string{"inspect", filepath.Join(dir, "nope.gguf")}, 1, "lltmodel: open " + filepath.Join(dir, "nope.gguf") + ": no such file or directory"},
		{"not gguf", []string{"inspect", junk}, 1, "lltmodel: " + junk + `: gguf: bad magic number "this", want "GGUF" at byte 0x0`},
		{"truncated", []string{"inspect", truncated}, 1, "extends past the end of the file"},
		{"directory", []string{"inspect", dir}, 1, "lltmodel: "},
		{"bad spec", []string{"generate", "-o", filepath.Join(dir, "x.gguf"), "-embd", "66"}, 2, "lltmodel: -embd 66 must be divisible by -heads 4"},
		{"odd head dim", []string{"generate", "-o", filepath.Join(dir, "x.gguf"), "-embd", "60"}, 2, "head dimension -embd/-heads = 15 must be even"},
		{"bad arch", []string{"generate", "-arch", "mamba"}, 2, `lltmodel: -arch "mamba" is not supported`},
		{"bad type", []string{"generate", "-type", "q5_k"}, 2, `lltmodel: -type "q5_k" is not supported (want f32, f16, q8_0, q4_k or q6_k)`},
		{"k-quant shape", []string{"generate", "-type", "q4_k"}, 2, "lltmodel: -embd 64 must be a multiple of 256 for -type Q4_K (the row length of the weight matrices)"},
		{"k-quant ff", []string{"generate", "-type", "q6_k", "-embd", "256", "-ff", "300"}, 2, "lltmodel: -ff 300 must be a multiple of 256 for -type Q6_K"},
		{"zero blocks", []string{"generate", "-blocks", "0"}, 2, "lltmodel: -blocks must be positive, got 0"},
		{"zero seed", []string{"generate", "-seed", "0"}, 2, "lltmodel: -seed must not be 0"},
		{"stray argument", []string{"generate", "extra"}, 2, `generate takes no arguments, got "extra"`},
		{"unwritable", []string{"generate", "-o", filepath.Join(junk, "x.gguf")}, 1, "not a directory"},
		{"version argument", []string{"version", "x"}, 2, "version takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := lltmodel(t, tt.args...)
			assert.Equal(t, tt.code, code)
			assert.Contains(t, errOut, tt.stderr)
			assert.Empty(t, out)
		})
	}
	_, err = os.Stat(filepath.Join(dir, "x.gguf"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a rejected spec writes nothing")
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"--help"}} {
		code, out, _ := lltmodel(t, args...)
		assert.Equal(t, 0, code)
		assert.Contains(t, out, "lltmodel generate [flags]")
	}
	code, out, _ := lltmodel(t, "help", "generate")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Usage: lltmodel generate [flags]")
	assert.Contains(t, out, "-heads-kv")

	code, out, _ = lltmodel(t, "generate", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "-type string")

	code, out, _ = lltmodel(t, "version")
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "lltmodel "), out)

	version = "v1.2.3"
	defer func() { version = "" }()
	_, out, _ = lltmodel(t, "version")
	assert.True(t, strings.HasPrefix(out, "lltmodel v1.2.3 (go"), out)
}

func TestGenerateDefaultPath(t *testing.T) {
	t.Chdir(t.TempDir())
	code, out, errOut := lltmodel(t, "generate")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "llt-tiny.gguf\n", out)
	_, err := os.Stat("llt-tiny.gguf")
	assert.NoError(t, err)
}

func mustValue(t *testing.T, x any) gguf.Value {
	t.Helper()
	v, err := gguf.ValueOf(x)
	require.NoError(t, err)
	return v
}

func TestGenerateCreatesParentFolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "models", "demo", "m.gguf")
	code, _, errOut := lltmodel(t, "generate", "-o", path)
	require.Equal(t, 0, code, errOut)
	assert.FileExists(t, path)
}
