// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/floats"
)

// TestSoak runs the default config under steady load and fails when a resource of the collector
// grows without bound. lltload sends 10 requests a second through the gateway (half of them
// streamed), the llamacpp receiver scrapes llama-server every second as config.yaml says, and at
// every sample the test also scrapes the collector's own metrics and the live dashboard's data,
// as a monitoring system and a browser would.
//
// At every sample (each minute in `make soak`, more often in the CI-sized run) it records the
// collector's RSS, goroutines, open files and Go heap. `make soak DURATION=1h` runs it for an
// hour (LLT_SOAK_DURATION); `make test` runs it for 90 s. LLT_SOAK_OUT names a folder for the
// samples (samples.csv) and a summary (report.md).
//
// What "grows without bound" means here, judged on two things:
//   - Under load, after a warm-up (the first fifth of the run): the floor (the lowest sample) of
//     the last third may exceed that of the middle third by no more than a slack (goroutines:
//     10% or 10; open files: 10% or 8; RSS and heap: 5% or 8 MiB in runs of 20 minutes or more,
//     10% or 16 MiB in shorter ones, whose stores are still filling). Floors, because requests in
//     flight (each holds a few goroutines, an fd and buffers) and garbage not yet collected come
//     and go with how busy the machine is at a sample, while a leak raises the floor. Bounded
//     stores (the dashboards' retention, set to a fifth of a long run, the points per series, the
//     embeddings window) are full after the warm-up at 10 requests/s; a leak keeps rising to the
//     end. In an hour the thirds are 16 minutes apart: RSS rising by more than about 32 MiB an hour
//     fails.
//   - After the load stops and the collector settles (up to 30 s), goroutines and open files are
//     back within the same slack of what they were before the load began: nothing per request is
//     left behind.
func TestSoak(t *testing.T) {
	duration := 90 * time.Second
	if v := os.Getenv("LLT_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "LLT_SOAK_DURATION")
		duration = d
	}
	every := min(time.Minute, duration/9)
	const qps = 10

	// The dashboards keep an hour of data (config.yaml's plotlyhtml retention), a store that
	// fills for the whole of a one-hour run and would look like a leak to any judge. For runs of
	// 20 minutes or more the soak sets the retention to a fifth of the run, so that the store is
	// full by the end of the warm-up and the rest of the run shows whether anything else grows.
	// Every other setting is config.yaml's.
	extra := ""
	if duration >= 20*time.Minute {
		extra = fmt.Sprintf("exporters:\n  plotlyhtml:\n    retention: %s\n", duration/5)
		t.Logf("soak: plotlyhtml retention %v (a fifth of the run)", duration/5)
	}
	r := startDefaultConfigWith(t, "", extra)
	pid := r.cmd.Process.Pid
	time.Sleep(3 * time.Second) // the first scrapes and dashboard writes
	before := soakSample{procStats: sampleProc(t, pid, r.PprofPort),
		HeapBytes: r.InternalMetric(t, "otelcol_process_runtime_heap_alloc_bytes")}
	t.Logf("soak before the load: %s, heap %.1f MiB", before.procStats, before.HeapBytes/(1<<20))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	load := exec.CommandContext(ctx, binary(t, "LLTLOAD_BIN", "../bin/lltload", "make build"),
		"--url", strings.TrimSuffix(r.GatewayURL(), "/v1"), "--qps", fmt.Sprint(qps), "--arrivals", "poisson",
		"--stream-ratio", "0.5", "--max-tokens", "8:32", "--concurrency", "64", "--duration", duration.String(), "--json")
	var loadOut, loadErr lockedBuffer
	load.Stdout, load.Stderr = &loadOut, &loadErr
	require.NoError(t, load.Start())
	loadDone := make(chan error, 1)
	go func() { loadDone <- load.Wait() }()

	start := time.Now()
	var samples []soakSample
	take := func() {
		s := soakSample{At: time.Since(start)}
		var err error
		s.procStats, err = readProcStats(pid, r.PprofPort)
		require.NoError(t, err, "collector:\n%s", tail(r.logs.String(), 40))
		s.HeapBytes = r.InternalMetric(t, "otelcol_process_runtime_heap_alloc_bytes")
		s.Spans = r.InternalMetric(t, "otelcol_exporter_sent_spans", `exporter="file"`)
		soakScrapeLive(t, r)
		samples = append(samples, s)
		t.Logf("soak %6s: %s, heap %.1f MiB, %.0f spans exported", s.At.Round(time.Second), s.procStats,
			s.HeapBytes/(1<<20), s.Spans)
	}
	take()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-tick.C:
			take()
		case err := <-loadDone:
			require.NoError(t, err, "lltload: %s", loadErr.String())
			running = false
		}
	}
	take()
	after := soakSettle(t, pid, r.PprofPort, before.procStats)
	t.Logf("soak after the load, settled: %s", after)

	var sum struct {
		Sent, OK, Errors int
		ErrorsByKind     map[string]int `json:"errors_by_kind"`
		Streamed         int
	}
	require.NoError(t, json.Unmarshal([]byte(loadOut.String()), &sum), "lltload: %s %s", loadOut.String(), loadErr.String())
	t.Logf("soak load: %d requests over %v (%d streamed): %d ok, %d errors %v", sum.Sent, duration, sum.Streamed, sum.OK, sum.Errors, sum.ErrorsByKind)
	assert.Zero(t, sum.Errors, "requests failed during the soak")
	assert.GreaterOrEqual(t, float64(sum.Sent), 0.8*qps*duration.Seconds(), "lltload sent too few requests")

	verdicts := soakJudge(samples, before, after, duration >= 20*time.Minute)
	for _, v := range verdicts {
		t.Log(v)
		assert.False(t, v.Grows, "%s grows without bound", v.Name)
		assert.False(t, v.LeftBehind, "%s did not come back after the load", v.Name)
	}
	if dir := os.Getenv("LLT_SOAK_OUT"); dir != "" {
		require.NoError(t, soakWrite(dir, duration, samples, verdicts, sum.Sent, sum.OK, sum.Errors))
		t.Logf("soak samples and report in %s", dir)
	}
	r.Stop(t)
}

// soakSample is one sample of the collector during the soak.
type soakSample struct {
	At time.Duration
	procStats
	HeapBytes float64 // otelcol_process_runtime_heap_alloc_bytes
	Spans     float64 // spans the file exporter sent so far
}

// soakScrapeLive reads the live dashboard's pages as a browser does and the collector's metrics as a
// Prometheus server does (the metrics are read by InternalMetric already).
func soakScrapeLive(t *testing.T, r *defaultRun) {
	t.Helper()
	for _, page := range []string{"/", "/api/dashboard.json?d=overview,live,unified"} {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", r.ServePort, page))
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", page)
	}
}

// soakVerdict is what the soak concludes about one resource.
type soakVerdict struct {
	Name, Unit                  string
	Before, First, Last, Max    float64 // before the load; first and last sample under load; the most
	MiddleFloor, LastFloor      float64 // floors of the middle and last thirds under load
	Slack                       float64
	After                       float64 // settled after the load (goroutines and open files)
	Grows, LeftBehind, Settling bool
}

func (v soakVerdict) String() string {
	s := fmt.Sprintf("%-10s before %7.1f, under load first %7.1f, last %7.1f, max %7.1f %s; floor of the middle third %7.1f, of the last third %7.1f (allowed +%.1f)",
		v.Name, v.Before, v.First, v.Last, v.Max, v.Unit, v.MiddleFloor, v.LastFloor, v.Slack)
	if v.Settling {
		s += fmt.Sprintf("; after the load %.0f", v.After)
	}
	return s + ": " + map[bool]string{false: "bounded", true: "GROWS"}[v.Grows || v.LeftBehind]
}

// soakResources are the resources the soak watches, with their slack: the larger of a share of
// their level and a floor.
var soakResources = []struct {
	name, unit     string
	frac, minSlack float64 // the slack of a short run
	memory         bool    // halve the slack in a long run (20 minutes or more)
	settles        bool    // must come back to its level before the load
	get            func(soakSample) float64
}{
	{"rss", "MiB", 0.10, 16, true, false, func(s soakSample) float64 { return float64(s.RSSKiB) / 1024 }},
	{"heap", "MiB", 0.10, 16, true, false, func(s soakSample) float64 { return s.HeapBytes / (1 << 20) }},
	{"goroutines", "", 0.10, 10, false, true, func(s soakSample) float64 { return float64(s.Goroutines) }},
	{"open files", "", 0.10, 8, false, true, func(s soakSample) float64 { return float64(s.FDs) }},
}

func (s procStats) slackOK(before procStats, frac, minSlack float64, get func(soakSample) float64) bool {
	b, a := get(soakSample{procStats: before}), get(soakSample{procStats: s})
	return a-b <= math.Max(minSlack, frac*b)
}

// soakJudge compares, for each resource, the floor of the last third of the samples under load
// with that of the middle third (after a warm-up of a fifth), and the settled state after
// the load with the state before it.
func soakJudge(samples []soakSample, before soakSample, after procStats, long bool) []soakVerdict {
	warm := max(1, len(samples)/5)
	rest := samples[warm:]
	third := max(1, len(rest)/3)
	middle, last := rest[len(rest)-2*third:len(rest)-third], rest[len(rest)-third:]
	floor := func(ss []soakSample, get func(soakSample) float64) float64 {
		xs := make([]float64, len(ss))
		for i, s := range ss {
			xs[i] = get(s)
		}
		return floats.Min(xs)
	}
	var out []soakVerdict
	for _, res := range soakResources {
		v := soakVerdict{Name: res.name, Unit: res.unit, Before: res.get(before),
			First: res.get(samples[0]), Last: res.get(samples[len(samples)-1]),
			MiddleFloor: floor(middle, res.get), LastFloor: floor(last, res.get)}
		for _, s := range samples {
			v.Max = math.Max(v.Max, res.get(s))
		}
		frac, minSlack := res.frac, res.minSlack
		if res.memory && long {
			frac, minSlack = frac/2, minSlack/2
		}
		v.Slack = math.Max(minSlack, frac*v.MiddleFloor)
		v.Grows = v.LastFloor-v.MiddleFloor > v.Slack
		if res.settles {
			v.Settling, v.After = true, res.get(soakSample{procStats: after})
			v.LeftBehind = !after.slackOK(before.procStats, res.frac, res.minSlack, res.get)
		}
		out = append(out, v)
	}
	return out
}

// soakSettle waits up to 30 s after the load for goroutines and open files to come back within
// their slack of before, and returns the last sample.
func soakSettle(t *testing.T, pid, pprofPort int, before procStats) procStats {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := sampleProc(t, pid, pprofPort)
		ok := true
		for _, res := range soakResources {
			if res.settles {
				ok = ok && s.slackOK(before, res.frac, res.minSlack, res.get)
			}
		}
		if ok || time.Now().After(deadline) {
			return s
		}
		time.Sleep(time.Second)
	}
}

// soakWrite writes the samples as CSV and a Markdown summary into dir.
func soakWrite(dir string, d time.Duration, samples []soakSample, verdicts []soakVerdict, sent, ok, errs int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var csv strings.Builder
	csv.WriteString("seconds,rss_mib,heap_mib,goroutines,open_files,threads,spans_exported\n")
	for _, s := range samples {
		fmt.Fprintf(&csv, "%.0f,%.1f,%.1f,%d,%d,%d,%.0f\n", s.At.Seconds(), float64(s.RSSKiB)/1024, s.HeapBytes/(1<<20),
			s.Goroutines, s.FDs, s.Threads, s.Spans)
	}
	if err := os.WriteFile(filepath.Join(dir, "samples.csv"), []byte(csv.String()), 0o644); err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Soak: %v of the default config at 10 requests/s\n\n%d requests (%d ok, %d errors), %d samples.\n\n",
		d, sent, ok, errs, len(samples))
	md.WriteString("| resource | before load | first sample | last sample | max | floor, middle third | floor, last third | allowed rise | after load | verdict |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, v := range verdicts {
		after := "-"
		if v.Settling {
			after = fmt.Sprintf("%.0f", v.After)
		}
		fmt.Fprintf(&md, "| %s %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %s | %s |\n", v.Name, v.Unit, v.Before, v.First,
			v.Last, v.Max, v.MiddleFloor, v.LastFloor, v.Slack, after, map[bool]string{false: "bounded", true: "GROWS"}[v.Grows || v.LeftBehind])
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(md.String()), 0o644)
}

// TestSoakJudge checks the judge itself on made-up samples: a steady collector with bursts of
// requests in flight is bounded; one whose goroutine floor or RSS keeps rising grows; one that
// keeps goroutines after the load left them behind.
func TestSoakJudge(t *testing.T) {
	mk := func(n int, rss func(i int) int64, gor func(i int) int) []soakSample {
		var ss []soakSample
		for i := range n {
			ss = append(ss, soakSample{At: time.Duration(i) * time.Minute, HeapBytes: 40 << 20,
				procStats: procStats{RSSKiB: rss(i) * 1024, Goroutines: gor(i), FDs: 30}})
		}
		return ss
	}
	before := soakSample{procStats: procStats{RSSKiB: 130 * 1024, Goroutines: 38, FDs: 27}, HeapBytes: 35 << 20}
	settled := procStats{RSSKiB: 150 * 1024, Goroutines: 40, FDs: 28}
	verdict := func(vs []soakVerdict, name string) soakVerdict {
		for _, v := range vs {
			if v.Name == name {
				return v
			}
		}
		t.Fatalf("no verdict for %s", name)
		return soakVerdict{}
	}

	// Steady, with every third sample a burst of 60 more goroutines (requests in flight).
	steady := mk(60, func(int) int64 { return 190 }, func(i int) int { return 44 + 60*btoi(i%3 == 0) })
	for _, v := range soakJudge(steady, before, settled, true) {
		assert.False(t, v.Grows || v.LeftBehind, "%s", v)
	}
	// A goroutine leak: one more every minute.
	leak := mk(60, func(int) int64 { return 190 }, func(i int) int { return 44 + i })
	assert.True(t, verdict(soakJudge(leak, before, settled, true), "goroutines").Grows)
	// RSS that keeps rising by 40 MiB an hour, under bursts of garbage every other sample.
	rising := mk(60, func(i int) int64 { return 150 + int64(i)*2/3 + 40*int64(i%2) }, func(int) int { return 44 })
	assert.True(t, verdict(soakJudge(rising, before, settled, true), "rss").Grows)
	// Goroutines left behind after the load.
	left := settled
	left.Goroutines = 90
	assert.True(t, verdict(soakJudge(steady, before, left, true), "goroutines").LeftBehind)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
