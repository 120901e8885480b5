// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/llamatelemetry/otelcol-llt/pkg/llamaclient"
	"github.com/llamatelemetry/otelcol-llt/pkg/utf8cut"
)

const (
	// DefaultMaxResponseBytes bounds the body of a /tokenize or
	// /v1/embeddings response when the client's MaxResponseBytes is 0.
	DefaultMaxResponseBytes = 4 << 20
	// DefaultMaxTextBytes bounds the text sent to a server when the
	// client's MaxTextBytes is 0. Longer text is cut at a UTF-8 boundary;
	// since [TokenEmbeddings.Mean] uses only the first [MaxMeanTokens]
	// tokens, the cut changes nothing it uses.
	DefaultMaxTextBytes = 64 << 10
	// errorSnippetBytes bounds how much of an error body goes into an
	// error message.
	errorSnippetBytes = 256
)

// defaultClient is used when a client's Client field is nil. Its timeout
// is a backstop; callers should pass a context with a deadline.
var defaultClient = &http.Client{Timeout: 30 * time.Second}

// truncateUTF8 returns s cut to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string { return utf8cut.Prefix(s, n) }

// postJSON posts in as JSON to baseURL+path and decodes a 200 response
// into out, reading at most maxBytes of it. Other statuses become errors
// carrying llama-server's error message (or the start of the body).
func postJSON(ctx context.Context, client *http.Client, baseURL, path, apiKey string, maxBytes int64, in, out any) error {
	if baseURL == "" {
		return fmt.Errorf("embed: POST %s: no BaseURL configured", path)
	}
	if client == nil {
		client = defaultClient
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxResponseBytes
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("embed: POST %s: encoding request: %w", path, err)
	}
	url := strings.TrimRight(baseURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("embed: POST %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	llamaclient.SetAPIKey(req.Header, apiKey)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("embed: POST %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := llamaclient.ReadBody(resp.Body, maxBytes)
	tooLarge := errors.Is(err, llamaclient.ErrTooLarge)
	if err != nil && !tooLarge {
		return fmt.Errorf("embed: POST %s: reading response: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("embed: POST %s: %s: %s", path, resp.Status, errorMessage(data))
	}
	if tooLarge {
		return fmt.Errorf("embed: POST %s: response body exceeds the limit of %d bytes", path, maxBytes)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("embed: POST %s: decoding response: %w", path, err)
	}
	return nil
}

// errorMessage extracts the message of a llama-server error body
// ({"error":{"message":...}} or {"error":"..."}), or returns the start of
// the body, quoted.
func errorMessage(body []byte) string {
	if msg := llamaclient.ErrorMessage(body); msg != "" {
		return truncateUTF8(msg, errorSnippetBytes)
	}
	s := strings.TrimSpace(string(body))
	if s == "" {
		return "empty body"
	}
	s = strings.ToValidUTF8(truncateUTF8(s, errorSnippetBytes), "?")
	return fmt.Sprintf("%q", s)
}
