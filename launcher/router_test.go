// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

func TestBuildCommandRouter(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.ModelsDir = "/models"
	cfg.ModelsMax = 2
	cfg.GPU.Devices = []int{}
	c := buildCommand(cfg, "/bin/llama-server", "", 8080)
	assert.Equal(t, []string{"/bin/llama-server", "--models-dir", "/models", "--models-max", "2", "--host", "127.0.0.1", "--port", "8080",
		"--ctx-size", "4096", "--parallel", "4", "--metrics", "--slots", "--log-prefix", "--log-timestamps",
		"--n-gpu-layers", "0", "--flash-attn", "auto"}, c.argv, "no --model, no --alias")
}

// routerChat asks the launcher's router for a completion from model and returns the model
// that answered.
func routerChat(t *testing.T, base, model string) string {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}],"max_tokens":4}`, model)
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	var out struct {
		Model string `json:"model"`
	}
	require.NoError(t, json.Unmarshal(raw, &out))
	return out.Model
}

// TestRouterMode runs the provisioned llama-server in router mode through the launcher
// (`models_dir` with two generated models, `models_max: 1`): it becomes ready without a model,
// loads each model when a request names it (one at a time), its children end with it when it is
// killed and restarted, and Shutdown leaves no process behind.
func TestRouterMode(t *testing.T) {
	dir := t.TempDir()
	alpha, beta := modelgen.Tiny(), modelgen.Tiny()
	alpha.Name, beta.Name, beta.Seed = "alpha", "beta", 2
	require.NoError(t, modelgen.WriteFile(filepath.Join(dir, "alpha.gguf"), alpha))
	require.NoError(t, modelgen.WriteFile(filepath.Join(dir, "beta.gguf"), beta))
	cfg := testConfig(t)
	cfg.Model = ""
	cfg.ModelsDir = dir
	cfg.ModelsMax = 1
	require.NoError(t, cfg.Validate())
	s := startLauncher(t, cfg)
	waitReady(t, s)
	assert.Equal(t, launcherapi.Model{}, s.Model(), "a router serves no model of its own")

	children := func(model string) []int {
		return llamatest.ProcessesWithArgs("--model", filepath.Join(dir, model+".gguf"))
	}
	assert.Empty(t, children("alpha"), "nothing loaded before a request")
	assert.Equal(t, "alpha", routerChat(t, s.BaseURL(), "alpha"))
	require.Len(t, children("alpha"), 1)
	assert.Equal(t, "beta", routerChat(t, s.BaseURL(), "beta"))
	require.Eventually(t, func() bool { return len(children("alpha")) == 0 && len(children("beta")) == 1 },
		30*time.Second, 50*time.Millisecond, "models_max 1: loading beta unloads alpha")

	// kill -9 of the router: its child sees its stdin close and exits; the launcher restarts
	// the router, which loads beta again on the next request.
	pid, child := s.PID(), children("beta")[0]
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool { return s.State() == launcherapi.StateReady && s.PID() != pid },
		time.Minute, 10*time.Millisecond, "router not restarted")
	require.Eventually(t, func() bool { return !llamatest.Alive(child) }, 30*time.Second, 50*time.Millisecond,
		"the killed router's child %d outlived it", child)
	assert.Equal(t, "beta", routerChat(t, s.BaseURL(), "beta"))

	require.NoError(t, s.Shutdown(context.Background()))
	assert.Empty(t, children("alpha"))
	assert.Empty(t, children("beta"), "Shutdown leaves no child behind")
}
