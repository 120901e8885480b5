// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// TestGeneratedModelIsServed generates models with the lltmodel binary, checks what `inspect`
// says of them, and has the real llama-server load each one and answer a chat completion.
func TestGeneratedModelIsServed(t *testing.T) {
	lltmodel := lltmodelBin(t)
	for _, tc := range []struct {
		name string
		args []string
		arch string
	}{
		{"llama-f32", nil, "llama"},
		{"llama-f16-gqa", []string{"-type", "f16", "-embd", "128", "-heads", "2", "-heads-kv", "1", "-blocks", "3"}, "llama"},
		{"qwen2", []string{"-arch", "qwen2"}, "qwen2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			model := filepath.Join(t.TempDir(), tc.name+".gguf")
			run(t, nil, lltmodel, append([]string{"generate", "-o", model}, tc.args...)...)

			var facts struct {
				Architecture    string `json:"architecture"`
				BlockCount      int    `json:"block_count"`
				EmbeddingLength int    `json:"embedding_length"`
				TensorCount     int    `json:"tensor_count"`
			}
			require.NoError(t, json.Unmarshal([]byte(run(t, nil, lltmodel, "inspect", "-json", model)), &facts))
			assert.Equal(t, tc.arch, facts.Architecture)
			text := run(t, nil, lltmodel, "inspect", model)
			for _, want := range []string{"architecture", "block_count", "embedding_length", "tensor_count"} {
				assert.Contains(t, text, want)
			}

			srv := llamatest.Start(t, llamatest.Options{Model: model, Alias: tc.name})
			body := `{"messages":[{"role":"user","content":"Hello"}],"max_tokens":8,"temperature":0}`
			resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
			require.NoError(t, err)
			defer func() { _ = resp.Body.Close() }()
			raw, _ := io.ReadAll(resp.Body)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
			var out struct {
				Model string `json:"model"`
				Usage struct {
					PromptTokens     int `json:"prompt_tokens"`
					CompletionTokens int `json:"completion_tokens"`
				} `json:"usage"`
			}
			require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
			assert.Positive(t, out.Usage.PromptTokens)
			assert.Positive(t, out.Usage.CompletionTokens, "%s", raw)
			assert.Equal(t, tc.name, out.Model)
		})
	}
}
