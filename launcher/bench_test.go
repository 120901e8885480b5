// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension/extensiontest"
)

// BenchmarkHealthToStatusOK measures, for a real llama-server on the tiny model, the time from
// the moment its /health first answers 200 to the moment the launcher reports StatusOK. The
// baseline, measured in the same run, is a client polling /health every millisecond: it sees
// the first 200 (the reference instant), and "load-ms" is the time from the process start to
// it. The launcher polls every 100 ms, so its median lag should be about 50 ms (target <= 150).
func BenchmarkHealthToStatusOK(b *testing.B) {
	var lags, loads []float64
	for b.Loop() {
		cfg := testConfig(b)
		l := newLauncher(cfg, extensiontest.NewNopSettings(NewFactory().Type()))
		host := &statusHost{}
		startedAt := time.Now()
		if err := l.Start(context.Background(), host); err != nil {
			b.Fatal(err)
		}
		first200 := pollHealth(b, l)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := l.WaitReady(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
		okAt, ok := host.firstAt(componentstatus.StatusOK)
		if !ok {
			b.Fatal("no StatusOK reported")
		}
		lags = append(lags, float64(okAt.Sub(first200))/float64(time.Millisecond))
		loads = append(loads, float64(first200.Sub(startedAt))/float64(time.Millisecond))
		if err := l.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(median(lags), "health-to-OK-ms")
	b.ReportMetric(slices.Max(lags), "max-health-to-OK-ms")
	b.ReportMetric(median(loads), "load-ms")
}

// pollHealth is the baseline client: it polls /health every millisecond and returns when it
// first answers 200.
func pollHealth(b *testing.B, l *llamaLauncher) time.Time {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if url := l.BaseURL(); url != "" {
			if resp, err := client.Get(url + "/health"); err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return time.Now()
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatal("/health never answered 200")
	return time.Time{}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
