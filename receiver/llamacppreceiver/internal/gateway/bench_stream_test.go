// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
)

// streamChunks is the length of BenchmarkStreamProxy's answers: the content chunk of the captured
// b11669 stream repeated, between its first (role) and last (usage, [DONE]) events.
const streamChunks = 200

// BenchmarkStreamProxy measures the CPU a streamed answer costs the process, straight from an
// in-process upstream and through the gateway (with content capture, as config.yaml has it), in
// interleaved requests, one at a time. The upstream writes and flushes one SSE event at a time,
// as llama-server does: back to back (gap=0), or one every 300 µs, about the gap between chunks
// of the demo model on this machine's llama-server, so that every chunk finds the gateway's
// goroutines asleep and wakes them. Everything (client, gateway, upstream) is in this process,
// so the gateway's cost is the difference: cpu-us-per-chunk-added.
func BenchmarkStreamProxy(b *testing.B) {
	for _, gap := range []time.Duration{0, 300 * time.Microsecond} {
		b.Run("gap="+gap.String(), func(b *testing.B) { benchStreamProxy(b, gap) })
	}
}

func benchStreamProxy(b *testing.B, gap time.Duration) {
	events := bytes.SplitAfter(fixture(b, "b11669/chat-completion-stream.sse"), []byte("\n\n"))
	var body [][]byte
	for _, e := range events {
		if len(bytes.TrimSpace(e)) > 0 {
			body = append(body, e)
		}
	}
	if len(body) < 4 {
		b.Fatalf("the fixture has %d events", len(body))
	}
	first, content, tail := body[0], body[1], body[len(body)-2:]
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		write := func(e []byte) {
			if gap > 0 {
				time.Sleep(gap)
			}
			_, _ = w.Write(e)
			fl.Flush()
		}
		write(first)
		for range streamChunks {
			write(content)
		}
		for _, e := range tail {
			write(e)
		}
	}))
	b.Cleanup(up.Close)
	// The default write_stall_timeout: its deadline set and cleared around every write is part of
	// the cost of a chunk.
	g, err := New(Config{Server: listenOn("127.0.0.1:0"), CaptureContent: true, WriteStallTimeout: DefaultWriteStallTimeout}, Settings{
		Upstream: fixedURL(up.URL), Traces: consumertest.NewNop(), ScopeName: "bench",
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := g.Start(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Shutdown(context.Background()) })
	client := newBenchClient()
	body0 := []byte(`{"messages":[{"role":"user","content":"Tell me a story."}],"max_tokens":200,"stream":true}`)
	get := func(url string) {
		resp, err := client.Post(url, "application/json", bytes.NewReader(body0))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	urls := [2]string{up.URL + "/v1/chat/completions", "http://" + g.Addr() + "/v1/chat/completions"}
	var cpu [2]time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		arm := i % 2
		before := processCPU(b)
		get(urls[arm])
		cpu[arm] += processCPU(b) - before
	}
	n := float64(b.N / 2)
	if n == 0 {
		return
	}
	perChunk := func(d time.Duration) float64 { return float64(d.Microseconds()) / n / streamChunks }
	b.ReportMetric(perChunk(cpu[0]), "cpu-us-per-chunk-direct")
	b.ReportMetric(perChunk(cpu[1]), "cpu-us-per-chunk-gateway")
	b.ReportMetric(perChunk(cpu[1]-cpu[0]), "cpu-us-per-chunk-added")
}

// processCPU is the process's user and system CPU time so far (getrusage).
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
