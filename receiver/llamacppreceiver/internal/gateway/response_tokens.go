// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// tokenCounts is token usage in GenAI terms.
type tokenCounts struct {
	input, output, cacheRead, reasoning             int64
	hasInput, hasOutput, hasCacheRead, hasReasoning bool
}

// tokens maps usage to GenAI attributes. OpenAI usage wins; /completion's tokens_evaluated and
// tokens_predicted come next; timings fill what is left. Input tokens include cached ones
// (GenAI semconv: gen_ai.usage.input_tokens "SHOULD include all types of input tokens").
func (s *responseSummary) tokens() tokenCounts {
	var c tokenCounts
	u, t := &s.usage, s.timings
	switch {
	case u.PromptTokens != nil:
		c.input, c.hasInput = *u.PromptTokens, true
	case s.native.evaluated != nil:
		c.input, c.hasInput = *s.native.evaluated, true
	case t != nil && t.PromptN != nil:
		c.input, c.hasInput = *t.PromptN, true
		if t.CacheN != nil {
			c.input += *t.CacheN
		}
	}
	switch {
	case u.CompletionTokens != nil:
		c.output, c.hasOutput = *u.CompletionTokens, true
	case s.native.predicted != nil:
		c.output, c.hasOutput = *s.native.predicted, true
	case t != nil && t.PredictedN != nil:
		c.output, c.hasOutput = *t.PredictedN, true
	}
	switch {
	case u.PromptDetails != nil && u.PromptDetails.CachedTokens != nil:
		c.cacheRead, c.hasCacheRead = *u.PromptDetails.CachedTokens, true
	case t != nil && t.CacheN != nil:
		c.cacheRead, c.hasCacheRead = *t.CacheN, true
	}
	if u.CompletionDetails != nil && u.CompletionDetails.ReasoningTokens != nil {
		c.reasoning, c.hasReasoning = *u.CompletionDetails.ReasoningTokens, true
	}
	return c
}
