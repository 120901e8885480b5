// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// TestChaosKillStorm runs the default config (launcher, gateway, genaienrich, exporters) on the tiny
// model, sends 4 requests a second through the gateway, and kills llama-server with SIGKILL 20
// times, 1.5 s apart. The launcher restarts it each time; a request that arrives meanwhile waits
// for it (gateway::server_wait) instead of failing. Only a request in flight at a kill may fail,
// and every request gets exactly one span.
func TestChaosKillStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 40 s")
	}
	const (
		killEvery = 1500 * time.Millisecond
		qps       = 4
	)
	kills := chaosSize(20, 200) // make chaos CHAOS=long: five minutes of kills
	r := startDefaultConfig(t, "")
	client := &http.Client{Timeout: time.Minute}

	type result struct {
		id         string
		start, end time.Time
		status     int
		err        error
	}
	var (
		mu      sync.Mutex
		results []result
		killed  []time.Time
		wg      sync.WaitGroup
	)
	stop := make(chan struct{})
	wg.Go(func() {
		tick := time.NewTicker(time.Second / qps)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			wg.Go(func() {
				id := fmt.Sprintf("storm-%d", i)
				body := fmt.Sprintf(`{"messages":[{"role":"user","content":"request %s"}],"max_tokens":8,"user":%q}`, id, id)
				res := result{id: id, start: time.Now()}
				resp, err := client.Post(r.GatewayURL()+"/chat/completions", "application/json", bytes.NewReader([]byte(body)))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					res.status = resp.StatusCode
				}
				res.err, res.end = err, time.Now()
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
			})
		}
	})
	time.Sleep(time.Second) // some requests before the first kill
	port := strconv.Itoa(r.LlamaPort)
	for k := range kills {
		var pids []int
		require.Eventually(t, func() bool {
			pids = llamatest.ProcessesWithArgs("--port", port)
			return len(pids) == 1
		}, 30*time.Second, 10*time.Millisecond, "kill %d: no single llama-server on port %s:\n%s", k, port, tail(r.logs.String(), 40))
		at := time.Now()
		require.NoError(t, syscall.Kill(pids[0], syscall.SIGKILL))
		mu.Lock()
		killed = append(killed, at)
		mu.Unlock()
		time.Sleep(killEvery)
	}
	time.Sleep(2 * time.Second) // requests after the last restart
	close(stop)
	wg.Wait()

	inFlight := func(res result) bool {
		for _, k := range killed {
			if !k.Before(res.start) && !k.After(res.end) {
				return true
			}
		}
		return false
	}
	ok, failedInFlight := 0, 0
	var failedOther []string
	for _, res := range results {
		switch {
		case res.err == nil && res.status == http.StatusOK:
			ok++
		case inFlight(res):
			failedInFlight++
		default:
			failedOther = append(failedOther, fmt.Sprintf("%s status %d err %v (%s..%s)", res.id, res.status, res.err,
				res.start.Format("15:04:05.000"), res.end.Format("15:04:05.000")))
		}
	}
	t.Logf("kill storm: %d kills %v apart, %d requests at %d/s: %d ok, %d failed in flight at a kill, %d failed otherwise",
		len(killed), killEvery, len(results), qps, ok, failedInFlight, len(failedOther))
	assert.Empty(t, failedOther, "requests that were not in flight at a kill failed")

	// One span per request: the gateway's server spans of this run's chat requests.
	require.Eventually(t, func() bool {
		n := 0
		for _, s := range r.spans() {
			if s.Kind == 2 && s.Attrs["url.path"] == "/v1/chat/completions" {
				n++
			}
		}
		return n >= len(results)
	}, 30*time.Second, 100*time.Millisecond, "fewer gateway spans than requests")
	time.Sleep(2 * time.Second)
	n, waited := 0, 0
	for _, s := range r.Spans(t) {
		if s.Kind == 2 && s.Attrs["url.path"] == "/v1/chat/completions" {
			n++
			if _, ok := s.Attrs["llamacpp.gateway.wait"]; ok {
				waited++
			}
		}
	}
	t.Logf("spans: %d for %d requests; %d of them waited for llama-server", n, len(results), waited)
	assert.Equal(t, len(results), n, "one span per request")
	assert.Positive(t, waited, "no request waited for a restart")
}
