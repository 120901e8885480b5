// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux && cgo && gpu

package nvmlreceiver

// Tests and benchmarks on a real NVIDIA GPU: build with `-tags gpu` (they fail without one).
//
//	go test -c -tags gpu -o nvml-gpu.test && ./nvml-gpu.test -test.run RealGPU -test.bench RealGPU -test.v
//
// They check value ranges, not exact values (testdata/h200/compare.sh compares with nvidia-smi),
// and report the CPU time each NVML query costs, user and system (the driver's ioctls), since
// that, not wall time, is what a 1 Hz scraper spends.

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver/internal/metadata"
)

func realGPU(t testing.TB) (gpuLibrary, device) {
	t.Helper()
	lib := newLibrary("")
	require.NoError(t, lib.Init())
	t.Cleanup(func() { require.NoError(t, lib.Shutdown()) })
	dev, err := lib.DeviceByIndex(0)
	require.NoError(t, err)
	return lib, dev
}

func TestRealGPU(t *testing.T) {
	_, dev := realGPU(t)
	uuid, err := dev.UUID()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(uuid, "GPU-"), uuid)
	mem, err := dev.Memory()
	require.NoError(t, err)
	assert.LessOrEqual(t, mem.Used+mem.Reserved+mem.Free, mem.Total+1<<20)
	temp, err := dev.Temperature()
	require.NoError(t, err)
	assert.Less(t, temp, uint32(120))
	p, err := dev.PowerUsage()
	require.NoError(t, err)
	assert.Positive(t, p)
	g, _, err := dev.UtilizationRates()
	require.NoError(t, err)
	assert.LessOrEqual(t, g, uint32(100))
	if on, err := dev.MIGEnabled(); err == nil && !on {
		// Per-process samples exist only for processes that were busy: none is fine.
		ps, err := dev.ProcessUtilization(0)
		if !errors.Is(err, ErrNotFound) {
			require.NoError(t, err)
		}
		for _, p := range ps {
			assert.LessOrEqual(t, p.SM, uint32(100), "pid %d", p.PID)
			assert.Positive(t, p.PID)
		}
	}

	s, _ := newTestScraper(t, nil, "/proc", nil)
	s.newLibrary = newLibrary
	s.now = time.Now
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()
	scrapeOnce(t, s)
	time.Sleep(time.Second)
	m := scrapeOnce(t, s)
	require.Positive(t, m.ResourceMetrics().Len())
	u := gaugeValue(t, m, "hw.gpu.utilization", "general")
	assert.True(t, u >= 0 && u <= 1, "utilization %v", u)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchCPU runs f b.N times and reports the process CPU time per call.
func benchCPU(b *testing.B, f func() error) {
	b.Helper()
	if err := f(); err != nil {
		b.Skip(err)
	}
	c0 := cpuTime()
	for b.Loop() {
		_ = f()
	}
	b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func BenchmarkRealGPUQuery(b *testing.B) {
	lib, dev := realGPU(b)
	queries := map[string]func() error{
		"Samples":           func() error { _, err := dev.UtilizationSamples(0); return err },
		"UtilizationRates":  func() error { _, _, err := dev.UtilizationRates(); return err },
		"Encoder":           func() error { _, err := dev.EncoderUtilization(); return err },
		"Memory":            func() error { _, err := dev.Memory(); return err },
		"Temperature":       func() error { _, err := dev.Temperature(); return err },
		"MemoryTemperature": func() error { _, err := dev.MemoryTemperature(); return err },
		"Power":             func() error { _, err := dev.PowerUsage(); return err },
		"Energy":            func() error { _, err := dev.TotalEnergy(); return err },
		"ClockSM":           func() error { _, err := dev.ClockMHz(clockSM); return err },
		"ClockEventReasons": func() error { _, err := dev.ClockEventReasons(); return err },
		"PerformanceState":  func() error { _, err := dev.PerformanceState(); return err },
		"PCIeCounters":      func() error { _, _, err := dev.PCIeCounters(); return err },
		"PCIeThroughput":    func() error { _, _, err := dev.PCIeThroughput(); return err },
		"ECC":               func() error { _, err := dev.ECCErrors(true); return err },
		"ComputeProcesses":  func() error { _, err := dev.ComputeProcesses(); return err },
		"ProcessUtilization": func() error {
			if _, err := dev.ProcessUtilization(0); !errors.Is(err, ErrNotFound) {
				return err
			}
			return nil
		},
		"MIGEnabled": func() error { _, err := dev.MIGEnabled(); return err },
	}
	for name, q := range queries {
		b.Run(name, func(b *testing.B) { benchCPU(b, q) })
	}
	g := dev.(*nvmlGPU)
	fieldQueries := map[string][]uint32{
		"FieldEnergy83":     {83},
		"FieldEnergy191":    {191},
		"FieldsBatch":       {82, 197, 198},
		"FieldsBatchEnergy": {82, 197, 198, 83},
	}
	for name, ids := range fieldQueries {
		b.Run(name, func(b *testing.B) { benchCPU(b, func() error { _, err := g.fieldValues(ids...); return err }) })
	}
	b.Run("SamplesSinceLast", func(b *testing.B) {
		var last uint64
		benchCPU(b, func() error {
			smp, err := dev.UtilizationSamples(last)
			for _, x := range smp {
				last = max(last, x.Timestamp)
			}
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		})
	})
	b.Run("XIDPoll", func(b *testing.B) {
		x, err := lib.WatchXIDs([]device{dev})
		if err != nil {
			b.Skip(err)
		}
		defer func() { _ = x.Close() }()
		benchCPU(b, func() error { _, err := x.Poll(maxXIDsPerScrape); return err })
	})
}

func BenchmarkRealGPUScrape(b *testing.B) {
	s := newScraper(createDefaultConfig().(*Config), receivertest.NewNopSettings(metadata.Type))
	require.NoError(b, s.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(b, s.shutdown(context.Background())) }()
	benchCPU(b, func() error { _, err := s.scrape(context.Background()); return err })
}

// TestRealGPUSampleLag measures how far behind the driver's utilization samples are: a load
// starts at a known time, and the first busy sample is looked for in the buffer afterwards.
func TestRealGPUSampleLag(t *testing.T) {
	_, dev := realGPU(t)
	out, err := exec.Command("python3", "-c", `
import time, torch
a = torch.randn(8192, 8192, device="cuda"); b = a @ a; torch.cuda.synchronize()
time.sleep(3)
print(int(time.time() * 1e6), flush=True)
end = time.time() + 4
while time.time() < end:
    b = a @ a; torch.cuda.synchronize()
print(int(time.time() * 1e6), flush=True)
`).Output()
	if err != nil {
		t.Skip("no python3 with torch: ", err)
	}
	var start, stop int64
	_, err = fmt.Sscan(string(out), &start, &stop)
	require.NoError(t, err)
	for range 12 {
		smp, err := dev.UtilizationSamples(uint64(start - 2e6))
		require.NoError(t, err)
		var firstBusy, lastBusy, newest int64
		for _, x := range smp {
			ts := int64(x.Timestamp)
			newest = max(newest, ts)
			if x.Percent > 50 {
				if firstBusy == 0 {
					firstBusy = ts
				}
				lastBusy = ts
			}
		}
		now := time.Now().UnixMicro()
		t.Logf("now-start=%dms newest-sample-age=%dms firstBusy-start=%dms lastBusy-stop=%dms n=%d",
			(now-start)/1000, (now-newest)/1000, (firstBusy-start)/1000, (lastBusy-stop)/1000, len(smp))
		time.Sleep(time.Second)
	}
}
