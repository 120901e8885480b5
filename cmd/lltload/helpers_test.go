// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lltload runs the command line in-process with env as its environment and returns its exit
// status and output.
func lltload(t *testing.T, ctx context.Context, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return lltloadAbort(t, ctx, nil, env, args...)
}

func lltloadAbort(t *testing.T, ctx context.Context, abort <-chan struct{}, env map[string]string,
	args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code = run(ctx, abort, args, getenv, &out, &errOut)
	return code, out.String(), errOut.String()
}

// runJSON runs lltload with --json and returns the decoded summary.
func runJSON(t *testing.T, ctx context.Context, env map[string]string, args ...string) (int, summary, string) {
	t.Helper()
	code, out, errOut := lltload(t, ctx, env, append(args, "--json")...)
	var sum summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum), "stdout:\n%s\nstderr:\n%s", out, errOut)
	return code, sum, errOut
}

// captured is one request that the fake server received.
type captured struct {
	header http.Header
	body   chatRequest
}

// fakeServer is an OpenAI-compatible endpoint that answers every request like llama-server:
// a chat.completion, or an event stream ending with a usage chunk and [DONE].
type fakeServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []captured
}

// Tokens the fake server reports for every request.
const (
	fakePromptTokens     = 10
	fakeCompletionTokens = 3
)

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != chatPath {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var req chatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.requests = append(f.requests, captured{header: r.Header.Clone(), body: req})
		f.mu.Unlock()
		usage := fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}`,
			fakePromptTokens, fakeCompletionTokens, fakePromptTokens+fakeCompletionTokens)
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = io.WriteString(w, `{"object":"chat.completion","choices":[{"index":0,"finish_reason":"length",`+
				`"message":{"role":"assistant","content":"abc"}}],"usage":`+usage+`}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, content := range []string{"", "a", "b", "c"} {
			_, _ = fmt.Fprintf(w, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", content)
			w.(http.Flusher).Flush()
		}
		usageChunk := `{"choices":[],"usage":` + usage + `}`
		if req.StreamOptions == nil || !req.StreamOptions.IncludeUsage {
			usageChunk = `{"choices":[{"index":0,"finish_reason":"length","delta":{}}]}`
		}
		_, _ = io.WriteString(w, "data: "+usageChunk+"\n\ndata: [DONE]\n\n")
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) captured() []captured {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]captured(nil), f.requests...)
}

// handlerServer serves h and is closed at the end of the test.
func handlerServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// setVar sets *p to v for the duration of the test.
func setVar[T any](t *testing.T, p *T, v T) {
	t.Helper()
	old := *p
	*p = v
	t.Cleanup(func() { *p = old })
}

// fakeClock is a clock whose sleeps return at once, moving the time forward.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.After(c.now) {
		c.now = t
	}
	return nil
}

// atomicCounter hands out 0, 1, 2, ... to concurrent callers.
type atomicCounter struct {
	mu sync.Mutex
	n  int
}

func (c *atomicCounter) next() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.n - 1
}

// hang answers nothing until the client gives up (or 10 s pass). It reads the body first: the
// server notices a closed connection only once the body is read.
func hang(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}
