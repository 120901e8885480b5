// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeServer answers chat completions like llama-server with ignore_eos: max_tokens tokens after
// perToken each, as one JSON answer or one chunk per token. Every failEvery-th request (0: none)
// gets a 500.
func fakeServer(t *testing.T, perToken time.Duration, failEvery int64) *httptest.Server {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			_, _ = w.Write([]byte(`{"status":"ok"}`))
			return
		}
		var body struct {
			MaxTokens int  `json:"max_tokens"`
			IgnoreEOS bool `json:"ignore_eos"`
			Stream    bool `json:"stream"`
		}
		if r.URL.Path != chatPath || json.NewDecoder(r.Body).Decode(&body) != nil || !body.IgnoreEOS {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if failEvery > 0 && n.Add(1)%failEvery == 0 {
			http.Error(w, `{"error":{"message":"Failed to parse input"}}`, http.StatusInternalServerError)
			return
		}
		if !body.Stream {
			time.Sleep(time.Duration(body.MaxTokens) * perToken)
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":5,"completion_tokens":%d}}`, body.MaxTokens)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for range body.MaxTokens {
			time.Sleep(perToken)
			_, _ = w.Write([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"))
			w.(http.Flusher).Flush()
		}
		_, _ = fmt.Fprintf(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":%d}}\n\ndata: [DONE]\n\n", body.MaxTokens)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func runBench(t *testing.T, args ...string) (int, *report, string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.json")
	var out, errOut bytes.Buffer
	code := run(t.Context(), append(args, "--json", path), &out, &errOut)
	b, err := os.ReadFile(path)
	require.NoError(t, err, "stderr:\n%s", errOut.String())
	var rep report
	require.NoError(t, json.Unmarshal(b, &rep))
	return code, &rep, out.String(), errOut.String()
}

func TestRunRequestRounds(t *testing.T) {
	direct := fakeServer(t, 50*time.Microsecond, 0)
	gateway := fakeServer(t, 50*time.Microsecond, 0)
	code, rep, out, errOut := runBench(t, "--direct", direct.URL, "--gateway", gateway.URL, "--wait", "5s",
		"--concurrency", "1,3", "--max-tokens", "16", "--round-requests", "6", "--rounds", "3", "--warmup", "1",
		"--pause", "0s", "--collector-pid", strconv.Itoa(os.Getpid()))
	require.Equal(t, exitOK, code, "stderr:\n%s", errOut)
	require.Len(t, rep.Results, 2)
	for _, c := range rep.Results {
		assert.Equal(t, 3, c.GatewayRounds)
		assert.Equal(t, 4, c.DirectRounds)
		assert.Equal(t, stopReason("rounds"), c.Stop)
		assert.Equal(t, 3, c.Ratio.N)
		assert.Equal(t, 2, c.Control.N)
		require.Len(t, c.Rounds, 2+7)
		var arms []arm
		for _, r := range c.Rounds {
			arms = append(arms, r.Arm)
			assert.Equal(t, 6, r.Requests)
			assert.Equal(t, 6, r.OK)
			assert.Equal(t, int64(6*16), r.Tokens)
			assert.Positive(t, r.TokensPerS)
			assert.Positive(t, r.WindowS)
			assert.Positive(t, r.RSSMiB)
		}
		assert.Equal(t, []arm{armDirect, armGateway, armDirect, armGateway, armDirect, armGateway, armDirect, armGateway, armDirect}, arms)
		assert.True(t, c.Rounds[0].Warmup && c.Rounds[1].Warmup && !c.Rounds[2].Warmup)
		assert.Equal(t, 24, c.Latency.Direct.Count)
		assert.Equal(t, 18, c.Latency.Gateway.Count)
		assert.Nil(t, c.TTFT)
		require.NotNil(t, c.Collector)
		assert.Equal(t, 18, c.Collector.GatewayRequests)
	}
	assert.Contains(t, out, "| concurrency | gateway rounds | direct tok/s | gateway/direct | A/A control |")
	assert.Contains(t, out, "| 3 | 3 (rounds) |")
	assert.Contains(t, out, "CPU ms / request, raw")
	assert.Contains(t, errOut, "lltbench: c=1 gateway #1")
}

func TestRunStreamDurationRounds(t *testing.T) {
	direct := fakeServer(t, 100*time.Microsecond, 0)
	gateway := fakeServer(t, 100*time.Microsecond, 5) // every 5th request fails
	code, rep, out, errOut := runBench(t, "--direct", direct.URL, "--gateway", gateway.URL,
		"--concurrency", "2", "--max-tokens", "8", "--stream", "--round-duration", "60ms", "--rounds", "3",
		"--warmup", "0", "--pause", "0s")
	require.Equal(t, exitOK, code, "stderr:\n%s", errOut)
	c := rep.Results[0]
	require.NotNil(t, c.TTFT)
	require.NotNil(t, c.Gap)
	assert.Positive(t, c.TTFT.Direct.Count)
	assert.Positive(t, c.Gap.Direct.Count)
	assert.Positive(t, c.Errors[armGateway]["http 500"])
	assert.Empty(t, c.Errors[armDirect])
	assert.Nil(t, c.Collector, "no --collector-pid")
	assert.Contains(t, out, "added TTFT mean / p99 ms")
	assert.Contains(t, out, "gateway errors: map[http 500:")
	for _, r := range c.Rounds {
		assert.Positive(t, r.TokensPerS)
	}
}

func TestRunTargetSpreadStops(t *testing.T) {
	direct := fakeServer(t, 0, 0)
	gateway := fakeServer(t, 0, 0)
	// A spread of 10000% is met as soon as the minimum rounds are done; a budget of 1 ns stops after the first pair.
	_, rep, _, errOut := runBench(t, "--direct", direct.URL, "--gateway", gateway.URL, "--concurrency", "1",
		"--max-tokens", "1", "--round-requests", "2", "--rounds", "3", "--max-rounds", "9", "--target-spread", "10000",
		"--warmup", "0", "--pause", "0s")
	assert.Equal(t, stopReason("target-spread"), rep.Results[0].Stop, errOut)
	assert.Equal(t, 3, rep.Results[0].GatewayRounds)

	_, rep, _, _ = runBench(t, "--direct", direct.URL, "--gateway", gateway.URL, "--concurrency", "1",
		"--max-tokens", "1", "--round-requests", "2", "--rounds", "3", "--warmup", "0", "--pause", "0s", "--budget", "1ns")
	assert.Equal(t, stopReason("budget"), rep.Results[0].Stop)
	assert.Equal(t, 2, rep.Results[0].GatewayRounds)
}

func TestRunFailures(t *testing.T) {
	var out, errOut bytes.Buffer
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	code := run(t.Context(), []string{"--direct", down.URL, "--gateway", down.URL, "--wait", "300ms"}, &out, &errOut)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut.String(), "not healthy after 300ms")

	errOut.Reset()
	code = run(t.Context(), []string{"--collector-pid", "999999999"}, &out, &errOut)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut.String(), "--collector-pid 999999999")
}

func TestSummarizeCollector(t *testing.T) {
	rounds := []roundResult{
		{Arm: armDirect, Index: -1, Warmup: true, CPUMS: 999, WindowS: 1, Requests: 1, RSSMiB: 500},
		{Arm: armDirect, Index: 0, CPUMS: 40, WindowS: 4, Requests: 10, RSSMiB: 100},
		{Arm: armGateway, Index: 1, CPUMS: 100, WindowS: 5, Requests: 20, RSSMiB: 120},
		{Arm: armDirect, Index: 2, CPUMS: 60, WindowS: 6, Requests: 10, RSSMiB: 110},
	}
	c := summarizeCollector(rounds)
	require.NotNil(t, c)
	// Baseline 100 ms over 10 s = 10 ms/s; the gateway round's 5 s would have cost 50 ms of it.
	// Medians: gateway 20 ms/s, direct (10 + 10)/2 ms/s, at 4 gateway requests/s.
	assert.Equal(t, &collectorSummary{GatewayCPUMSPerRequest: 5, NetCPUMSPerRequest: 2.5, NetCPUMSPerRequestMedian: 2.5,
		BaselineCPUMSPerS: 10, GatewayCPUMSPerS: 20, DirectCPUMSPerDirectRequest: 5, GatewayRequests: 20,
		RSSMiBMax: 120, RSSMiBLast: 110}, c)

	// A background burst in one gateway round moves the sums, not the medians.
	burst := append(slices.Clone(rounds),
		roundResult{Arm: armGateway, Index: 3, CPUMS: 5100, WindowS: 5, Requests: 20, RSSMiB: 120},
		roundResult{Arm: armDirect, Index: 4, CPUMS: 50, WindowS: 5, Requests: 10, RSSMiB: 110},
		roundResult{Arm: armGateway, Index: 5, CPUMS: 100, WindowS: 5, Requests: 20, RSSMiB: 120},
		roundResult{Arm: armDirect, Index: 6, CPUMS: 50, WindowS: 5, Requests: 10, RSSMiB: 110})
	c = summarizeCollector(burst)
	assert.Greater(t, c.NetCPUMSPerRequest, 80.0)
	assert.Equal(t, 2.5, c.NetCPUMSPerRequestMedian)
	assert.Nil(t, summarizeCollector(rounds[:2]), "no gateway round")
}
