// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/cmd/lltload/internal/prompts"
)

var traceparentRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

// TestRequests checks what lltload sends: the body fields within their flags' ranges, the API
// key, a new trace id per request, and the tokens it adds up.
func TestRequests(t *testing.T) {
	srv := newFakeServer(t)
	const key = "sk-secret-key-123"
	logPath := filepath.Join(t.TempDir(), "requests.jsonl")
	code, sum, errOut := runJSON(t, context.Background(), map[string]string{"TEST_KEY": key},
		"--url", srv.URL+"/", "--qps", "200", "--arrivals", "fixed", "--requests", "60",
		"--max-tokens", "3:5", "--temperature", "0.2:0.4", "--stream-ratio", "0.5",
		"--model", "m1", "--api-key-env", "TEST_KEY", "--log", logPath)
	require.Equal(t, exitOK, code, errOut)
	assert.NotContains(t, errOut, key)

	reqs := srv.captured()
	require.Len(t, reqs, 60)
	assert.Equal(t, 60, sum.Sent)
	assert.Equal(t, 60, sum.OK)
	assert.Zero(t, sum.Errors)
	assert.Zero(t, sum.Skipped)
	assert.Equal(t, int64(60*fakePromptTokens), sum.PromptTokens)
	assert.Equal(t, int64(60*fakeCompletionTokens), sum.CompletionTokens)
	assert.Equal(t, 60, sum.LatencyMS.Count)
	assert.Equal(t, sum.Streamed, sum.TTFTMS.Count)

	traceIDs := map[string]bool{}
	maxTokens := map[int]bool{}
	categories := map[prompts.Category]int{}
	streamed := 0
	for _, r := range reqs {
		assert.Equal(t, "Bearer "+key, r.header.Get("Authorization"))
		assert.Equal(t, "application/json", r.header.Get("Content-Type"))
		m := traceparentRE.FindStringSubmatch(r.header.Get("Traceparent"))
		if assert.NotNil(t, m, "traceparent %q", r.header.Get("Traceparent")) {
			assert.False(t, traceIDs[m[1]], "trace id used twice")
			traceIDs[m[1]] = true
		}
		b := r.body
		assert.Equal(t, "m1", b.Model)
		require.Len(t, b.Messages, 1)
		assert.Equal(t, "user", b.Messages[0].Role)
		switch {
		case slices.Contains(prompts.CodePrompts, b.Messages[0].Content):
			categories[prompts.Code]++
		case slices.Contains(prompts.ProsePrompts, b.Messages[0].Content):
			categories[prompts.Prose]++
		default:
			t.Errorf("unknown prompt %q", b.Messages[0].Content)
		}
		assert.GreaterOrEqual(t, b.MaxTokens, 3)
		assert.LessOrEqual(t, b.MaxTokens, 5)
		maxTokens[b.MaxTokens] = true
		assert.GreaterOrEqual(t, b.Temperature, 0.2)
		assert.LessOrEqual(t, b.Temperature, 0.4)
		if b.Stream {
			streamed++
			if assert.NotNil(t, b.StreamOptions) {
				assert.True(t, b.StreamOptions.IncludeUsage)
			}
			assert.Equal(t, "text/event-stream", r.header.Get("Accept"))
		} else {
			assert.Nil(t, b.StreamOptions)
		}
	}
	assert.Len(t, maxTokens, 3, "every value of 3:5 drawn")
	assert.Greater(t, categories[prompts.Code], 10)
	assert.Greater(t, categories[prompts.Prose], 10)
	assert.Equal(t, sum.Streamed, streamed)
	assert.InDelta(t, 30, streamed, 15)

	// The log has one line per request with the trace ids the server saw.
	f, err := os.Open(logPath)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	lines := 0
	for sc.Scan() {
		var l logLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), sc.Text())
		assert.True(t, traceIDs[l.TraceID], "log trace id %q not sent", l.TraceID)
		assert.Equal(t, 200, l.Status)
		assert.Empty(t, l.Error)
		assert.Equal(t, int64(fakePromptTokens), l.PromptTokens)
		assert.Contains(t, []string{"code", "prose"}, l.Category)
		lines++
	}
	assert.Equal(t, 60, lines)
	logData, err := os.ReadFile(logPath)
	require.NoError(t, err)
	assert.NotContains(t, string(logData), key)
}

func TestNoTraceparentNoKey(t *testing.T) {
	srv := newFakeServer(t)
	code, sum, errOut := runJSON(t, context.Background(), nil, "--url", srv.URL, "--qps", "100",
		"--requests", "5", "--traceparent=false", "--stream-ratio", "0")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, 5, sum.OK)
	assert.Zero(t, sum.Streamed)
	for _, r := range srv.captured() {
		assert.Empty(t, r.header.Get("Traceparent"))
		assert.Empty(t, r.header.Get("Authorization"))
		assert.Empty(t, r.body.Model)
		assert.False(t, r.body.Stream)
	}
}

// TestSeed checks that a seed gives the same requests, and another seed others.
func TestSeed(t *testing.T) {
	bodies := func(seed string) []chatRequest {
		srv := newFakeServer(t)
		code, _, errOut := runJSON(t, context.Background(), nil, "--url", srv.URL, "--qps", "500",
			"--arrivals", "fixed", "--requests", "10", "--concurrency", "1000", "--seed", seed)
		require.Equal(t, exitOK, code, errOut)
		var out []chatRequest
		for _, r := range srv.captured() {
			out = append(out, r.body)
		}
		// Requests may arrive out of order; compare them as a set.
		slices.SortFunc(out, func(a, b chatRequest) int {
			return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
		})
		return out
	}
	assert.Equal(t, bodies("5"), bodies("5"))
	assert.NotEqual(t, bodies("5"), bodies("6"))
}

func TestSpecGen(t *testing.T) {
	cfg := &config{maxTokens: intRange{8, 8}, temperature: floatRange{0.5, 0.5}, streamRatio: 0}
	g := newSpecGen(cfg, rand.New(rand.NewPCG(1, 1)))
	for range 100 {
		s := g.next()
		assert.Equal(t, 8, s.maxTokens)
		assert.Equal(t, 0.5, s.temperature)
		assert.False(t, s.stream)
		assert.Contains(t, prompts.List(s.category), s.prompt)
	}
	cfg = &config{maxTokens: intRange{1, 2}, temperature: floatRange{0, 2}, streamRatio: 1}
	g = newSpecGen(cfg, rand.New(rand.NewPCG(1, 1)))
	for range 100 {
		s := g.next()
		assert.True(t, s.stream)
		assert.Equal(t, s.temperature, float64(int(s.temperature*100+0.5))/100, "two decimals")
	}
}

// TestHTTPErrors checks that error statuses are counted by status and that the run then
// exits with 1.
func TestHTTPErrors(t *testing.T) {
	var n atomicCounter
	srv := handlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.next()%2 == 0 {
			http.Error(w, `{"error":{"code":503,"message":"Loading model"}}`, http.StatusServiceUnavailable)
		} else {
			http.Error(w, "no", http.StatusUnauthorized)
		}
	})
	code, sum, _ := runJSON(t, context.Background(), nil, "--url", srv.URL, "--qps", "200",
		"--arrivals", "fixed", "--requests", "10", "--concurrency", "1000")
	assert.Equal(t, exitFailed, code)
	assert.Equal(t, 10, sum.Sent)
	assert.Zero(t, sum.OK)
	assert.Equal(t, 10, sum.Errors)
	assert.Equal(t, map[string]int{"http 503": 5, "http 401": 5}, sum.ErrorsByKind)
	assert.Zero(t, sum.LatencyMS.Count)

	// Text output, and one success among the errors: exit 0.
	var m atomicCounter
	srv = handlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		if m.next() == 0 {
			_, _ = io.WriteString(w, `{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	})
	code, out, _ := lltload(t, context.Background(), nil, "--url", srv.URL, "--qps", "200",
		"--requests", "4", "--stream-ratio", "0", "--concurrency", "1")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "\nok         1\n")
	assert.Regexp(t, `\nerrors     \d \(http 500: \d\)\n`, out)
}

// TestOddResponses checks that answers that are not chat completions are errors of their own
// kind, and never a panic.
func TestOddResponses(t *testing.T) {
	for _, tc := range []struct {
		name        string
		streamRatio string
		handler     http.HandlerFunc
		kind        string
	}{
		{"non-JSON body", "0", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "<html><body>Bad Gateway</body></html>")
		}, errBadResponse},
		{"empty body", "0", func(w http.ResponseWriter, r *http.Request) {}, errBadResponse},
		{"JSON without choices", "0", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"id":"x"}`)
		}, errBadResponse},
		{"JSON array", "0", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `[1,2,3]`)
		}, errBadResponse},
		{"error object with 200", "0", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"error":{"message":"nope"}}`)
		}, errBadResponse},
		{"wrong usage types", "0", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"choices":[],"usage":{"prompt_tokens":"ten"}}`)
		}, errBadResponse},
		{"truncated JSON", "0", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			_, _ = io.WriteString(w, `{"choices":[{"mess`)
		}, errTransport},
		{"connection closed before an answer", "0", func(w http.ResponseWriter, r *http.Request) {
			panic(http.ErrAbortHandler)
		}, errTransport},
		{"truncated stream", "1", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choi")
		}, errTruncated},
		{"stream cut by the server", "1", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}, errTruncated},
		{"stream of garbage", "1", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "\x00\x01garbage\n\n{}\n\ndata: nope\n\n")
		}, errTruncated},
		{"stream error line", "1", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "error: {\"code\":500,\"message\":\"failed\"}\n\n")
		}, errStream},
		{"stream with a huge line", "1", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: "+strings.Repeat("x", maxSSELine+1)+"\n\ndata: [DONE]\n\n")
		}, errTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := handlerServer(t, tc.handler)
			code, sum, errOut := runJSON(t, context.Background(), nil, "--url", srv.URL, "--qps", "200",
				"--arrivals", "fixed", "--requests", "3", "--stream-ratio", tc.streamRatio)
			assert.Equal(t, exitFailed, code, errOut)
			assert.Equal(t, 3, sum.Sent)
			assert.Zero(t, sum.OK)
			assert.Equal(t, map[string]int{tc.kind: 3}, sum.ErrorsByKind)
		})
	}

	// A stream request answered with plain JSON is read as JSON.
	srv := handlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2}}`)
	})
	code, sum, errOut := runJSON(t, context.Background(), nil, "--url", srv.URL, "--qps", "200",
		"--requests", "2", "--stream-ratio", "1")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, 2, sum.OK)
	assert.Equal(t, int64(8), sum.PromptTokens)
}

func TestTransportError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	code, sum, _ := runJSON(t, context.Background(), nil, "--url", "http://"+addr, "--qps", "100", "--requests", "3")
	assert.Equal(t, exitFailed, code)
	assert.Equal(t, map[string]int{errTransport: 3}, sum.ErrorsByKind)
}

func TestTimeout(t *testing.T) {
	srv := handlerServer(t, hang)
	start := time.Now()
	code, sum, _ := runJSON(t, context.Background(), nil, "--url", srv.URL, "--qps", "100",
		"--requests", "2", "--timeout", "100ms")
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, exitFailed, code)
	assert.Equal(t, map[string]int{errTimeout: 2}, sum.ErrorsByKind)
}

// TestSkipAtConcurrencyCap checks that arrivals beyond --concurrency are skipped, not queued.
func TestSkipAtConcurrencyCap(t *testing.T) {
	srv := handlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(400 * time.Millisecond):
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, `{"choices":[]}`)
	})
	code, sum, errOut := runJSON(t, context.Background(), nil, "--url", srv.URL, "--qps", "100",
		"--arrivals", "fixed", "--requests", "20", "--concurrency", "2", "--stream-ratio", "0")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, 2, sum.Sent)
	assert.Equal(t, 2, sum.OK)
	assert.Equal(t, 18, sum.Skipped)
}

// TestStopOnCancel checks the shutdown: when ctx is cancelled (SIGINT), sending stops, the
// requests in flight get drainTimeout to finish, and then they are cancelled.
func TestStopOnCancel(t *testing.T) {
	setVar(t, &drainTimeout, 300*time.Millisecond)
	setVar(t, &progressInterval, 50*time.Millisecond)
	srv := handlerServer(t, hang)
	ctx, cancel := context.WithTimeout(context.Background(), 350*time.Millisecond)
	defer cancel()
	start := time.Now()
	code, out, errOut := lltload(t, ctx, nil, "--url", srv.URL, "--qps", "10", "--arrivals", "fixed", "-v", "--json")
	elapsed := time.Since(start)
	assert.Equal(t, exitFailed, code, "every request was cancelled")
	assert.GreaterOrEqual(t, elapsed, 650*time.Millisecond)
	assert.Less(t, elapsed, 3*time.Second)
	var sum summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum), out)
	assert.InDelta(t, 4, sum.Sent, 1) // at 0, 100, 200 and 300 ms
	assert.Equal(t, map[string]int{errCanceled: sum.Sent}, sum.ErrorsByKind)
	assert.InDelta(t, 0.35, sum.SendSeconds, 0.1)
	assert.Contains(t, errOut, fmt.Sprintf("lltload: stopping; waiting up to 300ms for %d requests in flight\n", sum.Sent))
	assert.Contains(t, errOut, fmt.Sprintf("lltload: cancelling %d requests still in flight\n", sum.Sent))
	assert.Regexp(t, `lltload: +0\.\ds sent \d+ ok 0 errors 0 skipped 0 in flight \d+\n`, errOut)

	// Requests that finish within the drain time count as they finished.
	fast := newFakeServer(t)
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	code, sum, errOut = runJSON(t, ctx, nil, "--url", fast.URL, "--qps", "20", "--arrivals", "fixed")
	require.Equal(t, exitOK, code, errOut)
	assert.InDelta(t, 6, sum.Sent, 1)
	assert.Equal(t, sum.Sent, sum.OK)
}

// TestAbort checks that the second signal (abort) cancels the requests in flight at once.
func TestAbort(t *testing.T) {
	srv := handlerServer(t, hang)
	ctx, cancel := context.WithCancel(context.Background())
	abort := make(chan struct{})
	go func() {
		time.Sleep(150 * time.Millisecond)
		cancel()
		time.Sleep(100 * time.Millisecond)
		close(abort)
	}()
	start := time.Now()
	code, out, _ := lltloadAbort(t, ctx, abort, nil, "--url", srv.URL, "--qps", "20", "--json")
	assert.Less(t, time.Since(start), 2*time.Second, "drainTimeout is 10s; abort must not wait for it")
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, out, `"canceled"`)
}

func TestLogFileError(t *testing.T) {
	code, _, errOut := lltload(t, context.Background(), nil, "--log", filepath.Join(t.TempDir(), "no", "such", "dir", "f"))
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "lltload: --log: ")
}

// TestBinarySignal builds lltload and stops it with SIGINT: it prints the summary and exits 0.
func TestBinarySignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	bin := filepath.Join(t.TempDir(), "lltload")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := newFakeServer(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := exec.Command(bin, "--url", srv.URL, "--qps", "20")
		cmd.Env = append(os.Environ(), "LLAMA_API_KEY=sk-do-not-print")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Start())
		time.Sleep(500 * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(sig))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			require.NoError(t, err, "%v: stderr:\n%s", sig, stderr.String())
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("lltload did not stop after %v", sig)
		}
		out := stdout.String()
		assert.Contains(t, out, "lltload: "+srv.URL+"/v1/chat/completions")
		m := regexp.MustCompile(`\nok +(\d+)\n`).FindStringSubmatch(out)
		require.NotNil(t, m, out)
		n, _ := strconv.Atoi(m[1])
		assert.Positive(t, n)
		assert.NotContains(t, out+stderr.String(), "sk-do-not-print")
	}
}
