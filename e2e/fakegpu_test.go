// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/llamatelemetry/otelcol-llt/internal/fakenvml"
)

// TestFakeGPUMetrics runs the distribution's nvml receiver on a fake GPU: libnvidia-ml.so.1 from
// internal/fakenvml, scripted with a constant power P. The GPU's identity, power, utilization and
// memory must come out as scripted, and its energy counter must grow by P × the time between
// two readings.
func TestFakeGPUMetrics(t *testing.T) {
	gpu := fakenvml.GPU{
		UUID:        "GPU-0f0e0d0c-0b0a-4908-8706-050403020100",
		Name:        "NVIDIA Fake H200",
		MemoryTotal: 150754820096,
		MemoryUsed:  42 << 30,
		PowerMW:     250000,        // 250 W
		UtilGPU:     37,            // percent
		EnergyMJ:    1_000_000_000, // 1 MJ counted before the collector started
	}
	lib := filepath.Join(fakenvml.Build(t), fakenvml.LibraryName)
	dir := t.TempDir()
	out := filepath.Join(dir, "metrics.jsonl")
	cfg := filepath.Join(dir, "config.yaml")
	// The receiver reads the energy counter every 10 s at most, less half a collection interval
	// (energyInterval in receiver/nvmlreceiver/scraper.go). With a 7 s interval every scrape reads
	// it (7 s ≥ 10 s − 3.5 s), so the first two readings come 7 s apart, the soonest possible; the
	// first scrape is at start (initial_delay 0).
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
receivers:
  nvml:
    collection_interval: 7s
    initial_delay: 0s
    library_path: %q
exporters:
  file: {path: %q, flush_interval: 100ms}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    metrics: {receivers: [nvml], exporters: [file]}
`, lib, out), 0o600))

	cmd := exec.Command(otelcolBin(t), "--config", cfg)
	cmd.Env = append(os.Environ(), fakenvml.Script{GPUs: []fakenvml.GPU{gpu}}.Env()...)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	started := time.Now()
	require.NoError(t, cmd.Start())
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })

	var got []gpuMetrics
	require.Eventually(t, func() bool {
		got = readGPUMetrics(out)
		n := 0
		for _, m := range got {
			if m.energy != nil {
				n++
			}
		}
		return n >= 2
	}, 30*time.Second, 100*time.Millisecond, "two hw.energy readings never came:\n%s", logs)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	select {
	case <-exited:
		require.NoError(t, waitErr, "collector exit after SIGINT:\n%s", logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("collector did not stop within 20s of SIGINT:\n%s", logs)
	}

	assert.NotContains(t, logs.String(), "\twarn\t", "the receiver warned about the fake GPU:\n%s", logs)

	var energy []point
	for _, m := range got {
		assert.Equal(t, gpu.UUID, m.attrs["hw.id"])
		assert.Equal(t, gpu.Name, m.attrs["hw.model"])
		assert.Equal(t, "gpu", m.attrs["hw.type"])
		assert.Equal(t, "NVIDIA", m.attrs["hw.vendor"])
		require.NotNil(t, m.power, "no hw.power at %v", m.ts)
		assert.Equal(t, float64(gpu.PowerMW)/1e3, m.power.value, "hw.power (W)")
		require.NotNil(t, m.util, "no hw.gpu.utilization at %v", m.ts)
		assert.InDelta(t, 0.37, m.util.value, 1e-9, "hw.gpu.utilization")
		assert.Equal(t, float64(gpu.MemoryUsed), m.memUsed, "hw.gpu.memory.usage")
		assert.Equal(t, float64(gpu.MemoryTotal), m.memLimit, "hw.gpu.memory.limit")
		if m.energy != nil {
			assert.True(t, m.energyCounter, "hw.energy is not a cumulative counter")
			energy = append(energy, *m.energy)
		}
	}

	// The counter is E0 + P × (time since nvmlInit). A scrape's timestamp is taken just before its
	// NVML calls, and the energy call comes after those for utilization, memory, temperature and
	// power: about 0.1 ms later against the fake. So a difference of two readings is off only by
	// the difference of those lags, the fake's truncation to 1 mJ, and how far the wall clock
	// (timestamps) and CLOCK_MONOTONIC (the fake) drift apart in 7 s (3.5 ms at most, at NTP's
	// 500 ppm slew limit). 20 ms of power, 5 J of 1750 (0.3 %), leaves room for a scrape
	// descheduled for a few time slices on a loaded machine, and catches a wrong unit or a rate
	// off by 1 % (17.5 J).
	p := float64(gpu.PowerMW) / 1e3 // W
	tolerance := p * 0.020
	e0 := float64(gpu.EnergyMJ) / 1e3
	first, second := energy[0], energy[1]
	assert.GreaterOrEqual(t, first.value, e0, "hw.energy (J) below the scripted start")
	assert.LessOrEqual(t, first.value, e0+p*first.ts.Sub(started).Seconds()+tolerance,
		"hw.energy (J) grew more than P since the collector started")
	dt := second.ts.Sub(first.ts).Seconds()
	t.Logf("hw.energy: %.3f J, then %.3f J %.3f s later: +%.3f J, P × Δt = %.3f J", first.value, second.value, dt,
		second.value-first.value, p*dt)
	assert.InDelta(t, 7, dt, 1, "time between the energy readings (s)")
	assert.Greater(t, second.value, first.value, "hw.energy must increase")
	assert.InDelta(t, p*dt, second.value-first.value, tolerance,
		"hw.energy grew by %.3f J in %.3f s; P × Δt is %.3f J", second.value-first.value, dt, p*dt)
}

type point struct {
	ts    time.Time
	value float64
}

// gpuMetrics is one scrape of one GPU: its resource attributes and some of its metrics.
type gpuMetrics struct {
	ts                time.Time
	attrs             map[string]any
	power, util       *point
	energy            *point
	energyCounter     bool // hw.energy is a cumulative monotonic sum
	memUsed, memLimit float64
}

// readGPUMetrics reads the nvml receiver's scrapes from the file exporter's JSON lines.
func readGPUMetrics(path string) []gpuMetrics {
	var got []gpuMetrics
	eachResourceMetrics(path, func(rm pmetric.ResourceMetrics) {
		m := gpuMetrics{attrs: rm.Resource().Attributes().AsRaw()}
		if m.attrs["hw.type"] != "gpu" {
			return
		}
		for _, sm := range rm.ScopeMetrics().All() {
			for _, metric := range sm.Metrics().All() {
				readGPUMetric(&m, metric)
			}
		}
		got = append(got, m)
	})
	return got
}

// eachResourceMetrics calls fn for every resource of the metrics in the file exporter's JSON
// lines at path, in order; a line being written (not yet valid) is left out.
func eachResourceMetrics(path string, fn func(pmetric.ResourceMetrics)) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(sc.Bytes())
		if err != nil {
			continue
		}
		for _, rm := range md.ResourceMetrics().All() {
			fn(rm)
		}
	}
}

// numberPoints are the points of a gauge or a sum; none for another type.
func numberPoints(metric pmetric.Metric) pmetric.NumberDataPointSlice {
	switch metric.Type() {
	case pmetric.MetricTypeGauge:
		return metric.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		return metric.Sum().DataPoints()
	}
	return pmetric.NewNumberDataPointSlice()
}

func readGPUMetric(m *gpuMetrics, metric pmetric.Metric) {
	for _, dp := range numberPoints(metric).All() {
		v := dp.DoubleValue()
		if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
			v = float64(dp.IntValue())
		}
		p := &point{ts: dp.Timestamp().AsTime(), value: v}
		m.ts = p.ts
		switch metric.Name() {
		case "hw.power":
			m.power = p
		case "hw.energy":
			m.energy = p
			m.energyCounter = metric.Type() == pmetric.MetricTypeSum && metric.Sum().IsMonotonic() &&
				metric.Sum().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
		case "hw.gpu.utilization":
			if task, ok := dp.Attributes().Get("hw.gpu.task"); ok && task.Str() == "general" {
				m.util = p
			}
		case "hw.gpu.memory.usage":
			m.memUsed = v
		case "hw.gpu.memory.limit":
			m.memLimit = v
		}
	}
}
