// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamatest

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartServeStop(t *testing.T) {
	s := Start(t, Options{Alias: "tiny-test"})

	resp, err := http.Get(s.URL + "/health")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	resp, err = http.Post(s.URL+"/completion", "application/json",
		strings.NewReader(`{"prompt":"Hello","n_predict":4,"ignore_eos":true}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var out struct {
		TokensPredicted int `json:"tokens_predicted"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	assert.Equal(t, 4, out.TokensPredicted)

	resp, err = http.Get(s.URL + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Contains(t, string(metrics), "llamacpp:tokens_predicted_total 4")

	assert.Equal(t, []int{s.PID}, ProcessesWithArgs("--port", strconv.Itoa(s.Port)))
	require.NoError(t, s.Stop())
	require.NoError(t, s.Stop(), "Stop must be safe to call twice")
	assert.False(t, Alive(s.PID))
	assert.Empty(t, ProcessesWithArgs("--port", strconv.Itoa(s.Port)))
}

func TestFindServerHonoursEnv(t *testing.T) {
	t.Setenv("LLAMA_SERVER", filepath.Join(t.TempDir(), "no-such-llama-server"))
	_, err := FindServer()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "LLAMA_SERVER=")
}

func TestStartReportsEarlyExit(t *testing.T) {
	notGGUF := filepath.Join(t.TempDir(), "not.gguf")
	require.NoError(t, os.WriteFile(notGGUF, []byte("not a model"), 0o600))
	_, err := start(Options{Executable: Server(t), Model: notGGUF, Parallel: 1, ContextSize: 256, ReadyTimeout: 30e9}, FreePort(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exited before it was ready")
}
