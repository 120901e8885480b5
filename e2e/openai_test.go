// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// clientCall is what a client knows of one call it made: what the server answered and when.
type clientCall struct {
	Stream     bool
	ResponseID string
	Model      string
	In, Out    int64
	Content    string
	Start, End time.Time
}

// goCall makes one chat completion with the official Go SDK (github.com/openai/openai-go/v3),
// as a plain, uninstrumented client: streamed with the usage chunk, or not.
func goCall(ctx context.Context, baseURL, prompt string, stream bool, maxTokens int64) (clientCall, error) {
	client := openai.NewClient(option.WithBaseURL(baseURL), option.WithAPIKey("none"), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{
		Model:       "demo",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
		MaxTokens:   openai.Int(maxTokens),
		Temperature: openai.Float(0),
	}
	c := clientCall{Stream: stream, Start: time.Now()}
	if !stream {
		resp, err := client.Chat.Completions.New(ctx, params)
		c.End = time.Now()
		if err != nil {
			return c, err
		}
		c.ResponseID, c.Model = resp.ID, resp.Model
		c.In, c.Out = resp.Usage.PromptTokens, resp.Usage.CompletionTokens
		if len(resp.Choices) > 0 {
			c.Content = resp.Choices[0].Message.Content
		}
		return c, nil
	}
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := client.Chat.Completions.NewStreaming(ctx, params)
	acc := openai.ChatCompletionAccumulator{}
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	c.End = time.Now()
	if err := s.Err(); err != nil {
		return c, err
	}
	if err := s.Close(); err != nil {
		return c, err
	}
	c.ResponseID, c.Model = acc.ID, acc.Model
	c.In, c.Out = acc.Usage.PromptTokens, acc.Usage.CompletionTokens
	if len(acc.Choices) > 0 {
		c.Content = acc.Choices[0].Message.Content
	}
	if c.ResponseID == "" || c.Out == 0 {
		return c, fmt.Errorf("stream ended without an id or usage: %+v", c)
	}
	return c, nil
}
