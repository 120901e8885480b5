// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
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
	body := fmt.Sprintf(`{"model":"tiny-test","messages":[{"role":"user","content":%q}],"max_tokens":8,"cache_prompt":%t}`, content, cachePrompt)
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	var out struct {
		Usage usage `json:"usage"`
	}
	require.NoError(t, json.Unmarshal(raw, &out))
	require.Positive(t, out.Usage.PromptTokens)
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
