// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// The health_check settings TestChaosHungServer runs with (the defaults are 2s, 2s, 10s).
const (
	hungInterval  = time.Second
	hungTimeout   = time.Second
	hungAfter     = 5 * time.Second
	hungInitial   = time.Second      // restart::initial_interval of the default config
	hungClientMax = 30 * time.Second // no request may take this long: it would be a hang
)

// hungResult is one request of TestChaosHungServer.
type hungResult struct {
	id, kind, traceID string
	streamed          bool
	start, end        time.Time
	status            int
	body              []byte
	err               error
}

// hungSend sends a chat completion through the gateway with its own trace id, and calls
// firstBytes (when not nil) once the answer's headers and first body bytes have arrived.
func hungSend(r *defaultRun, client *http.Client, id, kind string, streamed bool, maxTokens int, firstBytes func()) hungResult {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	traceID := fmt.Sprintf("%016x%016x", uint64(time.Now().UnixNano()), h.Sum64())
	res := hungResult{id: id, kind: kind, traceID: traceID, streamed: streamed, start: time.Now()}
	body := fmt.Sprintf(`{"messages":[{"role":"user","content":"hung server test %s"}],"max_tokens":%d,"ignore_eos":true,"stream":%t}`,
		id, maxTokens, streamed)
	req, err := http.NewRequest(http.MethodPost, r.GatewayURL()+"/chat/completions", strings.NewReader(body))
	if err != nil {
		res.err = err
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := client.Do(req)
	if err != nil {
		res.err, res.end = err, time.Now()
		if firstBytes != nil {
			firstBytes()
		}
		return res
	}
	defer func() { _ = resp.Body.Close() }()
	res.status = resp.StatusCode
	br := bufio.NewReader(resp.Body)
	_, _ = br.Peek(1)
	if firstBytes != nil {
		firstBytes()
	}
	res.body, res.err = io.ReadAll(br)
	res.end = time.Now()
	return res
}

// hungErrorMessage is the message of an OpenAI-style error body, "" when body is none.
func hungErrorMessage(body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error.Message
}

// hungOutcome classifies a result: "ok" (a whole answer), "stream timeout event" (a streamed
// answer ended by the gateway's error event), "5xx: <message>", or what else happened.
func hungOutcome(res hungResult) string {
	switch {
	case res.err != nil:
		return "client error: " + res.err.Error()
	case res.streamed && res.status == http.StatusOK:
		switch {
		case bytes.Contains(res.body, []byte(`"code":504`)) && bytes.Contains(res.body, []byte(hungTimedOut)) &&
			!bytes.Contains(res.body, []byte("[DONE]")):
			return "stream timeout event"
		case bytes.Contains(res.body, []byte("data: [DONE]")):
			return "ok"
		}
		return "stream ended without [DONE] or error event"
	case res.status == http.StatusOK:
		if bytes.Contains(res.body, []byte(`"choices"`)) {
			return "ok"
		}
		return "200 without choices"
	case res.status == http.StatusGatewayTimeout && strings.HasPrefix(hungErrorMessage(res.body), hungTimedOut):
		return hungClosed
	case res.status >= 500:
		return fmt.Sprintf("%d: %s", res.status, hungErrorMessage(res.body))
	}
	return fmt.Sprintf("status %d: %.200s", res.status, res.body)
}

// hungTimedOut starts the gateway's message to a request whose llama-server the launcher killed
// for a hang; hungClosed is the outcome of such a request that had no answer yet: a 504 with it.
const (
	hungTimedOut = "timed out: llama-server stopped answering (no /health answer for "
	hungClosed   = "504 timeout error"
)

// TestChaosHungServer stops llama-server with SIGSTOP while requests stream through the gateway
// of the default config (health_check lowered to interval 1s, timeout 1s, hung_after 5s). The
// launcher finds it hung (no /health answer, process stopped), kills it and starts another within
// hung_after + interval + timeout + restart::initial_interval + its load time. Every request in
// flight ends with a clear timeout error (504 and an OpenAI-style timeout_error saying that
// llama-server stopped answering and was restarted; a stream ends with that as its error event),
// none hangs, and each has one span that records error.type timeout.
// Requests sent during the hang (the launcher still reports the server ready, so the gateway
// sends them) end like the ones in flight; a request sent once the launcher has found the server
// hung waits for the new one (gateway::server_wait) and succeeds.
//
// A request that got no byte of an answer ends one of two ways, depending on the connection the
// gateway had sent it on: on a new connection, the 504 timeout error; on a kept-alive
// connection that had served an earlier request, net/http's Transport sends it again (the gateway
// marks inference requests replayable: their body is buffered and nothing was answered), finds
// the port closed, and the gateway's wait for a restarting server sends it to the new one, which
// answers it. Either way it ends, clearly; a streamed answer under way always ends with the
// gateway's error event.
func TestChaosHungServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 20 s")
	}
	streams, plains := chaosSize(2, 2), chaosSize(2, 2)
	during := chaosSize(2, 4) // requests sent while the server is stopped, before it is found hung
	const maxTokens = 900     // the tiny model's slot holds 1024 tokens (context 4096, 4 slots)
	r := startDefaultConfigWith(t, "", fmt.Sprintf(`
extensions:
  llamalauncher:
    health_check: {interval: %s, timeout: %s, hung_after: %s}
`, hungInterval, hungTimeout, hungAfter))
	client := &http.Client{Timeout: hungClientMax}
	port := strconv.Itoa(r.LlamaPort)
	var oldPid int
	require.Eventually(t, func() bool {
		pids := llamatest.ProcessesWithArgs("--port", port)
		if len(pids) == 1 {
			oldPid = pids[0]
		}
		return len(pids) == 1
	}, 30*time.Second, 10*time.Millisecond, "no single llama-server on port %s", port)

	collector := r.cmd.Process.Pid
	before := sampleProc(t, collector, r.PprofPort)
	var (
		mu      sync.Mutex
		results []hungResult
		wg      sync.WaitGroup
	)
	record := func(res hungResult) {
		mu.Lock()
		results = append(results, res)
		mu.Unlock()
	}
	// In flight: streams (their first chunk has arrived) and non-streamed requests (sent; a
	// non-streamed answer has no byte before it is complete).
	var first sync.WaitGroup
	for i := range streams {
		first.Add(1)
		wg.Go(func() {
			once := sync.OnceFunc(first.Done)
			record(hungSend(r, client, fmt.Sprintf("stream-%d", i), "in flight", true, maxTokens, once))
			once()
		})
	}
	for i := range plains {
		wg.Go(func() { record(hungSend(r, client, fmt.Sprintf("plain-%d", i), "in flight", false, maxTokens, nil)) })
	}
	first.Wait()
	time.Sleep(50 * time.Millisecond) // the non-streamed requests have reached llama-server
	require.NoError(t, syscall.Kill(oldPid, syscall.SIGSTOP))
	stoppedAt := time.Now()

	// During the hang.
	for i := range during {
		wg.Go(func() {
			time.Sleep(time.Duration(i+1) * hungAfter / time.Duration(during+2))
			record(hungSend(r, client, fmt.Sprintf("during-%d", i), "sent during the hang", i%2 == 0, 16, nil))
		})
	}

	// The launcher's verdict, then a request while it restarts the server.
	const hungMsg = "llama-server stopped answering /health for"
	var detectedAt time.Time
	require.Eventually(t, func() bool {
		if strings.Contains(r.logs.String(), hungMsg) {
			detectedAt = time.Now()
			return true
		}
		return false
	}, hungAfter+hungInterval+hungTimeout+10*time.Second, 10*time.Millisecond, "the launcher never found llama-server hung:\n%s", tail(r.logs.String(), 40))
	wg.Go(func() { record(hungSend(r, client, "restarting", "sent while restarting", false, 16, nil)) })

	// A new llama-server serves.
	var newPid int
	var readyAt time.Time
	require.Eventually(t, func() bool {
		pids := llamatest.ProcessesWithArgs("--port", port)
		if len(pids) != 1 || pids[0] == oldPid {
			return false
		}
		resp, err := http.Get("http://127.0.0.1:" + port + "/health")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			newPid, readyAt = pids[0], time.Now()
			return true
		}
		return false
	}, time.Minute, 10*time.Millisecond, "no new llama-server serves:\n%s", tail(r.logs.String(), 40))
	assert.False(t, llamatest.Alive(oldPid), "the hung llama-server is still there")

	ended := make(chan struct{})
	go func() { wg.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(hungClientMax + 5*time.Second):
		t.Fatalf("requests still running %v after the SIGSTOP: a hang", time.Since(stoppedAt))
	}
	// After the restart: served as usual.
	after := hungSend(r, client, "after", "sent after the restart", true, 16, nil)
	record(after)

	detection := detectedAt.Sub(stoppedAt)
	bound := hungAfter + hungInterval + hungTimeout
	logs := r.logs.String()
	t.Logf("SIGSTOP of llama-server pid %d: found hung and killed after %v (hung_after %v, bound hung_after+interval+timeout %v); new pid %d serving %v after the SIGSTOP, %v after the kill (restart::initial_interval %v + load)",
		oldPid, detection.Round(time.Millisecond), hungAfter, bound, newPid, readyAt.Sub(stoppedAt).Round(time.Millisecond),
		readyAt.Sub(detectedAt).Round(time.Millisecond), hungInitial)
	// The log is polled every 10 ms: allow that and a little scheduling.
	assert.LessOrEqual(t, detection, bound+500*time.Millisecond, "found hung later than hung_after + interval + timeout")
	assert.GreaterOrEqual(t, detection, hungAfter-hungInterval, "found hung before hung_after")
	assert.LessOrEqual(t, readyAt.Sub(stoppedAt), bound+hungInitial+10*time.Second, "the new llama-server took too long")
	assert.Contains(t, logs, "llama-server stopped answering /health for")
	assert.Contains(t, logs, "it is stopped (state T)")
	assert.Contains(t, logs, fmt.Sprintf(`"pid": %d`, oldPid))

	// Every request ended, well before the client's timeout, clearly.
	sort.Slice(results, func(i, j int) bool { return results[i].start.Before(results[j].start) })
	counts := map[string]map[string]int{}
	for _, res := range results {
		out := hungOutcome(res)
		if counts[res.kind] == nil {
			counts[res.kind] = map[string]int{}
		}
		counts[res.kind][out]++
		took := res.end.Sub(res.start)
		t.Logf("%-11s %-22s streamed=%-5t took %7v, ended %7v after the SIGSTOP: %s", res.id, res.kind, res.streamed,
			took.Round(time.Millisecond), res.end.Sub(stoppedAt).Round(time.Millisecond), out)
		assert.Less(t, took, hungClientMax, "%s took as long as the client's timeout", res.id)
		switch res.kind {
		case "in flight":
			assert.True(t, res.end.After(stoppedAt), "%s was not in flight at the SIGSTOP (raise maxTokens)", res.id)
			assert.True(t, res.end.After(detectedAt.Add(-time.Second)), "%s ended before the hung server was killed", res.id)
			if res.streamed {
				assert.Equal(t, "stream timeout event", out, res.id)
			} else {
				assert.Contains(t, []string{hungClosed, "ok"}, out, res.id)
			}
		case "sent during the hang":
			// The launcher still reported the server ready: sent, never answered (streamed or not,
			// no header came).
			assert.Contains(t, []string{hungClosed, "ok"}, out, res.id)
		case "sent while restarting", "sent after the restart":
			assert.Equal(t, "ok", out, res.id)
		}
	}
	t.Logf("outcomes: %v", counts)

	// One span per request, with the error recorded on the failed ones.
	byTrace := func() map[string][]fileSpan {
		m := map[string][]fileSpan{}
		for _, s := range r.spans() {
			if s.Kind == 2 && s.Attrs["url.path"] == "/v1/chat/completions" {
				m[s.TraceID] = append(m[s.TraceID], s)
			}
		}
		return m
	}
	require.Eventually(t, func() bool {
		m := byTrace()
		for _, res := range results {
			if len(m[res.traceID]) == 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "a request has no span")
	time.Sleep(2 * time.Second) // a second span would have come by now
	m := byTrace()
	withError := 0
	for _, res := range results {
		spans := m[res.traceID]
		require.Len(t, spans, 1, "%s: one span per request", res.id)
		s := spans[0]
		if hungOutcome(res) == "ok" {
			assert.Nil(t, s.Attrs["error.type"], "%s succeeded but its span has an error", res.id)
			if res.kind != "sent after the restart" {
				t.Logf("span of %s: no error, waited %v s for llama-server (%v)", res.id, s.Attrs["llamacpp.gateway.wait"], s.Attrs["llamacpp.gateway.wait.reason"])
			}
			continue
		}
		withError++
		assert.Equal(t, "timeout", s.Attrs["error.type"], "%s: the span of a request the hang ended", res.id)
		assert.Contains(t, s.Status, "hung", "%s: the span's status says why", res.id)
		assert.NotEmpty(t, s.Status, "%s failed but its span has no status message", res.id)
		t.Logf("span of %s: error.type %v, status %q", res.id, s.Attrs["error.type"], s.Status)
	}
	t.Logf("spans: %d requests, %d spans with an error", len(results), withError)

	// Nothing of the hang is left behind in the collector.
	end := sampleProc(t, collector, r.PprofPort)
	t.Logf("collector before the SIGSTOP: %v; at the end: %v", before, end)
	assert.LessOrEqual(t, end.Goroutines, before.Goroutines+20, "goroutines left behind by the hang")
}
