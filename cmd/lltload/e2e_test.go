// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// TestEndToEnd runs lltload against a real llama-server serving a tiny model. Without a
// llama-server it skips, or fails under LLT_E2E=1.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test in -short mode")
	}
	srv := llamatest.Start(t, llamatest.Options{})
	code, out, errOut := lltload(t, context.Background(), nil,
		"--url", srv.URL, "--qps", "4", "--duration", "3s", "--stream-ratio", "0.5",
		"--max-tokens", "4:8", "--json", "-v")
	require.Equal(t, exitOK, code, "stderr:\n%s\nstdout:\n%s\nserver:\n%s", errOut, out, srv.LogTail(20))
	var sum summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum), out)
	t.Logf("summary: %s", out)
	assert.Positive(t, sum.OK)
	assert.Zero(t, sum.Errors, "errors: %v", sum.ErrorsByKind)
	assert.Equal(t, sum.Sent, sum.OK)
	assert.Positive(t, sum.Streamed, "no streamed request")
	assert.Less(t, sum.Streamed, sum.Sent, "no plain request")
	assert.Positive(t, sum.PromptTokens)
	assert.Positive(t, sum.CompletionTokens)
	assert.LessOrEqual(t, sum.CompletionTokens, int64(8*sum.OK), "max_tokens 4:8 not respected")
	assert.GreaterOrEqual(t, sum.CompletionTokens, int64(sum.OK), "too few completion tokens")
	assert.Equal(t, sum.OK, sum.LatencyMS.Count)
	assert.Positive(t, sum.LatencyMS.P50)
	assert.Contains(t, errOut, "lltload:")
}
