// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver/internal/metadata"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/scraper")

// newTestScraper returns a scraper on lib whose clock advances 1 s per scrape, whose /proc is
// procRoot ("" for an empty one), and the logs it writes.
func newTestScraper(t testing.TB, lib gpuLibrary, procRoot string, mutate func(*Config)) (*nvmlScraper, *observer.ObservedLogs) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	core, logs := observer.New(zapcore.DebugLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	s := newScraper(cfg, set)
	s.newLibrary = func(string) gpuLibrary { return lib }
	if procRoot == "" {
		procRoot = t.TempDir()
	}
	s.proc = newProcFS(procRoot)
	clock := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time {
		clock = clock.Add(time.Second)
		return clock
	}
	return s, logs
}

// writeProc writes /proc/<pid>/{cmdline,comm,stat} under root.
func writeProc(t testing.TB, root string, pid, ppid int, comm string, argv ...string) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	var cmdline []byte
	for _, a := range argv {
		cmdline = append(append(cmdline, a...), 0)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cmdline"), cmdline, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "comm"), []byte(comm+"\n"), 0o600))
	stat := strconv.Itoa(pid) + " (" + comm + ") S " + strconv.Itoa(ppid) + " 1 1 0 -1"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o600))
}

// fakeLauncher is a llamalauncher extension whose llama-server has pid.
type fakeLauncher struct {
	component.StartFunc
	component.ShutdownFunc
	pid atomic.Int64
}

func (*fakeLauncher) BaseURL() string                                  { return "http://127.0.0.1:8080" }
func (*fakeLauncher) APIKey() string                                   { return "" }
func (l *fakeLauncher) PID() int                                       { return int(l.pid.Load()) }
func (*fakeLauncher) Model() launcherapi.Model                         { return launcherapi.Model{} }
func (*fakeLauncher) State() launcherapi.State                         { return launcherapi.StateReady }
func (*fakeLauncher) WaitReady(context.Context) error                  { return nil }
func (*fakeLauncher) SubscribeLogs(func(launcherapi.LogRecord)) func() { return func() {} }

type hostWith map[component.ID]component.Component

func (h hostWith) GetExtensions() map[component.ID]component.Component { return h }

var launcherID = component.MustNewID("llamalauncher")

func scrapeOnce(t testing.TB, s *nvmlScraper) pmetric.Metrics {
	t.Helper()
	m, err := s.scrape(context.Background())
	require.NoError(t, err)
	return m
}

func compareGolden(t *testing.T, name string, actual pmetric.Metrics) {
	t.Helper()
	path := filepath.Join("testdata", "scraper", name)
	if *update {
		require.NoError(t, golden.WriteMetrics(t, path, actual))
	}
	expected, err := golden.ReadMetrics(path)
	require.NoError(t, err)
	require.NoError(t, pmetrictest.CompareMetrics(expected, actual,
		pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp(),
		pmetrictest.IgnoreMetricDataPointsOrder()))
}

func TestScrapeOneGPU(t *testing.T) {
	proc := t.TempDir()
	// llama-server as scripts/provision-llama-server.sh starts it: through a dynamic loader,
	// so comm and exe say ld-linux-x86-64.
	writeProc(t, proc, 12895, 4000, "ld-linux-x86-64", "/opt/llama/lib64/ld-linux-x86-64.so.2",
		"--library-path", "/opt/llama/lib", "/opt/llama/usr/bin/llama-server", "--port", "8080")
	dev := h200(0)
	dev.procs = append(dev.procs, processInfo{PID: 777, UsedMemory: 1 << 20, MemoryOK: true},
		processInfo{PID: 778, MemoryOK: false}) // NVML_VALUE_NOT_AVAILABLE: left out
	writeProc(t, proc, 777, 1, "python3", "/usr/bin/python3", "train.py")
	lib := newFakeLibrary(dev)
	s, logs := newTestScraper(t, lib, proc, func(c *Config) { c.Launcher = &launcherID })
	clock := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { // 10 s between scrapes, so that the second one reads the energy too
		clock = clock.Add(energyInterval)
		return clock
	}
	l := &fakeLauncher{}
	l.pid.Store(12895)
	require.NoError(t, s.start(context.Background(), hostWith{launcherID: l}))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()

	first := scrapeOnce(t, s)
	// The first scrape averages the samples of the last collection interval: (70+67+68)/3.
	assert.InDelta(t, 68.333/100, gaugeValue(t, first, "hw.gpu.utilization", "general"), 1e-4)

	// Two samples arrive before the next scrape, which averages only those.
	dev.samples = append(dev.samples, utilizationSample{Timestamp: 1_500_000, Percent: 80}, utilizationSample{Timestamp: 1_666_666, Percent: 90})
	// And process samples: llama-server's two average to 0.72, python3's one is 0.08; process 778
	// has none and is reported idle.
	dev.procSamples = append(dev.procSamples,
		processUtilizationSample{PID: 12895, Timestamp: 1_333_333, SM: 70, Memory: 40},
		processUtilizationSample{PID: 12895, Timestamp: 1_500_000, SM: 74, Memory: 42},
		processUtilizationSample{PID: 777, Timestamp: 1_500_000, SM: 8, Encoder: 3})
	lib.xids.push(xidEvent{DeviceUUID: dev.uuid, XID: 79})
	compareGolden(t, "one_gpu.yaml", scrapeOnce(t, s))
	assert.Empty(t, lib.violations)
	assert.Equal(t, 1, logs.FilterMessageSnippet("critical XID").Len())
}

func TestScrapeEightGPUs(t *testing.T) {
	devs := make([]*fakeDevice, 8)
	for i := range devs {
		devs[i] = h200(i)
	}
	devs[3].errs["PCIeCounters"] = ErrNotSupported
	devs[5].reasons = 0x40 | 0x4 // HW thermal slowdown + SW power cap: degraded
	devs[6].eccUncorrected = 2   // degraded
	devs[7].errs["Temperature"] = ErrGPULost
	lib := newFakeLibrary(devs...)
	s, _ := newTestScraper(t, lib, "", nil)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()
	scrapeOnce(t, s)
	m := scrapeOnce(t, s)
	require.Equal(t, 8, m.ResourceMetrics().Len(), "one ResourceMetrics per GPU")
	compareGolden(t, "eight_gpus.yaml", m)
	assert.Empty(t, lib.violations)
}

// TestNVMLUnusable: no library, no driver, no permission, zero GPUs: Start succeeds, one
// warning, scrapes are empty and error-free, and nothing is called after a failed Init.
func TestNVMLUnusable(t *testing.T) {
	tests := []struct {
		name      string
		lib       func() *fakeLibrary
		warning   string
		shutdowns int
	}{
		{name: "no library", lib: func() *fakeLibrary {
			l := newFakeLibrary(h200(0))
			l.initErr = ErrLibraryNotFound
			return l
		}, warning: "libnvidia-ml.so.1"},
		{name: "driver not loaded", lib: func() *fakeLibrary {
			l := newFakeLibrary(h200(0))
			l.initErr = ErrDriverNotLoaded
			return l
		}, warning: "kernel module"},
		{name: "no permission at init", lib: func() *fakeLibrary {
			l := newFakeLibrary(h200(0))
			l.initErr = ErrNoPermission
			return l
		}, warning: "/dev/nvidia"},
		{name: "built without cgo", lib: func() *fakeLibrary {
			l := newFakeLibrary()
			l.initErr = ErrUnavailable
			return l
		}, warning: "CGO_ENABLED=1"},
		{name: "zero GPUs", lib: func() *fakeLibrary { return newFakeLibrary() }, warning: "no usable GPU", shutdowns: 1},
		{name: "no permission on every GPU", lib: func() *fakeLibrary {
			d0, d1 := h200(0), h200(1)
			d0.errs["handle"], d1.errs["handle"] = ErrNoPermission, ErrNoPermission
			return newFakeLibrary(d0, d1)
		}, warning: "no usable GPU", shutdowns: 1},
		{name: "device count fails", lib: func() *fakeLibrary {
			l := newFakeLibrary(h200(0))
			l.countErr = errors.New("NVML_ERROR_UNKNOWN")
			return l
		}, warning: "no usable GPU", shutdowns: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := tt.lib()
			s, logs := newTestScraper(t, lib, "", nil)
			require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
			for range 3 {
				m := scrapeOnce(t, s)
				assert.Equal(t, 0, m.MetricCount())
			}
			require.NoError(t, s.shutdown(context.Background()))
			require.NoError(t, s.shutdown(context.Background()))

			warnings := logs.FilterLevelExact(zapcore.WarnLevel).All()
			require.Len(t, warnings, 1, "exactly one warning")
			assert.Contains(t, warnings[0].ContextMap()["hint"].(string)+warnings[0].Message, tt.warning)
			assert.Empty(t, logs.FilterLevelExact(zapcore.ErrorLevel).All())
			assert.Empty(t, lib.violations, "NVML called after a failed Init")
			assert.Equal(t, 1, lib.count("Init"))
			assert.Equal(t, tt.shutdowns, lib.count("Shutdown"), "one Shutdown per successful Init")
		})
	}
}

// TestNoNVMLOnThisHost runs the real client: this host has no NVIDIA driver (with cgo) or the
// build has no cgo; either way the receiver starts, warns once and emits nothing.
func TestNoNVMLOnThisHost(t *testing.T) {
	if _, err := os.Stat("/dev/nvidiactl"); err == nil {
		t.Skip("this host has an NVIDIA GPU")
	}
	s, logs := newTestScraper(t, nil, "", nil)
	s.newLibrary = newLibrary // the default search: libnvidia-ml.so.1, then the driver paths
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	assert.Equal(t, 0, scrapeOnce(t, s).MetricCount())
	require.NoError(t, s.shutdown(context.Background()))
	warnings := logs.FilterLevelExact(zapcore.WarnLevel).All()
	require.Len(t, warnings, 1)
	err, _ := warnings[0].ContextMap()["error"].(string)
	assert.Regexp(t, "nvml library not found|nvml unavailable", err)
}

func TestNotSupportedDisablesOneMetric(t *testing.T) {
	dev := h200(0)
	dev.errs["MemoryTemperature"] = ErrNotSupported
	dev.errs["ECCErrors"] = ErrFunctionNotFound // an old driver without the symbol
	lib := newFakeLibrary(dev)
	s, logs := newTestScraper(t, lib, "", nil)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	for range 5 {
		m := scrapeOnce(t, s)
		assert.False(t, hasMetric(m, "nvidia.gpu.fan.speed_ratio"))
		assert.True(t, hasMetric(m, "hw.temperature"), "the GPU sensor still reports")
	}
	require.NoError(t, s.shutdown(context.Background()))
	assert.Equal(t, 1, lib.count("FanSpeed"), "not asked again")
	assert.Equal(t, 1, lib.count("MemoryTemperature"))
	assert.Equal(t, 2, lib.count("ECCErrors"), "corrected and uncorrected once each")
	assert.Equal(t, 5, lib.count("Temperature"))
	assert.Equal(t, 4, logs.FilterMessageSnippet("not supported").Len(), "one debug line per query")
	for _, e := range logs.FilterMessageSnippet("not supported").All() {
		assert.Equal(t, zapcore.DebugLevel, e.Level)
	}
	assert.Empty(t, logs.FilterLevelExact(zapcore.WarnLevel).All())
}

func TestFailuresAreLoggedAFewTimes(t *testing.T) {
	dev := h200(0)
	dev.errs["PowerUsage"] = errors.New("NVML_ERROR_UNKNOWN")
	lib := newFakeLibrary(dev)
	s, logs := newTestScraper(t, lib, "", nil)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	for range 10 {
		m := scrapeOnce(t, s)
		assert.False(t, hasMetric(m, "hw.power"))
		assert.True(t, hasMetric(m, "hw.temperature"))
	}
	require.NoError(t, s.shutdown(context.Background()))
	assert.Equal(t, 10, lib.count("PowerUsage"), "a failure that may pass is retried")
	failures := logs.FilterMessageSnippet("reading a GPU metric failed").All()
	require.Len(t, failures, maxFailureLogs)
	assert.Equal(t, false, failures[maxFailureLogs-1].ContextMap()["further_failures_logged"])
}

func TestGeneralUtilization(t *testing.T) {
	t.Run("samples since the previous scrape", func(t *testing.T) {
		dev := h200(0)
		dev.samples = []utilizationSample{{Timestamp: 5_000_000, Percent: 10}, {Timestamp: 9_500_000, Percent: 20}, {Timestamp: 10_000_000, Percent: 30}}
		s, _ := newTestScraper(t, newFakeLibrary(dev), "", nil)
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		// First scrape: only the last interval (1 s) of what the driver keeps.
		assert.InDelta(t, 0.25, gaugeValue(t, scrapeOnce(t, s), "hw.gpu.utilization", "general"), 1e-9)
		dev.samples = append(dev.samples, utilizationSample{Timestamp: 10_500_000, Percent: 100}, utilizationSample{Timestamp: 11_000_000, Percent: 50})
		assert.InDelta(t, 0.75, gaugeValue(t, scrapeOnce(t, s), "hw.gpu.utilization", "general"), 1e-9)
		// NVML_ERROR_NOT_FOUND (nothing new): nvmlDeviceGetUtilizationRates instead.
		assert.InDelta(t, 0.45, gaugeValue(t, scrapeOnce(t, s), "hw.gpu.utilization", "general"), 1e-9)
		require.NoError(t, s.shutdown(context.Background()))
	})
	t.Run("samples not supported (MIG)", func(t *testing.T) {
		dev := h200(0)
		dev.errs["UtilizationSamples"] = ErrNotSupported
		lib := newFakeLibrary(dev)
		s, _ := newTestScraper(t, lib, "", nil)
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		for range 3 {
			assert.InDelta(t, 0.45, gaugeValue(t, scrapeOnce(t, s), "hw.gpu.utilization", "general"), 1e-9)
		}
		require.NoError(t, s.shutdown(context.Background()))
		assert.Equal(t, 1, lib.count("UtilizationSamples"))
		assert.Equal(t, 3, lib.count("UtilizationRates"))
	})
}

func TestEnergyIsReadEvery10s(t *testing.T) {
	for _, tt := range []struct {
		interval time.Duration
		reads    []int // scrapes (of 25, from 0) with hw.energy
	}{
		{interval: time.Second, reads: []int{0, 10, 20}},
		{interval: 5 * time.Second, reads: []int{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24}},
		{interval: 10 * time.Second, reads: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24}},
	} {
		t.Run(tt.interval.String(), func(t *testing.T) {
			lib := newFakeLibrary(h200(0))
			s, _ := newTestScraper(t, lib, "", func(c *Config) { c.CollectionInterval = tt.interval })
			clock := time.Unix(1_800_000_000, 0)
			s.now = func() time.Time {
				clock = clock.Add(tt.interval - time.Millisecond) // a scrape that comes a little early
				return clock
			}
			require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
			var reads []int
			for i := range 25 {
				if hasMetric(scrapeOnce(t, s), "hw.energy") {
					reads = append(reads, i)
				}
			}
			require.NoError(t, s.shutdown(context.Background()))
			assert.Equal(t, tt.reads, reads)
			assert.Equal(t, len(tt.reads), lib.count("TotalEnergy"))
		})
	}
}

func TestLauncherChildAcrossRestarts(t *testing.T) {
	proc := t.TempDir()
	writeProc(t, proc, 100, 1, "llama-server", "/usr/bin/llama-server")
	writeProc(t, proc, 200, 1, "llama-server", "/usr/bin/llama-server")
	writeProc(t, proc, 300, 1, "sh", "/bin/sh", "/usr/local/bin/wrap-llama")
	writeProc(t, proc, 301, 300, "llama-server", "/usr/bin/llama-server") // a wrapper that forks
	dev := h200(0)
	lib := newFakeLibrary(dev)
	s, _ := newTestScraper(t, lib, proc, func(c *Config) { c.Launcher = &launcherID })
	l := &fakeLauncher{}
	require.NoError(t, s.start(context.Background(), hostWith{launcherID: l}))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()

	dev.procs = []processInfo{{PID: 100, UsedMemory: 1, MemoryOK: true}, {PID: 200, UsedMemory: 2, MemoryOK: true}}
	l.pid.Store(100)
	assert.Equal(t, map[int64]bool{100: true, 200: false}, childFlags(t, scrapeOnce(t, s)))
	l.pid.Store(200) // restarted: a new PID
	assert.Equal(t, map[int64]bool{100: false, 200: true}, childFlags(t, scrapeOnce(t, s)))
	l.pid.Store(0) // stopped
	assert.Equal(t, map[int64]bool{100: false, 200: false}, childFlags(t, scrapeOnce(t, s)))
	dev.procs = []processInfo{{PID: 301, UsedMemory: 3, MemoryOK: true}}
	l.pid.Store(300)
	assert.Equal(t, map[int64]bool{301: true}, childFlags(t, scrapeOnce(t, s)))
}

func TestLauncherNotFound(t *testing.T) {
	s, _ := newTestScraper(t, newFakeLibrary(h200(0)), "", func(c *Config) { c.Launcher = &launcherID })
	err := s.start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, `launcher "llamalauncher": no such extension`)
}

func TestLaunchersNotFound(t *testing.T) {
	idA, idB := component.MustNewIDWithName("llamalauncher", "a"), component.MustNewIDWithName("llamalauncher", "b")
	s, _ := newTestScraper(t, newFakeLibrary(h200(0)), "", func(c *Config) { c.Launchers = []component.ID{idA, idB} })
	err := s.start(context.Background(), hostWith{idA: &fakeLauncher{}})
	require.ErrorContains(t, err, `launcher "llamalauncher/b": no such extension`)
}

func TestDeviceSelection(t *testing.T) {
	devs := []*fakeDevice{h200(0), h200(1), h200(2)}
	lib := newFakeLibrary(devs...)
	s, logs := newTestScraper(t, lib, "", func(c *Config) {
		c.Devices = []string{"2", devs[0].uuid, "GPU-00000000-0000-0000-0000-000000000000", "0"}
	})
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	m := scrapeOnce(t, s)
	require.NoError(t, s.shutdown(context.Background()))
	var ids []string
	for i := range m.ResourceMetrics().Len() {
		v, _ := m.ResourceMetrics().At(i).Resource().Attributes().Get("hw.id")
		ids = append(ids, v.Str())
	}
	assert.Equal(t, []string{devs[2].uuid, devs[0].uuid}, ids, "in config order, each GPU once")
	assert.Equal(t, 1, logs.FilterMessage("GPU skipped").Len())
	assert.Equal(t, 0, lib.count("DeviceCount"))
}

func TestDisabledMetricsAreNotQueried(t *testing.T) {
	lib := newFakeLibrary(h200(0))
	s, _ := newTestScraper(t, lib, "", func(c *Config) {
		c.Metrics.HwPower.Enabled = false
		c.Metrics.NvidiaGpuProcessMemoryUsage.Enabled = false
		c.Metrics.NvidiaGpuProcessUtilization.Enabled = false
		c.Metrics.HwErrors.Enabled = false
		c.Metrics.HwStatus.Enabled = false
	})
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	scrapeOnce(t, s)
	require.NoError(t, s.shutdown(context.Background()))
	for _, call := range []string{"PowerUsage", "ComputeProcesses", "ProcessUtilization", "ECCErrors", "WatchXIDs"} {
		assert.Zero(t, lib.count(call), call)
	}

	t.Run("process memory only", func(t *testing.T) {
		lib := newFakeLibrary(h200(0))
		s, _ := newTestScraper(t, lib, "", func(c *Config) { c.Metrics.NvidiaGpuProcessUtilization.Enabled = false })
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		assert.True(t, hasMetric(scrapeOnce(t, s), "nvidia.gpu.process.memory.usage"))
		require.NoError(t, s.shutdown(context.Background()))
		assert.Zero(t, lib.count("ProcessUtilization"))
	})
}

func TestPCIe(t *testing.T) {
	t.Run("driver counters", func(t *testing.T) {
		dev := h200(0)
		dev.pcieTx, dev.pcieRx = 1000, 2000
		s, _ := newTestScraper(t, newFakeLibrary(dev), "", nil)
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		m := scrapeOnce(t, s)
		assert.Equal(t, int64(1000), sumValue(t, m, "hw.gpu.io", "transmit"))
		assert.Equal(t, int64(2000), sumValue(t, m, "hw.gpu.io", "receive"))
		require.NoError(t, s.shutdown(context.Background()))
	})
	t.Run("integrated throughput while the counters read 0", func(t *testing.T) {
		dev := h200(0)
		lib := newFakeLibrary(dev)
		s, _ := newTestScraper(t, lib, "", nil)
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		assert.Equal(t, int64(0), sumValue(t, scrapeOnce(t, s), "hw.gpu.io", "transmit"))
		m := scrapeOnce(t, s) // 1 s later
		assert.Equal(t, int64(1267*1024), sumValue(t, m, "hw.gpu.io", "transmit"))
		assert.Equal(t, int64(379*1024), sumValue(t, m, "hw.gpu.io", "receive"))
		dev.pcieTx = 5 // once integrating, the counters are not asked again
		m = scrapeOnce(t, s)
		assert.Equal(t, int64(2*1267*1024), sumValue(t, m, "hw.gpu.io", "transmit"))
		require.NoError(t, s.shutdown(context.Background()))
		assert.Equal(t, 1, lib.count("PCIeCounters"), "the first scrape saw traffic with the counters at 0")
	})
}

func TestLifecycle(t *testing.T) {
	lib := newFakeLibrary(h200(0))
	s, _ := newTestScraper(t, lib, "", nil)
	require.NoError(t, s.shutdown(context.Background()), "shutdown before start")
	for range 2 {
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		assert.Positive(t, scrapeOnce(t, s).MetricCount())
		require.NoError(t, s.shutdown(context.Background()))
		require.NoError(t, s.shutdown(context.Background()))
	}
	assert.Equal(t, 2, lib.count("Init"))
	assert.Equal(t, 2, lib.count("Shutdown"), "one Shutdown per Init")
	assert.Equal(t, 2, lib.xids.closed)
	assert.Empty(t, lib.violations)
	assert.Equal(t, 0, scrapeOnce(t, s).MetricCount(), "a scrape after shutdown is empty")
}

func TestXIDs(t *testing.T) {
	d0, d1 := h200(0), h200(1)
	lib := newFakeLibrary(d0, d1)
	s, logs := newTestScraper(t, lib, "", nil)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()
	for range 20 {
		lib.xids.push(xidEvent{DeviceUUID: d1.uuid, XID: 13})
	}
	lib.xids.push(xidEvent{DeviceUUID: d0.uuid, XID: 79})
	m := scrapeOnce(t, s)
	assert.Equal(t, int64(1), resourceSumValue(t, m, 0, "hw.errors", "xid"))
	assert.Equal(t, int64(20), resourceSumValue(t, m, 1, "hw.errors", "xid"))
	assert.Equal(t, maxXIDLogs, logs.FilterMessageSnippet("critical XID").Len())
	assert.Equal(t, 1, logs.FilterMessageSnippet("more XID errors").Len())
	m = scrapeOnce(t, s)
	assert.Equal(t, int64(20), resourceSumValue(t, m, 1, "hw.errors", "xid"), "cumulative")

	t.Run("not supported", func(t *testing.T) {
		lib := newFakeLibrary(h200(0))
		lib.watchErr = ErrNotSupported
		s, _ := newTestScraper(t, lib, "", nil)
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		m := scrapeOnce(t, s)
		require.NoError(t, s.shutdown(context.Background()))
		_, ok := findPoint(m, 0, "hw.errors", "xid")
		assert.False(t, ok, "no xid series without an event set")
		assert.Zero(t, lib.xids.closed)
	})
}

// findPoint finds the data point of metric name on resource r whose (only) string attribute
// is attr ("" for a point without attributes).
func findPoint(m pmetric.Metrics, r int, name, attr string) (pmetric.NumberDataPoint, bool) {
	if r >= m.ResourceMetrics().Len() {
		return pmetric.NumberDataPoint{}, false
	}
	ms := m.ResourceMetrics().At(r).ScopeMetrics().At(0).Metrics()
	for i := range ms.Len() {
		mt := ms.At(i)
		if mt.Name() != name {
			continue
		}
		var dps pmetric.NumberDataPointSlice
		if mt.Type() == pmetric.MetricTypeGauge {
			dps = mt.Gauge().DataPoints()
		} else {
			dps = mt.Sum().DataPoints()
		}
		for j := range dps.Len() {
			dp := dps.At(j)
			found := attr == ""
			dp.Attributes().Range(func(_ string, v pcommon.Value) bool {
				if v.Type() == pcommon.ValueTypeStr && v.Str() == attr {
					found = true
				}
				return true
			})
			if found {
				return dp, true
			}
		}
	}
	return pmetric.NumberDataPoint{}, false
}

func gaugeValue(t *testing.T, m pmetric.Metrics, name, attr string) float64 {
	t.Helper()
	dp, ok := findPoint(m, 0, name, attr)
	require.True(t, ok, "%s{%s} missing", name, attr)
	return dp.DoubleValue()
}

func sumValue(t *testing.T, m pmetric.Metrics, name, attr string) int64 {
	t.Helper()
	return resourceSumValue(t, m, 0, name, attr)
}

func resourceSumValue(t *testing.T, m pmetric.Metrics, r int, name, attr string) int64 {
	t.Helper()
	dp, ok := findPoint(m, r, name, attr)
	require.True(t, ok, "%s{%s} missing on resource %d", name, attr, r)
	return dp.IntValue()
}

func hasMetric(m pmetric.Metrics, name string) bool {
	for i := range m.ResourceMetrics().Len() {
		ms := m.ResourceMetrics().At(i).ScopeMetrics().At(0).Metrics()
		for j := range ms.Len() {
			if ms.At(j).Name() == name {
				return true
			}
		}
	}
	return false
}

// childFlags maps each process.pid of nvidia.gpu.process.memory.usage to llamacpp.launcher.child.
func childFlags(t *testing.T, m pmetric.Metrics) map[int64]bool {
	t.Helper()
	return childFlagsOf(t, m, 0)
}

// childFlagsOf is childFlags on resource r.
func childFlagsOf(t *testing.T, m pmetric.Metrics, r int) map[int64]bool {
	t.Helper()
	out := map[int64]bool{}
	ms := m.ResourceMetrics().At(r).ScopeMetrics().At(0).Metrics()
	for i := range ms.Len() {
		if ms.At(i).Name() != "nvidia.gpu.process.memory.usage" {
			continue
		}
		dps := ms.At(i).Sum().DataPoints()
		for j := range dps.Len() {
			pid, _ := dps.At(j).Attributes().Get("process.pid")
			child, _ := dps.At(j).Attributes().Get("llamacpp.launcher.child")
			out[pid.Int()] = child.Bool()
		}
	}
	return out
}

// TestProcessUtilization: two processes, llama-server (started by the launcher through a
// wrapper that forks) and python3; their samples since the previous scrape are averaged, and a
// process with a compute context but no sample is idle, not missing.
func TestProcessUtilization(t *testing.T) {
	proc := t.TempDir()
	writeProc(t, proc, 4001, 4000, "sh", "/bin/sh", "/usr/local/bin/wrap-llama")
	writeProc(t, proc, 12895, 4001, "llama-server", "/usr/bin/llama-server", "--port", "8080")
	writeProc(t, proc, 777, 1, "python3", "/usr/bin/python3", "decode.py")
	dev := h200(0)
	dev.procs = []processInfo{{PID: 12895, UsedMemory: 3 << 30, MemoryOK: true}, {PID: 777, UsedMemory: 1 << 30, MemoryOK: true}}
	// A sample from before the receiver started: the first scrape must not report it.
	dev.procSamples = []processUtilizationSample{{PID: 12895, Timestamp: 1_000_000, SM: 95}}
	lib := newFakeLibrary(dev)
	s, logs := newTestScraper(t, lib, proc, func(c *Config) { c.Launcher = &launcherID })
	l := &fakeLauncher{}
	l.pid.Store(4000) // the launcher's own process; llama-server is its grandchild
	require.NoError(t, s.start(context.Background(), hostWith{launcherID: l}))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()

	m := scrapeOnce(t, s)
	assert.False(t, hasMetric(m, "nvidia.gpu.process.utilization"), "the first scrape only notes where the samples end")
	assert.True(t, hasMetric(m, "nvidia.gpu.process.memory.usage"))

	dev.procSamples = append(dev.procSamples,
		processUtilizationSample{PID: 12895, Timestamp: 1_200_000, SM: 60, Memory: 40},
		processUtilizationSample{PID: 777, Timestamp: 1_200_000, SM: 10, Decoder: 20},
		processUtilizationSample{PID: 12895, Timestamp: 1_400_000, SM: 70, Memory: 45},
		processUtilizationSample{PID: 777, Timestamp: 1_400_000, SM: 20, Decoder: 40, Encoder: 4},
		processUtilizationSample{PID: 12895, Timestamp: 1_600_000, SM: 80, Memory: 50},
	)
	m = scrapeOnce(t, s)
	assertMapInDelta(t, map[int64]float64{12895: 0.70, 777: 0.15}, processUtil(t, m, 0, "general"))
	assertMapInDelta(t, map[int64]float64{12895: 0, 777: 0.02}, processUtil(t, m, 0, "encoder"))
	assertMapInDelta(t, map[int64]float64{12895: 0, 777: 0.30}, processUtil(t, m, 0, "decoder"))
	general := processPoints(t, m, 0, "general")
	for pid, want := range map[int64]struct {
		name  string
		child bool
	}{12895: {"llama-server", true}, 777: {"python3", false}} {
		name, _ := general[pid].Attributes().Get("process.executable.name")
		child, _ := general[pid].Attributes().Get("llamacpp.launcher.child")
		assert.Equal(t, want.name, name.Str(), "pid %d", pid)
		assert.Equal(t, want.child, child.Bool(), "pid %d", pid)
	}

	// NVML_ERROR_NOT_FOUND, nothing new: both still have a compute context, so both were idle.
	m = scrapeOnce(t, s)
	assertMapInDelta(t, map[int64]float64{12895: 0, 777: 0}, processUtil(t, m, 0, "general"))

	// python3 has exited, but left a sample; another process that is gone left one too.
	dev.procs = dev.procs[:1]
	dev.procSamples = append(dev.procSamples,
		processUtilizationSample{PID: 777, Timestamp: 1_800_000, SM: 30},
		processUtilizationSample{PID: 779, Timestamp: 1_800_000, SM: 5})
	m = scrapeOnce(t, s)
	assertMapInDelta(t, map[int64]float64{12895: 0, 777: 0.30, 779: 0.05}, processUtil(t, m, 0, "general"))

	assert.Equal(t, 4, lib.count("ProcessUtilization"))
	assert.Empty(t, logs.FilterLevelExact(zapcore.WarnLevel).All())
	assert.Empty(t, lib.violations)
}

func TestProcessUtilizationFailures(t *testing.T) {
	t.Run("not supported", func(t *testing.T) {
		dev := h200(0)
		dev.errs["ProcessUtilization"] = ErrNotSupported
		lib := newFakeLibrary(dev)
		s, logs := newTestScraper(t, lib, "", nil)
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		for range 3 {
			m := scrapeOnce(t, s)
			assert.False(t, hasMetric(m, "nvidia.gpu.process.utilization"))
			assert.True(t, hasMetric(m, "nvidia.gpu.process.memory.usage"))
		}
		require.NoError(t, s.shutdown(context.Background()))
		assert.Equal(t, 1, lib.count("ProcessUtilization"), "not asked again")
		assert.Equal(t, 1, logs.FilterMessageSnippet("not supported").FilterField(zap.String("query", string(qProcessUtil))).Len())
		assert.Empty(t, logs.FilterLevelExact(zapcore.WarnLevel).All())
	})
	t.Run("a failure leaves the scrape out", func(t *testing.T) {
		dev := h200(0)
		lib := newFakeLibrary(dev)
		s, logs := newTestScraper(t, lib, "", nil)
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		defer func() { require.NoError(t, s.shutdown(context.Background())) }()
		scrapeOnce(t, s)
		dev.errs["ProcessUtilization"] = errors.New("NVML_ERROR_UNKNOWN")
		assert.False(t, hasMetric(scrapeOnce(t, s), "nvidia.gpu.process.utilization"), "not reported as 0")
		delete(dev.errs, "ProcessUtilization")
		assertMapInDelta(t, map[int64]float64{12895: 0}, processUtil(t, scrapeOnce(t, s), 0, "general"))
		assert.Equal(t, 1, logs.FilterMessageSnippet("reading a GPU metric failed").Len())
	})
	t.Run("no process list", func(t *testing.T) {
		dev := h200(0)
		dev.errs["ComputeProcesses"] = ErrNoPermission
		lib := newFakeLibrary(dev)
		s, _ := newTestScraper(t, lib, "", nil)
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		defer func() { require.NoError(t, s.shutdown(context.Background())) }()
		scrapeOnce(t, s)
		dev.procSamples = append(dev.procSamples, processUtilizationSample{PID: 12895, Timestamp: 2_000_000, SM: 50})
		assertMapInDelta(t, map[int64]float64{12895: 0.5}, processUtil(t, scrapeOnce(t, s), 0, "general"),
			"the processes with samples are still reported")
		assert.Empty(t, processUtil(t, scrapeOnce(t, s), 0, "general"), "without the list, no process is known idle")
	})
}

// TestMIG: GPU 0 is in MIG mode with two MIG devices; GPU 1 is not. Each MIG device is a
// resource of its own, named after its GPU and linked to it by hw.parent; what the MIG devices
// share with their GPU (sensors, power, clocks, PCIe, ECC, health) is reported on the GPU only,
// and what NVML does not support on MIG (utilization) is asked once.
func TestMIG(t *testing.T) {
	gpu0, gpu1 := h200(0), h200(1)
	enableMIG(gpu0, 2)
	gpu0.procs = nil // the processes run in the MIG devices
	gpu0.migs[1].procs = []processInfo{{PID: 12895, UsedMemory: 2 << 30, MemoryOK: true}}
	lib := newFakeLibrary(gpu0, gpu1)
	s, logs := newTestScraper(t, lib, "", nil)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	var m pmetric.Metrics
	for range 3 {
		m = scrapeOnce(t, s)
	}
	require.NoError(t, s.shutdown(context.Background()))

	require.Equal(t, []string{gpu0.uuid, gpu0.migs[0].uuid, gpu0.migs[1].uuid, gpu1.uuid}, resourceIDs(m))
	mig1 := m.ResourceMetrics().At(2).Resource().Attributes().AsRaw()
	assert.Equal(t, map[string]any{
		"hw.id":                              gpu0.migs[1].uuid,
		"hw.name":                            "gpu0/mig1",
		"hw.parent":                          gpu0.uuid,
		"hw.type":                            "gpu",
		"hw.vendor":                          "NVIDIA",
		"hw.model":                           "NVIDIA H200 MIG 1g.18gb",
		"hw.gpu.pci_bus_id":                  gpu0.bus,
		"nvidia.gpu.mig.gpu_instance.id":     int64(2),
		"nvidia.gpu.mig.compute_instance.id": int64(0),
		"nvidia.driver.version":              "580.159.04",
		"nvidia.cuda.driver.version":         "13.0",
	}, mig1)
	assert.Equal(t, "gpu0", m.ResourceMetrics().At(0).Resource().Attributes().AsRaw()["hw.name"])
	assert.NotContains(t, m.ResourceMetrics().At(0).Resource().Attributes().AsRaw(), "hw.parent")

	assert.Equal(t, []string{"hw.gpu.memory.limit", "hw.gpu.memory.usage", "hw.gpu.memory.utilization", "hw.gpu.utilization", "nvidia.gpu.process.memory.usage"},
		metricNames(m, 2), "a MIG device: its memory, utilization and processes, nothing it shares with its GPU")
	assert.Equal(t, int64(2<<30), resourceSumValue(t, m, 2, "hw.gpu.memory.usage", ""))
	for r := range 3 {
		_, ok := findPoint(m, r, "hw.gpu.utilization", "general")
		assert.False(t, ok, "general utilization is not supported in MIG mode (resource %d)", r)
		_, ok = findPoint(m, r, "hw.gpu.utilization", "decoder")
		assert.True(t, ok, "the fake answers for the video engines (resource %d)", r)
	}
	assert.Equal(t, map[int64]bool{12895: false}, childFlagsOf(t, m, 2))
	gpu0Metrics := metricNames(m, 0)
	assert.Contains(t, gpu0Metrics, "hw.temperature")
	assert.Contains(t, gpu0Metrics, "hw.status")
	assert.NotContains(t, gpu0Metrics, "nvidia.gpu.process.memory.usage", "read on the MIG devices")
	assert.NotContains(t, gpu0Metrics, "nvidia.gpu.process.utilization")
	assert.Contains(t, metricNames(m, 3), "nvidia.gpu.process.utilization", "GPU 1 is not in MIG mode")

	mig := gpu0.migs[0]
	for _, call := range []string{"Temperature", "PowerUsage", "TotalEnergy", "ClockMHz", "ClockEventReasons", "PCIeCounters", "ECCErrors", "MIGEnabled"} {
		assert.Zero(t, mig.count(call), "%s on a MIG device", call)
	}
	for _, call := range []string{"UtilizationSamples", "UtilizationRates", "ProcessUtilization"} {
		assert.Equal(t, 1, mig.count(call), "%s: NOT_SUPPORTED on a MIG device, asked once", call)
	}
	assert.Equal(t, 3, mig.count("Memory"))
	assert.Zero(t, gpu0.count("ComputeProcesses"))
	assert.Zero(t, gpu0.count("ProcessUtilization"))
	assert.Equal(t, 1, gpu0.count("UtilizationSamples"))
	assert.Equal(t, []device{gpu0, gpu1}, lib.watched, "XIDs are watched on GPUs only")
	assert.Empty(t, logs.FilterLevelExact(zapcore.WarnLevel).Filter(func(e observer.LoggedEntry) bool {
		return e.Message != "reading NVIDIA GPUs through NVML"
	}).All())
	assert.Empty(t, lib.violations)

	t.Run("GPU without MIG", func(t *testing.T) {
		dev := h200(0)
		dev.errs["MIGEnabled"] = ErrNotSupported // nvmlDeviceGetMigMode before Ampere
		s, logs := newTestScraper(t, newFakeLibrary(dev), "", nil)
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		assert.Equal(t, 1, scrapeOnce(t, s).ResourceMetrics().Len())
		require.NoError(t, s.shutdown(context.Background()))
		assert.Empty(t, logs.FilterLevelExact(zapcore.WarnLevel).All())
	})
	t.Run("MIG mode unknown", func(t *testing.T) {
		dev := h200(0)
		dev.errs["MIGEnabled"] = errors.New("NVML_ERROR_UNKNOWN")
		s, logs := newTestScraper(t, newFakeLibrary(dev), "", nil)
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		assert.Equal(t, 1, scrapeOnce(t, s).ResourceMetrics().Len(), "the GPU itself is read")
		require.NoError(t, s.shutdown(context.Background()))
		skipped := logs.FilterMessage("GPU skipped").All()
		require.Len(t, skipped, 1)
		assert.Contains(t, skipped[0].ContextMap()["error"], "MIG devices of GPU gpu0")
	})
	t.Run("MIG mode without MIG devices", func(t *testing.T) {
		dev := h200(0)
		enableMIG(dev, 0)
		lib := newFakeLibrary(dev)
		s, _ := newTestScraper(t, lib, "", nil)
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		assert.Equal(t, 1, scrapeOnce(t, s).ResourceMetrics().Len())
		require.NoError(t, s.shutdown(context.Background()))
		assert.Zero(t, lib.count("ComputeProcesses"))
	})
}

// TestMIGDeviceByUUID: a MIG device selected alone is read without its GPU, and still names it.
func TestMIGDeviceByUUID(t *testing.T) {
	gpu := h200(0)
	enableMIG(gpu, 2)
	mig := gpu.migs[1]
	lib := newFakeLibrary(gpu)
	s, _ := newTestScraper(t, lib, "", func(c *Config) { c.Devices = []string{mig.uuid} })
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	m := scrapeOnce(t, s)
	require.NoError(t, s.shutdown(context.Background()))
	require.Equal(t, []string{mig.uuid}, resourceIDs(m))
	res := m.ResourceMetrics().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, "gpu0/mig1", res["hw.name"])
	assert.Equal(t, gpu.uuid, res["hw.parent"])
	assert.NotContains(t, res, "hw.gpu.index")
	_, ok := findPoint(m, 0, "hw.gpu.utilization", "general")
	assert.False(t, ok)
	assert.True(t, hasMetric(m, "hw.gpu.memory.usage"))
	assert.Zero(t, lib.count("DeviceCount"))
	assert.Zero(t, lib.count("WatchXIDs"), "no GPU to watch")
	assert.Zero(t, gpu.count("Temperature"), "the GPU is not read")

	t.Run("MIG identity unknown", func(t *testing.T) {
		gpu := h200(0)
		enableMIG(gpu, 1)
		mig := gpu.migs[0]
		mig.errs["MIGInfo"] = errors.New("nvmlDeviceIsMigDeviceHandle: NVML_ERROR_UNKNOWN")
		s, _ := newTestScraper(t, newFakeLibrary(gpu), "", func(c *Config) { c.Devices = []string{mig.uuid} })
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		m := scrapeOnce(t, s)
		require.NoError(t, s.shutdown(context.Background()))
		res := m.ResourceMetrics().At(0).Resource().Attributes().AsRaw()
		assert.Equal(t, mig.uuid, res["hw.name"], "not gpu0: NVML's index of a MIG device is its MIG index")
		assert.NotContains(t, res, "hw.gpu.index")
		assert.Zero(t, mig.count("Temperature"), "still a MIG device, by its UUID")
	})
}

// processPoints maps each process.pid of nvidia.gpu.process.utilization{hw.gpu.task=task} on
// resource r to its data point.
func processPoints(t *testing.T, m pmetric.Metrics, r int, task string) map[int64]pmetric.NumberDataPoint {
	t.Helper()
	out := map[int64]pmetric.NumberDataPoint{}
	ms := m.ResourceMetrics().At(r).ScopeMetrics().At(0).Metrics()
	for i := range ms.Len() {
		if ms.At(i).Name() != "nvidia.gpu.process.utilization" {
			continue
		}
		dps := ms.At(i).Gauge().DataPoints()
		for j := range dps.Len() {
			dp := dps.At(j)
			if v, _ := dp.Attributes().Get("hw.gpu.task"); v.Str() != task {
				continue
			}
			pid, _ := dp.Attributes().Get("process.pid")
			_, dup := out[pid.Int()]
			require.False(t, dup, "pid %d twice", pid.Int())
			out[pid.Int()] = dp
		}
	}
	return out
}

func processUtil(t *testing.T, m pmetric.Metrics, r int, task string) map[int64]float64 {
	t.Helper()
	out := map[int64]float64{}
	for pid, dp := range processPoints(t, m, r, task) {
		out[pid] = dp.DoubleValue()
	}
	return out
}

func assertMapInDelta(t *testing.T, want, got map[int64]float64, msg ...any) {
	t.Helper()
	if !assert.Len(t, got, len(want), msg...) {
		return
	}
	for k, v := range want {
		assert.InDelta(t, v, got[k], 1e-9, append([]any{"key %d", k}, msg...)...)
	}
}

// resourceIDs lists the hw.id of each ResourceMetrics, in order.
func resourceIDs(m pmetric.Metrics) []string {
	var ids []string
	for i := range m.ResourceMetrics().Len() {
		v, _ := m.ResourceMetrics().At(i).Resource().Attributes().Get("hw.id")
		ids = append(ids, v.Str())
	}
	return ids
}

// metricNames lists the metrics of resource r, sorted.
func metricNames(m pmetric.Metrics, r int) []string {
	var names []string
	ms := m.ResourceMetrics().At(r).ScopeMetrics().At(0).Metrics()
	for i := range ms.Len() {
		names = append(names, ms.At(i).Name())
	}
	slices.Sort(names)
	return names
}
