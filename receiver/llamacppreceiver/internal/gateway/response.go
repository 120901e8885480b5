// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"encoding/json"
)

// responseDoc is the part of a llama-server answer the gateway reads: an OpenAI-style response
// or stream chunk (choices, usage) or a native /completion one (content, stop, stop_type,
// tokens_predicted, tokens_evaluated), with llama.cpp's timings on either.
type responseDoc struct {
	ID                string      `json:"id"`
	Model             string      `json:"model"`
	SystemFingerprint string      `json:"system_fingerprint"`
	Choices           []choiceDoc `json:"choices"`
	Usage             *usageDoc   `json:"usage"`
	Timings           *timingsDoc `json:"timings"`
	Error             *errorDoc   `json:"error"`

	// Native /completion fields (llama.cpp tools/server/README.md, "POST /completion").
	Content         *string       `json:"content"`
	Tokens          tokenPresence `json:"tokens"`
	Stop            *bool         `json:"stop"`
	StopType        string        `json:"stop_type"`
	StoppedEOS      bool          `json:"stopped_eos"`
	StoppedWord     bool          `json:"stopped_word"`
	StoppedLimit    bool          `json:"stopped_limit"`
	TokensPredicted *int64        `json:"tokens_predicted"`
	TokensEvaluated *int64        `json:"tokens_evaluated"`
}

type choiceDoc struct {
	Index        int         `json:"index"`
	FinishReason *string     `json:"finish_reason"`
	Message      *messageDoc `json:"message"` // chat, non-streamed
	Delta        *messageDoc `json:"delta"`   // chat, streamed
	Text         *string     `json:"text"`    // /v1/completions
}

type messageDoc struct {
	Role             string          `json:"role"`
	Content          *string         `json:"content"`
	ReasoningContent *string         `json:"reasoning_content"`
	ToolCalls        json.RawMessage `json:"tool_calls"`
}

type usageDoc struct {
	PromptTokens      *int64             `json:"prompt_tokens"`
	CompletionTokens  *int64             `json:"completion_tokens"`
	PromptDetails     *promptDetails     `json:"prompt_tokens_details"`
	CompletionDetails *completionDetails `json:"completion_tokens_details"`
}

type promptDetails struct {
	CachedTokens *int64 `json:"cached_tokens"`
}

type completionDetails struct {
	ReasoningTokens *int64 `json:"reasoning_tokens"`
}

// timingsDoc is llama.cpp's per-response `timings` object (server `result_timings::to_json`).
type timingsDoc struct {
	CacheN              *int64   `json:"cache_n"`
	PromptN             *int64   `json:"prompt_n"`
	PromptMS            *float64 `json:"prompt_ms"`
	PromptPerTokenMS    *float64 `json:"prompt_per_token_ms"`
	PromptPerSecond     *float64 `json:"prompt_per_second"`
	PredictedN          *int64   `json:"predicted_n"`
	PredictedMS         *float64 `json:"predicted_ms"`
	PredictedPerTokenMS *float64 `json:"predicted_per_token_ms"`
	PredictedPerSecond  *float64 `json:"predicted_per_second"`
	DraftN              *int64   `json:"draft_n"`
	DraftNAccepted      *int64   `json:"draft_n_accepted"`
}

// errorDoc is llama.cpp's error object; its message is never read, since it may quote the
// prompt or the output.
type errorDoc struct {
	Code *float64 `json:"code"`
	Type string   `json:"type"`
}

// tokenPresence records whether a `tokens` array was non-empty without keeping it.
type tokenPresence bool

// UnmarshalJSON implements json.Unmarshaler.
func (t *tokenPresence) UnmarshalJSON(b []byte) error {
	t.set(b)
	return nil
}

func (t *tokenPresence) set(raw []byte) {
	raw = bytes.TrimSpace(raw)
	*t = len(raw) > 1 && raw[0] == '[' && len(bytes.TrimSpace(raw[1:len(raw)-1])) > 0
}
