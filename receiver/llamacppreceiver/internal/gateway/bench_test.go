// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// The benchmarks compare going straight to a real llama-server (llamatest's tiny model) with
// going through the gateway, in one run:
//
//	go test -run '^$' -bench . -benchtime 2000x ./internal/gateway/
//
// BenchmarkProxy reports each path's median and p99 latency and requests/s at concurrency 1
// and 8. BenchmarkGatewayOverhead interleaves the two paths request by request, so both see the
// same load, and reports what the gateway adds. BenchmarkProxyFixture does the same against an
// in-process fake server, which isolates the gateway's own cost.

var benchBody = []byte(`{"model":"tiny-test","messages":[{"role":"user","content":"hi"}],"max_tokens":4}`)

// benchBodyChat asks for 128 generated tokens, a short but realistic chat answer (about 30 ms
// on this CPU build, a third of a second on a GPU with a 3B model): the gateway's fixed cost
// against a request of the length it will see in use.
var benchBodyChat = []byte(`{"model":"tiny-test","messages":[{"role":"user","content":"hi"}],"max_tokens":128,"ignore_eos":true}`)

type benchTargets struct {
	direct, gateway string
	client          *http.Client
	body            []byte // default benchBody
}

func newBenchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 4 * time.Second, DisableCompression: true,
	}}
}

// startBenchGateway puts a gateway (spans built and handed to a no-op consumer, metrics kept)
// in front of upstream.
func startBenchGateway(b *testing.B, upstream string) string {
	g, err := New(Config{Server: listenOn("127.0.0.1:0")}, Settings{
		Upstream:  fixedURL(upstream),
		Traces:    consumertest.NewNop(),
		ScopeName: "bench",
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := g.Start(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Shutdown(context.Background()) })
	return "http://" + g.Addr()
}

// llamaTargets starts a llama-server and a gateway in front of it. The server has 8 slots, so
// concurrency 8 is served in parallel, and:
//   - 32 HTTP threads: llama-server's HTTP library keeps a thread per open keep-alive connection
//     (default n_parallel+2 threads), and the benchmark holds connections both directly and
//     through the gateway, which with the default would make new connections wait for a thread;
//   - one compute thread (--threads 1): on a 2-core machine a generating llama-server would
//     otherwise hold both cores, and any CPU the client or the gateway uses would slow the
//     generation itself; with a GPU doing the generation, the host CPU is free as it is here;
//   - no host-memory prompt cache (--cache-ram 0): with it (8 GiB by default) build b11669 gets
//     slower with every few thousand requests (1380 req/s, then 1270, 880, 750 in four runs of
//     2000 at concurrency 8), which would favour whichever path is measured first.
func llamaTargets(b *testing.B) benchTargets {
	srv := llamatest.Start(b, llamatest.Options{Alias: "tiny-test", Parallel: 8, ContextSize: 4096,
		Args: []string{"--threads-http", "32", "--cache-ram", "0", "--threads", "1"}})
	gw := startBenchGateway(b, srv.URL)
	return benchTargets{direct: srv.URL + "/v1/chat/completions", gateway: gw + "/v1/chat/completions", client: newBenchClient()}
}

func fixtureTargets(b *testing.B) benchTargets {
	answer := fixture(b, "b11669/chat-completion.json")
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(answer)
	}))
	b.Cleanup(up.Close)
	gw := startBenchGateway(b, up.URL)
	return benchTargets{direct: up.URL + "/v1/chat/completions", gateway: gw + "/v1/chat/completions", client: newBenchClient()}
}

// do sends one request; it may run on any goroutine, so it reports failures with Errorf.
func (t benchTargets) do(b *testing.B, url string) time.Duration {
	start := time.Now()
	body := t.body
	if body == nil {
		body = benchBody
	}
	resp, err := t.client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Errorf("%s: %v", url, err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		b.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return d
}

// warm opens conc connections on each of urls and sends a few requests through them, after
// closing the client's idle connections of the previous sub-benchmark.
func (t benchTargets) warm(b *testing.B, conc int, urls ...string) {
	t.client.CloseIdleConnections()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				for _, u := range urls {
					t.do(b, u)
				}
			}
		}()
	}
	wg.Wait()
}

// run calls fn(i) for i in [0, b.N) from conc goroutines.
func run(b *testing.B, conc int, fn func(i int)) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	return elapsed
}

func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mean(d []time.Duration) time.Duration {
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return sum / time.Duration(len(d))
}

// trimmedMean is the mean of the fastest 99%: on a shared 2-core machine a few requests of
// either path stall for hundreds of milliseconds (scheduling, not the gateway), and one such
// stall moves a plain mean more than the gateway's whole cost.
func trimmedMean(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return mean(s[:max(1, len(s)*99/100)])
}

func benchPaths(b *testing.B, t benchTargets) {
	for _, conc := range []int{1, 8} {
		for _, path := range []string{"direct", "gateway"} {
			b.Run(fmt.Sprintf("%s/conc=%d", path, conc), func(b *testing.B) {
				url := t.direct
				if path == "gateway" {
					url = t.gateway
				}
				t.warm(b, conc, url)
				lat := make([]time.Duration, b.N)
				elapsed := run(b, conc, func(i int) { lat[i] = t.do(b, url) })
				b.ReportMetric(ms(quantile(lat, 0.5)), "p50-ms")
				b.ReportMetric(ms(quantile(lat, 0.99)), "p99-ms")
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			})
		}
	}
}

func benchOverhead(b *testing.B, t benchTargets) {
	for _, conc := range []int{1, 8} {
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			t.warm(b, conc, t.direct, t.gateway)
			direct := make([]time.Duration, b.N)
			gateway := make([]time.Duration, b.N)
			run(b, conc, func(i int) {
				// Alternate the order so neither path always runs right after the other.
				if i%2 == 0 {
					direct[i] = t.do(b, t.direct)
					gateway[i] = t.do(b, t.gateway)
				} else {
					gateway[i] = t.do(b, t.gateway)
					direct[i] = t.do(b, t.direct)
				}
			})
			b.ReportMetric(ms(quantile(direct, 0.5)), "direct-p50-ms")
			b.ReportMetric(ms(quantile(gateway, 0.5)), "gateway-p50-ms")
			b.ReportMetric(ms(quantile(gateway, 0.5)-quantile(direct, 0.5)), "added-p50-ms")
			b.ReportMetric(ms(quantile(gateway, 0.99)-quantile(direct, 0.99)), "added-p99-ms")
			// Closed-loop clients: throughput is inversely proportional to mean latency.
			b.ReportMetric(float64(mean(direct))/float64(mean(gateway)), "tput-ratio")
			b.ReportMetric(float64(trimmedMean(direct))/float64(trimmedMean(gateway)), "tput-ratio-p99trim")
			b.ReportMetric(ms(slices.Max(direct)), "direct-max-ms")
			b.ReportMetric(ms(slices.Max(gateway)), "gateway-max-ms")
		})
	}
}

// BenchmarkProxy measures direct and gateway paths to a real llama-server one after the other.
func BenchmarkProxy(b *testing.B) {
	benchPaths(b, llamaTargets(b))
}

// BenchmarkGatewayOverhead interleaves direct and gateway requests to a real llama-server and
// reports what the gateway adds, for the shortest request (4 tokens, about 1 ms: the worst case
// for the throughput ratio, since the gateway's cost is fixed per request) and for a 128-token
// answer.
func BenchmarkGatewayOverhead(b *testing.B) {
	t := llamaTargets(b)
	b.Run("tokens=4", func(b *testing.B) { benchOverhead(b, t) })
	t.body = benchBodyChat
	b.Run("tokens=128", func(b *testing.B) { benchOverhead(b, t) })
}

// BenchmarkProxyFixture is BenchmarkGatewayOverhead against an in-process server answering a
// captured chat completion: the gateway's own cost, without llama-server's.
func BenchmarkProxyFixture(b *testing.B) {
	benchOverhead(b, fixtureTargets(b))
}

// BenchmarkHandler runs one traced request through Handler with an in-memory recorder:
// allocations and CPU of the handler and the processing of its span.
func BenchmarkHandler(b *testing.B) {
	answer := fixture(b, "b11669/chat-completion.json")
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(answer)
	}))
	defer up.Close()
	g, err := New(Config{}, Settings{Upstream: fixedURL(up.URL), Traces: consumertest.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = g.Shutdown(context.Background()) }()
	h := g.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(benchBody))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
