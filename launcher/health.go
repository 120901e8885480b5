// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"context"
	"io"
	"net/http"
	"time"
)

// healthInterval is how often /health is polled while llama-server loads its model.
const healthInterval = 100 * time.Millisecond

type httpGetter interface {
	Do(*http.Request) (*http.Response, error)
}

func newHealthClient() *http.Client {
	return &http.Client{Timeout: 2 * time.Second}
}

// healthy reports whether GET baseURL/health answers 200. llama-server answers 503 while it
// loads the model, and /health is public, but the key is sent anyway for proxies that want it.
func healthy(ctx context.Context, c httpGetter, baseURL, apiKey string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/health", nil)
	if err != nil {
		return false
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitHealthy polls /health every healthInterval until it answers 200 (true), or ctx ends (false).
func waitHealthy(ctx context.Context, c httpGetter, baseURL, apiKey string) bool {
	t := time.NewTicker(healthInterval)
	defer t.Stop()
	for {
		if healthy(ctx, c, baseURL, apiKey) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}
