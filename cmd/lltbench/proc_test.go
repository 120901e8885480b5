// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProcReaderFixture(t *testing.T) {
	// testdata/proc/4242 holds a stat whose command name has spaces and parentheses, utime 1234
	// and stime 567 ticks, and a status with VmRSS 204800 kB and VmHWM 262144 kB.
	s, err := procReader{pid: 4242, clkTck: 100, root: "testdata/proc"}.sample()
	require.NoError(t, err)
	assert.Equal(t, 18010*time.Millisecond, s.cpu)
	assert.Equal(t, int64(204800), s.rssKiB)
	assert.Equal(t, int64(150000), s.anonKiB)
	assert.Equal(t, int64(262144), s.hwmKiB)
	assert.False(t, s.at.IsZero())

	_, err = procReader{pid: 4243, clkTck: 100, root: "testdata/proc"}.sample()
	assert.Error(t, err, "no such process")

	s, err = procReader{}.sample()
	require.NoError(t, err, "no PID: nothing read")
	assert.Zero(t, s.cpu)
}

func TestProcReaderSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	s, err := procReader{pid: os.Getpid(), clkTck: 100, root: "/proc"}.sample()
	require.NoError(t, err)
	assert.Positive(t, s.rssKiB)
	assert.GreaterOrEqual(t, s.hwmKiB, s.rssKiB)
}

func TestParseStatCPU(t *testing.T) {
	d, err := parseStatCPU([]byte("7 (a) S 1 1 1 0 -1 0 0 0 0 0 250 50 0 0 20 0 1 0\n"), 250)
	require.NoError(t, err)
	assert.Equal(t, 1200*time.Millisecond, d, "300 ticks at 250 Hz")

	for _, bad := range []string{
		"7 a S 1 1 1 0 -1 0 0 0 0 0 250 50",   // no parentheses
		"7 (a) S 1 1 1 0 -1 0 0 0 0 0 250",    // too short
		"7 (a) S 1 1 1 0 -1 0 0 0 0 0 x 50 0", // not a number
		"7 (a) S 1 1 1 0 -1 0 0 0 0 0 -3 50 0",
	} {
		_, err := parseStatCPU([]byte(bad), 100)
		assert.Error(t, err, bad)
	}
}

func TestParseStatusMem(t *testing.T) {
	rss, hwm, anon, err := parseStatusMem([]byte("Name:\tx\nVmHWM:\t  10 kB\nVmRSS:\t 9 kB\nRssAnon:\t 4 kB\n"))
	require.NoError(t, err)
	assert.Equal(t, int64(9), rss)
	assert.Equal(t, int64(10), hwm)
	assert.Equal(t, int64(4), anon)
	_, _, anon, err = parseStatusMem([]byte("VmHWM:\t10 kB\nVmRSS:\t9 kB\n"))
	require.NoError(t, err, "a kernel older than 4.5 has no RssAnon")
	assert.Zero(t, anon)

	_, _, _, err = parseStatusMem([]byte("Name:\tkthreadd\nState:\tS\n"))
	assert.Error(t, err, "a kernel thread has no VmRSS")
	_, _, _, err = parseStatusMem([]byte("VmHWM:\t10 MB\nVmRSS:\t9 kB\n"))
	assert.Error(t, err)
	_, _, _, err = parseStatusMem([]byte("VmHWM:\tten kB\nVmRSS:\t9 kB\n"))
	assert.Error(t, err)
}

func TestSumCounter(t *testing.T) {
	// What the collector's Prometheus reader serves (service::telemetry::metrics, level basic).
	text := `# HELP otelcol_receiver_accepted_spans_total Number of spans successfully pushed into the pipeline. [Alpha]
# TYPE otelcol_receiver_accepted_spans_total counter
otelcol_receiver_accepted_spans_total{otel_scope_name="go.opentelemetry.io/collector/receiver/receiverhelper",receiver="llamacpp",transport="http"} 120
otelcol_receiver_accepted_spans_total{receiver="otlp",transport="grpc"} 3.5e+01
otelcol_receiver_accepted_spans_total_extra{receiver="x"} 1000
otelcol_receiver_accepted_spans_other 7
`
	n, err := sumCounter(strings.NewReader(text), "otelcol_receiver_accepted_spans")
	if err != nil || n != 155 {
		t.Fatalf("sumCounter = %v, %v; want 155", n, err)
	}
	if n, err := sumCounter(strings.NewReader("otelcol_process_uptime 1\n"), "otelcol_receiver_accepted_spans"); err != nil || n != 0 {
		t.Fatalf("before the first span: %v, %v; want 0", n, err)
	}
	if _, err := sumCounter(strings.NewReader("otelcol_receiver_accepted_spans{a=\"b\"} x\n"), "otelcol_receiver_accepted_spans"); err == nil {
		t.Fatal("a bad value was accepted")
	}
}
