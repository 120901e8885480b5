// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/llamatelemetry/otelcol-llt/pkg/llamaclient"
)

// Every body is read through llamaclient.ReadBody with one of these caps: a wrong `endpoint` can
// send anything, for as long as it likes. A longer body fails that endpoint's scrape with "response
// larger than N bytes".
const (
	// maxMetricsBytes bounds the body of /metrics (llama-server's is about 3 KB).
	maxMetricsBytes = 16 << 20
	// maxJSONBytes bounds the bodies of /health, /slots, /props and /v1/models.
	maxJSONBytes = 4 << 20
)

// answer is a response read in full.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// request sends GET base+path with the API key. An error means no answer (llama-server is
// unreachable or the context ended).
func (s *llamacppScraper) request(ctx context.Context, base, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", path, err)
	}
	llamaclient.SetAPIKey(req.Header, s.target.key())
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", path, err)
	}
	return resp, nil
}

func (s *llamacppScraper) get(ctx context.Context, base, path string, limit int64) (answer, error) {
	resp, err := s.request(ctx, base, path)
	if err != nil {
		return answer{}, err
	}
	body, err := readBody(path, resp, limit)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// getOK returns the body of a 200 answer, or an error that says what else came.
func (s *llamacppScraper) getOK(ctx context.Context, base, path string) ([]byte, error) {
	a, err := s.get(ctx, base, path, maxJSONBytes)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, statusError(path, a.status, a.body)
	}
	return a.body, nil
}

// readBody reads at most limit bytes of the body and closes it; a longer body is an error.
func readBody(path string, resp *http.Response, limit int64) ([]byte, error) {
	defer func() { _ = resp.Body.Close() }()
	body, err := llamaclient.ReadBody(resp.Body, limit)
	switch {
	case errors.Is(err, llamaclient.ErrTooLarge):
		return nil, fmt.Errorf("scrape %s: response larger than %d bytes", path, limit)
	case err != nil:
		return nil, fmt.Errorf("scrape %s: read the response: %w", path, err)
	}
	return body, nil
}

// statusError describes an answer other than 200, with llama-server's error message when the
// body has one ({"error":{"code":401,"message":"Invalid API Key",...}}).
func statusError(path string, status int, body []byte) error {
	msg := errorMessage(body)
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return fmt.Errorf("scrape %s: llama-server refused the API key (%d %s): set `api_key` to a key llama-server accepts (its --api-key)", path, status, msg)
	}
	return fmt.Errorf("scrape %s: unexpected status %d: %s", path, status, msg)
}

// errorMessage is the message of a llama-server error body, else the first line of the body.
func errorMessage(body []byte) string {
	if msg := llamaclient.ErrorMessage(body); msg != "" {
		return msg
	}
	const maxLen = 200
	s := strings.TrimSpace(string(body))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > maxLen {
		s = s[:maxLen] + "..."
	}
	if s == "" {
		return "empty body"
	}
	return s
}
