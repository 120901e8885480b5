// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

// usage is the `usage` object of a chat completion.
type usage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func (u *usage) add(o usage) {
	u.PromptTokens += o.PromptTokens
	u.CompletionTokens += o.CompletionTokens
	u.PromptTokensDetails.CachedTokens += o.PromptTokensDetails.CachedTokens
}

func chat(t *testing.T, url, content string, cachePrompt bool) usage {
	t.Helper()
	return chatWith(t, url, "tiny-test", content, cachePrompt)
}

// chatWith sends one chat completion for model and returns its usage; the answer must name model.
func chatWith(t *testing.T, url, model, content string, cachePrompt bool) usage {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}],"max_tokens":8,"cache_prompt":%t}`, model, content, cachePrompt)
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	var out struct {
		Model string `json:"model"`
		Usage usage  `json:"usage"`
	}
	require.NoError(t, json.Unmarshal(raw, &out))
	require.Positive(t, out.Usage.PromptTokens)
	require.Equal(t, model, out.Model)
	return out.Usage
}

// intValue returns the single value of an int metric (0 when absent: older builds have no
// prompt_tokens_cached_total).
func intValue(t *testing.T, md pmetric.Metrics, name string) int64 {
	t.Helper()
	dps := points(md, name)
	require.LessOrEqual(t, dps.Len(), 1, name)
	if dps.Len() == 0 {
		return 0
	}
	return dps.At(0).IntValue()
}

// TestScrapeRealServer runs a real llama-server (skipped without one, a failure under
// LLT_E2E=1), sends three chat completions, and checks that a scrape reports exactly what their
// `usage` says, two slots, and up=1. usage.prompt_tokens counts the whole prompt, while
// llamacpp.prompt.tokens counts the processed part and llamacpp.prompt.tokens.cached the part
// reused from the cache: the three requests turn the cache off, so the first must equal the
// sum; two more requests with the cache on check the split.
func TestScrapeRealServer(t *testing.T) {
	srv := llamatest.Start(t, llamatest.Options{Alias: "tiny-test"})
	s, _ := newTestScraper(t, &target{endpoint: srv.URL})

	var want usage
	for _, content := range []string{"Tell me a story.", "What is the capital of France?", "Count to ten, please."} {
		want.add(chat(t, srv.URL, content, false))
	}
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	v, state := serverUp(t, md)
	assert.Equal(t, int64(1), v)
	assert.Equal(t, "ok", state)
	prompt, cached, gen := intValue(t, md, "llamacpp.prompt.tokens"), intValue(t, md, "llamacpp.prompt.tokens.cached"), intValue(t, md, "llamacpp.generation.tokens")
	t.Logf("usage %+v; scraped prompt %d, cached %d, generated %d", want, prompt, cached, gen)
	assert.Equal(t, want.PromptTokens, prompt, "llamacpp.prompt.tokens = sum of usage.prompt_tokens")
	assert.Equal(t, want.CompletionTokens, gen, "llamacpp.generation.tokens = sum of usage.completion_tokens")
	assert.Zero(t, cached)

	assert.Equal(t, int64(2), points(md, "llamacpp.slots.total").At(0).IntValue())
	assert.Equal(t, 2, points(md, "llamacpp.slot.busy").Len())
	assert.Equal(t, 2, points(md, "llamacpp.slot.context.size").Len())
	attrs := md.ResourceMetrics().At(0).Resource().Attributes()
	alias, _ := attrs.Get("llamacpp.model.alias")
	assert.Equal(t, "tiny-test", alias.Str())
	slots, _ := attrs.Get("llamacpp.slots.total")
	assert.Equal(t, int64(2), slots.Int())
	build, ok := attrs.Get("llamacpp.build")
	assert.True(t, ok && build.Str() != "", "llamacpp.build")

	// The same prompt twice with the cache on: the second reuses most of the first.
	var more usage
	for range 2 {
		more.add(chat(t, srv.URL, "Tell me a story about a cache.", true))
	}
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	prompt2, cached2, gen2 := intValue(t, md, "llamacpp.prompt.tokens"), intValue(t, md, "llamacpp.prompt.tokens.cached"), intValue(t, md, "llamacpp.generation.tokens")
	t.Logf("usage %+v; scraped prompt +%d, cached +%d, generated +%d", more, prompt2-prompt, cached2-cached, gen2-gen)
	if _, ok := metric(md, "llamacpp.prompt.tokens.cached"); ok { // builds since 2026-08
		assert.Equal(t, more.PromptTokens, (prompt2-prompt)+(cached2-cached), "processed + cached = sum of usage.prompt_tokens")
		assert.Equal(t, more.PromptTokensDetails.CachedTokens, cached2-cached, "cached = sum of usage.prompt_tokens_details.cached_tokens")
		assert.Positive(t, cached2-cached)
	}
	assert.Equal(t, more.CompletionTokens, gen2-gen)
	assert.Positive(t, points(md, "llamacpp.prompt.throughput").Len(), "a rate from the second scrape on")
}

// writeRouterModels writes two generated models into a new folder for a router: alpha (llama)
// and beta (qwen2, 3 blocks), served under those names.
func writeRouterModels(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	alpha, beta := modelgen.Tiny(), modelgen.Tiny()
	alpha.Name = "alpha"
	beta.Name, beta.Arch, beta.BlockCount, beta.Seed = "beta", "qwen2", 3, 2
	require.NoError(t, modelgen.WriteFile(filepath.Join(dir, "alpha.gguf"), alpha))
	require.NoError(t, modelgen.WriteFile(filepath.Join(dir, "beta.gguf"), beta))
	return dir
}

// modelResources returns the resources of md by llamacpp.model.alias ("" for the router's own).
func modelResources(md pmetric.Metrics) map[string]pmetric.ResourceMetrics {
	out := map[string]pmetric.ResourceMetrics{}
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		alias, _ := rm.Resource().Attributes().Get("llamacpp.model.alias")
		out[alias.Str()] = rm
	}
	return out
}

// routerStatus returns the model status whose llamacpp.router.model.status point is 1.
func routerStatus(t *testing.T, rm pmetric.ResourceMetrics) string {
	t.Helper()
	md := pmetric.NewMetrics()
	rm.CopyTo(md.ResourceMetrics().AppendEmpty())
	dps := points(md, "llamacpp.router.model.status")
	require.Equal(t, 5, dps.Len(), "one point per status")
	cur := ""
	for i := 0; i < dps.Len(); i++ {
		if dps.At(i).IntValue() == 1 {
			require.Empty(t, cur, "one status at 1")
			v, _ := dps.At(i).Attributes().Get("llamacpp.model.status")
			cur = v.Str()
		}
	}
	return cur
}

// TestScrapeRealRouter runs the provisioned llama-server in router mode (--models-dir with two
// generated models), and checks that the scraper finds both models, scrapes only the loaded one
// (asking with autoload=false never loads a model), gives each its own resource and counters that
// match the completions' usage, and forgets nothing when a model is unloaded and loaded again.
func TestScrapeRealRouter(t *testing.T) {
	srv := llamatest.Start(t, llamatest.Options{ModelsDir: writeRouterModels(t)})
	s, _ := newTestScraper(t, &target{endpoint: srv.URL})

	// Before any request: both listed, unloaded, and scraping loads neither.
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	res := modelResources(md)
	require.Len(t, res, 3, "the router and its two models")
	assert.Equal(t, "unloaded", routerStatus(t, res["alpha"]))
	assert.Equal(t, "unloaded", routerStatus(t, res["beta"]))
	v, state := serverUp(t, md)
	assert.Equal(t, int64(1), v)
	assert.Equal(t, "ok", state)
	router := res[""].Resource().Attributes()
	_, hasPath := router.Get("llamacpp.model.path")
	assert.False(t, hasPath, "a router's resource names no model")
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "unloaded", routerStatus(t, modelResources(md)["alpha"]), "a scrape does not load a model")

	// Three requests to alpha load it (the router starts a child); one to beta.
	var want usage
	for _, content := range []string{"Tell me a story.", "What is the capital of France?", "Count to ten."} {
		want.add(chatWith(t, srv.URL, "alpha", content, false))
	}
	wantBeta := chatWith(t, srv.URL, "beta", "Hello there.", false)
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	res = modelResources(md)
	for name, u := range map[string]usage{"alpha": want, "beta": wantBeta} {
		rm := res[name]
		require.NotNil(t, rm.Resource(), name)
		assert.Equal(t, "loaded", routerStatus(t, rm), name)
		one := pmetric.NewMetrics()
		rm.CopyTo(one.ResourceMetrics().AppendEmpty())
		assert.Equal(t, u.PromptTokens, intValue(t, one, "llamacpp.prompt.tokens"), name)
		assert.Equal(t, u.CompletionTokens, intValue(t, one, "llamacpp.generation.tokens"), name)
		assert.Equal(t, 2, points(one, "llamacpp.slot.busy").Len(), "%s: its own two slots", name)
		attrs := rm.Resource().Attributes()
		path, _ := attrs.Get("llamacpp.model.path")
		assert.Equal(t, name+".gguf", filepath.Base(path.Str()), name)
		port, _ := attrs.Get("server.port")
		assert.Equal(t, int64(srv.Port), port.Int(), "%s: reached through the router", name)
	}
	assert.Zero(t, points(pmetricOf(res[""]), "llamacpp.prompt.tokens").Len(), "the router itself has no counters")

	// Unload beta: it stays listed as unloaded, and its counters start again once it is back.
	unload, err := http.Post(srv.URL+"/models/unload", "application/json", strings.NewReader(`{"model":"beta"}`))
	require.NoError(t, err)
	require.NoError(t, unload.Body.Close())
	require.Equal(t, http.StatusOK, unload.StatusCode)
	require.Eventually(t, func() bool {
		md, err = s.scrape(context.Background())
		return err == nil && routerStatus(t, modelResources(md)["beta"]) == "unloaded"
	}, 30*time.Second, 200*time.Millisecond)
	assert.Zero(t, points(pmetricOf(modelResources(md)["beta"]), "llamacpp.prompt.tokens").Len())
	again := chatWith(t, srv.URL, "beta", "Hello again.", false)
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	beta := pmetricOf(modelResources(md)["beta"])
	assert.Equal(t, again.PromptTokens, intValue(t, beta, "llamacpp.prompt.tokens"), "a new child: counters from zero")
}

func pmetricOf(rm pmetric.ResourceMetrics) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm.CopyTo(md.ResourceMetrics().AppendEmpty())
	return md
}
