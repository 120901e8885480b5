package gateway

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

func BenchmarkZZProbe(b *testing.B) {
	var args []string
	if a := os.Getenv("ZZARGS"); a != "" {
		args = strings.Fields(a)
	}
	srv := llamatest.Start(b, llamatest.Options{Alias: "tiny-test", Parallel: 8, ContextSize: 4096, Args: args})
	set := Settings{Upstream: fixedURL(srv.URL), ScopeName: "bench"}
	if os.Getenv("ZZNOTRACE") == "" {
		set.Traces = consumertest.NewNop()
	}
	g, _ := New(Config{Endpoint: "127.0.0.1:0"}, set)
	_ = g.Start(context.Background())
	defer g.Shutdown(context.Background())
	t := benchTargets{direct: srv.URL + "/v1/chat/completions", gateway: "http://" + g.Addr() + "/v1/chat/completions", client: newBenchClient()}
	t.warm(b, 1)
	n := 1500
	d, gw := make([]time.Duration, n), make([]time.Duration, n)
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			d[i] = t.do(b, t.direct)
			gw[i] = t.do(b, t.gateway)
		} else {
			gw[i] = t.do(b, t.gateway)
			d[i] = t.do(b, t.direct)
		}
	}
	fmt.Printf("args=%q notrace=%q direct p50 %.3f p99 %.3f mean %.3f | gateway p50 %.3f p99 %.3f mean %.3f | added p50 %.3f\n", args, os.Getenv("ZZNOTRACE"),
		ms(quantile(d, .5)), ms(quantile(d, .99)), ms(mean(d)), ms(quantile(gw, .5)), ms(quantile(gw, .99)), ms(mean(gw)), ms(quantile(gw, .5)-quantile(d, .5)))
}
