// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// procSample is what lltbench reads of the collector's process at one moment.
type procSample struct {
	at      time.Time
	cpu     time.Duration // utime + stime of all its threads
	rssKiB  int64         // VmRSS
	hwmKiB  int64         // VmHWM, the peak of VmRSS
	anonKiB int64         // RssAnon: VmRSS less the mapped files (the executable) and shared memory
	spans   float64       // otelcol_receiver_accepted_spans summed over its series; NaN when not read
}

// procReader reads /proc/PID/stat and /proc/PID/status; pid 0 reads nothing.
type procReader struct {
	pid    int
	clkTck int
	root   string // "/proc"; tests point it at a fixture
	// metricsURL is the collector's own Prometheus endpoint; empty: spans are not counted.
	metricsURL string
	http       *http.Client
}

// sample reads the process now. Without a PID it returns a sample with the time only.
func (p procReader) sample() (procSample, error) {
	s := procSample{at: time.Now(), spans: math.NaN()}
	if p.metricsURL != "" {
		n, err := p.acceptedSpans()
		if err != nil {
			return s, err
		}
		s.spans = n
	}
	if p.pid == 0 {
		return s, nil
	}
	dir := p.root + "/" + strconv.Itoa(p.pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return s, err
	}
	if s.cpu, err = parseStatCPU(stat, p.clkTck); err != nil {
		return s, err
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return s, err
	}
	s.rssKiB, s.hwmKiB, s.anonKiB, err = parseStatusMem(status)
	return s, err
}

// parseStatCPU returns utime + stime (fields 14 and 15 of /proc/PID/stat, in clock ticks) as a
// duration. The command name (field 2) is in parentheses and may hold spaces and parentheses
// itself, so the fields are counted from the last ')'.
func parseStatCPU(stat []byte, clkTck int) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("/proc/PID/stat: no ')' after the command name")
	}
	f := bytes.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/PID/stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, field := range f[11:13] { // fields 14 (utime) and 15 (stime)
		n, err := strconv.ParseInt(string(field), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("/proc/PID/stat: %q is not a tick count", field)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / time.Duration(clkTck), nil
}

// parseStatusMem returns VmRSS, VmHWM and RssAnon (kB) from /proc/PID/status; RssAnon is 0 on
// kernels before 4.5, which do not write it.
func parseStatusMem(status []byte) (rss, hwm, anon int64, err error) {
	found := 0
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		key, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(key) {
		case "VmRSS":
			dst = &rss
		case "VmHWM":
			dst = &hwm
		case "RssAnon":
			dst = &anon
		default:
			continue
		}
		f := bytes.Fields(val)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, 0, 0, fmt.Errorf("/proc/PID/status: %s: %q is not a size in kB", key, bytes.TrimSpace(val))
		}
		if *dst, err = strconv.ParseInt(string(f[0]), 10, 64); err != nil {
			return 0, 0, 0, fmt.Errorf("/proc/PID/status: %s: %q is not a number", key, f[0])
		}
		if key[0] == 'V' {
			found++
		}
	}
	if found < 2 {
		return 0, 0, 0, errors.New("/proc/PID/status: no VmRSS or VmHWM (a kernel thread, or a process that ended?)")
	}
	return rss, hwm, anon, nil
}

// acceptedSpans reads the collector's own metrics and sums otelcol_receiver_accepted_spans over
// its series (one per receiver and transport).
func (p procReader) acceptedSpans() (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.metricsURL, nil)
	if err != nil {
		return 0, fmt.Errorf("--collector-metrics: %w", err)
	}
	c := p.http
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("--collector-metrics: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("--collector-metrics %s: HTTP %d", p.metricsURL, resp.StatusCode)
	}
	return sumCounter(resp.Body, "otelcol_receiver_accepted_spans")
}

// sumCounter sums the samples of one counter in the Prometheus text format, with or without the
// _total suffix that OpenMetrics adds. lltbench keeps to the standard library (it is copied onto
// machines with no module proxy), and a counter's samples are the one part of the format read
// here: "name{labels} value [timestamp]" lines, comments skipped. No sample reads as 0: the
// collector has none before its first span.
func sumCounter(r io.Reader, name string) (float64, error) {
	var sum float64 // a counter has no sample before its first increment: 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		rest = strings.TrimPrefix(rest, "_total")
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // another metric whose name starts with this one
		}
		if i := strings.LastIndexByte(rest, '}'); i >= 0 {
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, fmt.Errorf("%s: no value in %q", name, line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not a number", name, f[0])
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return sum, nil
}
