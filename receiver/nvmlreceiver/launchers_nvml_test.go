// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux && cgo

package nvmlreceiver

import (
	"context"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap/zapcore"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// processOwner is what the process metrics say of one process on one GPU.
type processOwner struct {
	memory   int64
	child    bool
	launcher string // llamacpp.launcher; "" when absent
}

// processOwners maps, per GPU (hw.id), each process.pid of nvidia.gpu.process.memory.usage to its
// memory and launcher attributes; it also requires nvidia.gpu.process.utilization to say the same
// of each process it reports.
func processOwners(t *testing.T, m pmetric.Metrics) map[string]map[int64]processOwner {
	t.Helper()
	out := map[string]map[int64]processOwner{}
	for _, rm := range m.ResourceMetrics().All() {
		id, _ := rm.Resource().Attributes().Get("hw.id")
		owners := map[int64]processOwner{}
		for _, sm := range rm.ScopeMetrics().All() {
			for _, metric := range sm.Metrics().All() {
				var dps pmetric.NumberDataPointSlice
				switch metric.Name() {
				case "nvidia.gpu.process.memory.usage":
					dps = metric.Sum().DataPoints()
				case "nvidia.gpu.process.utilization":
					dps = metric.Gauge().DataPoints()
				default:
					continue
				}
				for _, dp := range dps.All() {
					attrs := dp.Attributes()
					pid, _ := attrs.Get("process.pid")
					child, _ := attrs.Get("llamacpp.launcher.child")
					launcher := ""
					if v, ok := attrs.Get("llamacpp.launcher"); ok {
						launcher = v.Str()
						require.NotEmpty(t, launcher, "llamacpp.launcher is set but empty")
					}
					if metric.Name() == "nvidia.gpu.process.memory.usage" {
						owners[pid.Int()] = processOwner{memory: dp.IntValue(), child: child.Bool(), launcher: launcher}
						continue
					}
					if o, ok := owners[pid.Int()]; ok {
						assert.Equal(t, o.child, child.Bool(), "pid %d: utilization and memory disagree", pid.Int())
						assert.Equal(t, o.launcher, launcher, "pid %d: utilization and memory disagree", pid.Int())
					}
				}
			}
		}
		if len(owners) > 0 {
			out[id.Str()] = owners
		}
	}
	return out
}

// TestTwoLaunchersOnTwoGPUs runs the scraper on go-nvml's mock of a DGX H200 with two launchers,
// one model per GPU: llamalauncher/a's llama-server on GPU 0 (started through a wrapper that
// forks), llamalauncher/b's on GPU 1, and an unrelated python3 on GPU 1. Each server's memory is
// reported on its own GPU only and attributed to its own launcher; each launcher's energy ledger
// gets a meter of its own GPU only (which is what the llamacpp receivers' llamacpp.gpu.ids come
// from); and the attribution follows a restart of one server to its new PID.
func TestTwoLaunchersOnTwoGPUs(t *testing.T) {
	const (
		wrapperA, serverA = 4100, 4101
		serverB, python   = 4200, 777
		restartedA        = 4300
		memA, memB, memPy = 3 << 30, 5 << 30, 1 << 30
	)
	proc := t.TempDir()
	writeProc(t, proc, wrapperA, 1, "sh", "/bin/sh", "/usr/local/bin/wrap-llama")
	writeProc(t, proc, serverA, wrapperA, "llama-server", "/usr/bin/llama-server", "--port", "8090")
	writeProc(t, proc, serverB, 1, "llama-server", "/usr/bin/llama-server", "--port", "8091")
	writeProc(t, proc, python, 1, "python3", "/usr/bin/python3", "train.py")
	writeProc(t, proc, restartedA, 1, "llama-server", "/usr/bin/llama-server", "--port", "8090")

	srv := mockH200()
	gpu0, gpu1 := srv.Devices[0].(*server.Device), srv.Devices[1].(*server.Device)
	onGPU0 := []nvml.ProcessInfo{{Pid: serverA, UsedGpuMemory: memA}}
	gpu0.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) { return onGPU0, nvml.SUCCESS }
	gpu1.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
		return []nvml.ProcessInfo{{Pid: serverB, UsedGpuMemory: memB}, {Pid: python, UsedGpuMemory: memPy}}, nvml.SUCCESS
	}
	for _, d := range []*server.Device{gpu0, gpu1} {
		d.GetProcessUtilizationFunc = func(uint64) ([]nvml.ProcessUtilizationSample, nvml.Return) {
			return nil, nvml.ERROR_NOT_FOUND
		}
	}

	idA, idB := component.MustNewIDWithName("llamalauncher", "a"), component.MustNewIDWithName("llamalauncher", "b")
	a := &gpuLauncher{devices: []int{0}, ledger: &recordingLedger{}}
	b := &gpuLauncher{devices: []int{1}, ledger: &recordingLedger{}}
	a.pid.Store(serverA)
	b.pid.Store(serverB)
	s, logs := newTestScraper(t, nil, proc, func(c *Config) {
		c.Devices = []string{"0", "1"}
		c.Launchers = []component.ID{idA, idB}
	})
	s.newLibrary = mockLibrary(srv)
	require.NoError(t, s.start(context.Background(), hostWith{idA: a, idB: b}))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()
	assert.Empty(t, logs.FilterLevelExact(zapcore.WarnLevel).All())

	// Each ledger meters its launcher's GPU, and only it.
	require.NotNil(t, a.ledger.meter)
	require.NotNil(t, b.ledger.meter)
	model, _ := gpu0.GetName()
	assert.Equal(t, []launcherapi.GPU{{ID: gpu0.UUID, Name: "gpu0", Model: model, Index: 0}}, a.ledger.meter.GPUs())
	assert.Equal(t, []launcherapi.GPU{{ID: gpu1.UUID, Name: "gpu1", Model: model, Index: 1}}, b.ledger.meter.GPUs())
	on := logs.FilterMessage("GPU energy per request: on").All()
	require.Len(t, on, 2)
	assert.Equal(t, "llamalauncher/a", on[0].ContextMap()["launcher"])
	assert.Equal(t, "llamalauncher/b", on[1].ContextMap()["launcher"])

	want := map[string]map[int64]processOwner{
		gpu0.UUID: {serverA: {memory: memA, child: true, launcher: "llamalauncher/a"}},
		gpu1.UUID: {
			serverB: {memory: memB, child: true, launcher: "llamalauncher/b"},
			python:  {memory: memPy},
		},
	}
	scrapeOnce(t, s) // notes where the process samples end
	m := scrapeOnce(t, s)
	assert.Equal(t, want, processOwners(t, m))
	assertMapInDelta(t, map[int64]float64{serverA: 0}, processUtil(t, m, 0, "general"), "GPU 0: server a, idle")
	assertMapInDelta(t, map[int64]float64{serverB: 0, python: 0}, processUtil(t, m, 1, "general"), "GPU 1: server b and python3, idle")

	// Each GPU's energy split comes from its own launcher's ledger.
	a.ledger.totals = []launcherapi.GPUEnergyTotals{{GPU: a.ledger.meter.GPUs()[0], RequestJoules: 1, IdleJoules: 2}}
	b.ledger.totals = []launcherapi.GPUEnergyTotals{{GPU: b.ledger.meter.GPUs()[0], RequestJoules: 30, IdleJoules: 40}}
	m = scrapeOnce(t, s)
	assert.Equal(t, map[string]map[string]float64{
		gpu0.UUID: {"requests": 1, "idle": 2},
		gpu1.UUID: {"requests": 30, "idle": 40},
	}, energySplit(m))

	// Server a is killed and restarted without its wrapper: a new PID on GPU 0. The old PID is
	// gone from NVML's list; the new one is a's, and b's is untouched.
	onGPU0 = []nvml.ProcessInfo{{Pid: restartedA, UsedGpuMemory: memA}}
	a.pid.Store(restartedA)
	want[gpu0.UUID] = map[int64]processOwner{restartedA: {memory: memA, child: true, launcher: "llamalauncher/a"}}
	assert.Equal(t, want, processOwners(t, scrapeOnce(t, s)))

	// Server b stops (restarting): its process, still listed for a moment, is no launcher's.
	b.pid.Store(0)
	want[gpu1.UUID][serverB] = processOwner{memory: memB}
	assert.Equal(t, want, processOwners(t, scrapeOnce(t, s)))
}

// energySplit maps each GPU (hw.id) of nvidia.gpu.energy.attribution to its requests and idle
// joules.
func energySplit(m pmetric.Metrics) map[string]map[string]float64 {
	split := map[string]map[string]float64{}
	for _, rm := range m.ResourceMetrics().All() {
		id, _ := rm.Resource().Attributes().Get("hw.id")
		for _, sm := range rm.ScopeMetrics().All() {
			for _, metric := range sm.Metrics().All() {
				if metric.Name() != "nvidia.gpu.energy.attribution" {
					continue
				}
				split[id.Str()] = map[string]float64{}
				for _, dp := range metric.Sum().DataPoints().All() {
					use, _ := dp.Attributes().Get("nvidia.gpu.energy.use")
					split[id.Str()][use.Str()] = dp.DoubleValue()
				}
			}
		}
	}
	return split
}

// TestOneLauncherSplitOverTwoGPUs is the tensor-split form (one llama-server with
// `gpu.devices: [0, 1]`, split_mode layer or row) on go-nvml's mock of a DGX H200: the server's
// one process holds memory on both GPUs (NVML lists it on each), and each GPU's point carries the
// launcher; the launcher's ledger meters both GPUs, in device order.
func TestOneLauncherSplitOverTwoGPUs(t *testing.T) {
	const serverPid, mem0, mem1 = 5100, 7 << 30, 6 << 30
	proc := t.TempDir()
	writeProc(t, proc, serverPid, 1, "llama-server", "/usr/bin/llama-server", "--port", "8090", "--tensor-split", "1,1")

	srv := mockH200()
	gpu0, gpu1 := srv.Devices[0].(*server.Device), srv.Devices[1].(*server.Device)
	gpu0.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
		return []nvml.ProcessInfo{{Pid: serverPid, UsedGpuMemory: mem0}}, nvml.SUCCESS
	}
	gpu1.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
		return []nvml.ProcessInfo{{Pid: serverPid, UsedGpuMemory: mem1}}, nvml.SUCCESS
	}
	for _, d := range []*server.Device{gpu0, gpu1} {
		d.GetProcessUtilizationFunc = func(uint64) ([]nvml.ProcessUtilizationSample, nvml.Return) {
			return nil, nvml.ERROR_NOT_FOUND
		}
	}
	id := component.MustNewID("llamalauncher")
	l := &gpuLauncher{devices: []int{0, 1}, ledger: &recordingLedger{}}
	l.pid.Store(serverPid)
	s, logs := newTestScraper(t, nil, proc, func(c *Config) {
		c.Devices = []string{"0", "1"}
		c.Launcher = &id
	})
	s.newLibrary = mockLibrary(srv)
	require.NoError(t, s.start(context.Background(), hostWith{id: l}))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()
	assert.Empty(t, logs.FilterLevelExact(zapcore.WarnLevel).All())

	require.NotNil(t, l.ledger.meter)
	model, _ := gpu0.GetName()
	assert.Equal(t, []launcherapi.GPU{
		{ID: gpu0.UUID, Name: "gpu0", Model: model, Index: 0},
		{ID: gpu1.UUID, Name: "gpu1", Model: model, Index: 1},
	}, l.ledger.meter.GPUs(), "one ledger meters both GPUs of the split")

	scrapeOnce(t, s)
	assert.Equal(t, map[string]map[int64]processOwner{
		gpu0.UUID: {serverPid: {memory: mem0, child: true, launcher: "llamalauncher"}},
		gpu1.UUID: {serverPid: {memory: mem1, child: true, launcher: "llamalauncher"}},
	}, processOwners(t, scrapeOnce(t, s)))
}
