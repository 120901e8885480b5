// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux && cgo

package nvmlreceiver

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh200"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap/zapcore"
)

// These tests drive the go-nvml adapter with go-nvml's own mock (a DGX H200 server of 8 GPUs,
// pkg/nvml/mock/dgxh200): no GPU is needed, but cgo is, since the mock imports pkg/nvml. A mock
// method that is not set panics when called, so each test also proves which NVML functions the
// adapter does NOT call.

func u32(v uint32) [8]byte {
	var b [8]byte
	binary.NativeEndian.PutUint32(b[:4], v)
	return b
}

func u64(v uint64) [8]byte {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], v)
	return b
}

func busID(s string) [32]int8 {
	var b [32]int8
	for i := range len(s) {
		b[i] = int8(s[i])
	}
	return b
}

// mockH200 is dgxh200.New() with the values of the H200 capture (testdata fixtures) set on the
// device queries the dgxh200 server leaves unset.
func mockH200() *server.Server {
	s := dgxh200.New()
	s.SystemGetDriverVersionFunc = func() (string, nvml.Return) { return "580.159.04", nvml.SUCCESS }
	s.SystemGetCudaDriverVersion_v2Func = func() (int, nvml.Return) { return 13000, nvml.SUCCESS }
	s.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) {
		return &mock.EventSet{
			WaitFunc: func(uint32) (nvml.EventData, nvml.Return) { return nvml.EventData{}, nvml.ERROR_TIMEOUT },
			FreeFunc: func() nvml.Return { return nvml.SUCCESS },
		}, nvml.SUCCESS
	}
	for _, d := range s.Devices {
		dev := d.(*server.Device)
		dev.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) {
			return nvml.PciInfo{BusId: busID(dev.PciBusID)}, nvml.SUCCESS
		}
		dev.GetSamplesFunc = func(t nvml.SamplingType, since uint64) (nvml.ValueType, []nvml.Sample, nvml.Return) {
			if t != nvml.GPU_UTILIZATION_SAMPLES {
				return 0, nil, nvml.ERROR_INVALID_ARGUMENT
			}
			all := []nvml.Sample{{TimeStamp: 1_000_000, SampleValue: u32(70)}, {TimeStamp: 1_200_000, SampleValue: u32(67)}, {TimeStamp: 1_400_000, SampleValue: u32(68)}}
			var out []nvml.Sample
			for _, smp := range all {
				if smp.TimeStamp > since {
					out = append(out, smp)
				}
			}
			if len(out) == 0 {
				return nvml.VALUE_TYPE_UNSIGNED_INT, nil, nvml.ERROR_NOT_FOUND
			}
			return nvml.VALUE_TYPE_UNSIGNED_INT, out, nvml.SUCCESS
		}
		dev.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: 45, Memory: 5}, nvml.SUCCESS
		}
		dev.GetEncoderUtilizationFunc = func() (uint32, uint32, nvml.Return) { return 0, 100000, nvml.SUCCESS }
		dev.GetDecoderUtilizationFunc = func() (uint32, uint32, nvml.Return) { return 0, 100000, nvml.SUCCESS }
		dev.GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) {
			return nvml.Memory_v2{Total: 150754820096, Reserved: 644939776, Used: 3175940096, Free: 150754820096 - 644939776 - 3175940096}, nvml.SUCCESS
		}
		dev.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 41, nvml.SUCCESS }
		dev.GetFieldValuesFunc = func(fv []nvml.FieldValue) nvml.Return {
			for i := range fv {
				switch fv[i].FieldId {
				case nvml.FI_DEV_MEMORY_TEMP:
					fv[i].ValueType, fv[i].Value = uint32(nvml.VALUE_TYPE_UNSIGNED_INT), u32(42)
				case nvml.FI_DEV_PCIE_COUNT_TX_BYTES, nvml.FI_DEV_PCIE_COUNT_RX_BYTES:
					fv[i].ValueType, fv[i].Value = uint32(nvml.VALUE_TYPE_UNSIGNED_LONG_LONG), u64(0)
				default:
					fv[i].NvmlReturn = uint32(nvml.ERROR_NOT_SUPPORTED)
				}
			}
			return nvml.SUCCESS
		}
		dev.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 315159, nvml.SUCCESS }
		dev.GetTotalEnergyConsumptionFunc = func() (uint64, nvml.Return) { return 33363246, nvml.SUCCESS }
		dev.GetClockInfoFunc = func(c nvml.ClockType) (uint32, nvml.Return) {
			if c == nvml.CLOCK_MEM {
				return 3201, nvml.SUCCESS
			}
			return 1980, nvml.SUCCESS
		}
		dev.GetCurrentClocksEventReasonsFunc = func() (uint64, nvml.Return) { return 0, nvml.SUCCESS }
		dev.GetFanSpeedFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
		dev.GetPerformanceStateFunc = func() (nvml.Pstates, nvml.Return) { return nvml.PSTATE_0, nvml.SUCCESS }
		dev.GetPcieThroughputFunc = func(c nvml.PcieUtilCounter) (uint32, nvml.Return) {
			if c == nvml.PCIE_UTIL_TX_BYTES {
				return 1267, nvml.SUCCESS
			}
			return 379, nvml.SUCCESS
		}
		dev.GetTotalEccErrorsFunc = func(nvml.MemoryErrorType, nvml.EccCounterType) (uint64, nvml.Return) { return 0, nvml.SUCCESS }
		dev.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
			if dev.Index != 0 {
				return nil, nvml.SUCCESS
			}
			return []nvml.ProcessInfo{{Pid: 12895, UsedGpuMemory: 3166699520}, {Pid: 12896, UsedGpuMemory: math.MaxUint64}}, nvml.SUCCESS
		}
		dev.GetProcessUtilizationFunc = func(since uint64) ([]nvml.ProcessUtilizationSample, nvml.Return) {
			if dev.Index != 0 {
				return nil, nvml.ERROR_NOT_FOUND
			}
			return processSamplesSince([]nvml.ProcessUtilizationSample{
				{Pid: 12895, TimeStamp: 1_000_000, SmUtil: 62, MemUtil: 30},
				{Pid: 12895, TimeStamp: 1_200_000, SmUtil: 66, MemUtil: 31},
			}, since)
		}
		dev.GetSupportedEventTypesFunc = func() (uint64, nvml.Return) {
			return nvml.EventTypeXidCriticalError | nvml.EventTypeSingleBitEccError, nvml.SUCCESS
		}
		dev.RegisterEventsFunc = func(uint64, nvml.EventSet) nvml.Return { return nvml.SUCCESS }
	}
	return s
}

// processSamplesSince answers nvmlDeviceGetProcessUtilization as documented: the samples newer
// than since, or NVML_ERROR_NOT_FOUND when there is none.
func processSamplesSince(all []nvml.ProcessUtilizationSample, since uint64) ([]nvml.ProcessUtilizationSample, nvml.Return) {
	var out []nvml.ProcessUtilizationSample
	for _, smp := range all {
		if smp.TimeStamp > since {
			out = append(out, smp)
		}
	}
	if len(out) == 0 {
		return nil, nvml.ERROR_NOT_FOUND
	}
	return out, nvml.SUCCESS
}

func mockLibrary(lib nvml.Interface) func(string) gpuLibrary {
	return func(path string) gpuLibrary {
		return newNVMLLibrary(path, func(string) nvml.Interface { return lib })
	}
}

func TestAdapterWithMockH200Server(t *testing.T) {
	srv := mockH200()
	s, logs := newTestScraper(t, nil, "", nil)
	s.newLibrary = mockLibrary(srv)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	first := scrapeOnce(t, s)
	m := scrapeOnce(t, s)
	require.NoError(t, s.shutdown(context.Background()))

	require.Equal(t, 8, m.ResourceMetrics().Len())
	assert.InDelta(t, 33363.246, sumDouble(t, first, "hw.energy"), 1e-9)
	assert.False(t, hasMetric(m, "hw.energy"), "read again 10 s later")
	res := m.ResourceMetrics().At(0).Resource().Attributes().AsRaw()
	assert.Equal(t, "NVIDIA H200 141GB HBM3e", res["hw.model"])
	assert.Equal(t, srv.Devices[0].(*server.Device).UUID, res["hw.id"])
	assert.Equal(t, "0000:00:00.0", res["hw.gpu.pci_bus_id"])
	assert.Equal(t, "580.159.04", res["nvidia.driver.version"])
	assert.Equal(t, "13.0", res["nvidia.cuda.driver.version"])

	assert.Equal(t, int64(3175940096), sumValue(t, m, "hw.gpu.memory.usage", ""), "v2 used: nvidia-smi's memory.used")
	assert.Equal(t, int64(150754820096), sumValue(t, m, "hw.gpu.memory.limit", ""))
	assert.InDelta(t, 315.159, gaugeValue(t, m, "hw.power", ""), 1e-9)
	assert.InDelta(t, 41, gaugeValue(t, m, "hw.temperature", "gpu"), 0)
	assert.InDelta(t, 42, gaugeValue(t, m, "hw.temperature", "memory"), 0)
	assert.InDelta(t, 0.45, gaugeValue(t, m, "hw.gpu.utilization", "general"), 1e-9, "no new sample: the rates")
	assert.Equal(t, int64(1267*1024), sumValue(t, m, "hw.gpu.io", "transmit"))
	assert.False(t, hasMetric(m, "nvidia.gpu.fan.speed_ratio"))
	assert.Equal(t, map[int64]bool{12895: false}, childFlags(t, m), "NVML_VALUE_NOT_AVAILABLE is left out")
	assert.False(t, hasMetric(first, "nvidia.gpu.process.utilization"), "the first scrape notes where the samples end")
	assert.Equal(t, map[int64]float64{12895: 0, 12896: 0}, processUtil(t, m, 0, "general"),
		"no sample since the first scrape: 0 for each process with a compute context")

	assert.Len(t, srv.InitCalls(), 1)
	assert.Len(t, srv.ShutdownCalls(), 1)
	dev0 := srv.Devices[0].(*server.Device)
	assert.Len(t, dev0.GetFanSpeedCalls(), 1, "NOT_SUPPORTED: asked once")
	assert.Len(t, dev0.GetSamplesCalls(), 2)
	if calls := dev0.GetProcessUtilizationCalls(); assert.Len(t, calls, 2) {
		assert.Equal(t, uint64(1_200_000), calls[1].V, "the newest timestamp the first scrape saw")
	}
	assert.Len(t, dev0.RegisterEventsCalls(), 1)
	assert.Empty(t, logs.FilterMessageSnippet("failed").All())
}

func TestAdapterFirstScrapeAveragesSamples(t *testing.T) {
	srv := mockH200()
	lib := newNVMLLibrary("", func(string) nvml.Interface { return srv })
	require.NoError(t, lib.Init())
	defer func() { require.NoError(t, lib.Shutdown()) }()
	d, err := lib.DeviceByIndex(0)
	require.NoError(t, err)
	samples, err := d.UtilizationSamples(0)
	require.NoError(t, err)
	assert.Equal(t, []utilizationSample{{1_000_000, 70}, {1_200_000, 67}, {1_400_000, 68}}, samples)
	_, err = d.UtilizationSamples(1_400_000)
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestAdapterInitFailures(t *testing.T) {
	dir := t.TempDir()
	lib1, lib2 := filepath.Join(dir, "a.so"), filepath.Join(dir, "b.so")
	require.NoError(t, os.WriteFile(lib1, nil, 0o600))
	require.NoError(t, os.WriteFile(lib2, nil, 0o600))

	tests := []struct {
		name   string
		rets   map[string]nvml.Return // Init's answer per candidate
		want   error
		opened []string
	}{
		{name: "nowhere", rets: map[string]nvml.Return{}, want: ErrLibraryNotFound, opened: []string{"", lib1, lib2}},
		{name: "second path", rets: map[string]nvml.Return{lib1: nvml.SUCCESS}, opened: []string{"", lib1}},
		{name: "driver not loaded stops the search", rets: map[string]nvml.Return{lib1: nvml.ERROR_DRIVER_NOT_LOADED}, want: ErrDriverNotLoaded, opened: []string{"", lib1}},
		{name: "no permission", rets: map[string]nvml.Return{"": nvml.ERROR_NO_PERMISSION}, want: ErrNoPermission, opened: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opened []string
			var mocks []*mock.Interface
			l := newNVMLLibrary("", func(p string) nvml.Interface {
				opened = append(opened, p)
				ret, ok := tt.rets[p]
				if !ok {
					ret = nvml.ERROR_LIBRARY_NOT_FOUND
				}
				// Only Init (and, after a success, the symbol lookups and Shutdown) may be called:
				// any other method of this mock panics.
				m := &mock.Interface{InitFunc: func() nvml.Return { return ret }}
				if ret == nvml.SUCCESS {
					m.ExtensionsFunc = func() nvml.ExtendedInterface {
						return &mock.ExtendedInterface{LookupSymbolFunc: func(string) error { return nil }}
					}
					m.ShutdownFunc = func() nvml.Return { return nvml.SUCCESS }
				}
				mocks = append(mocks, m)
				return m
			})
			l.candidates = []string{"", "/nonexistent/libnvidia-ml.so.1", lib1, lib2}
			err := l.Init()
			assert.Equal(t, tt.opened, opened, "/nonexistent is not even opened")
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				for _, m := range mocks {
					assert.Len(t, m.InitCalls(), 1)
				}
				return
			}
			require.NoError(t, err)
			require.NoError(t, l.Shutdown())
			require.NoError(t, l.Shutdown(), "a second Shutdown does nothing")
			assert.Len(t, mocks[len(mocks)-1].ShutdownCalls(), 1)
		})
	}
}

// TestRealLibraryAbsent runs go-nvml itself: without libnvidia-ml, Init reports
// NVML_ERROR_LIBRARY_NOT_FOUND (dlopen failed) and nothing else is called.
func TestRealLibraryAbsent(t *testing.T) {
	err := newLibrary("/nonexistent/libnvidia-ml.so.1").Init()
	require.ErrorIs(t, err, ErrLibraryNotFound)
	assert.ErrorContains(t, err, "/nonexistent/libnvidia-ml.so.1")

	l := newLibrary("")
	if err := l.Init(); err == nil {
		require.NoError(t, l.Shutdown())
		t.Skip("this host has NVML")
	} else {
		assert.ErrorIs(t, err, ErrLibraryNotFound)
	}
}

func TestAdapterSymbolGuard(t *testing.T) {
	missing := map[string]bool{
		"nvmlDeviceGetMemoryInfo_v2":             true, // a driver older than 510
		"nvmlDeviceGetTotalEnergyConsumption":    true,
		"nvmlDeviceGetCurrentClocksEventReasons": true, // older than 535
		"nvmlSystemGetCudaDriverVersion_v2":      true,
	}
	srv := mockH200()
	srv.LookupSymbolFunc = func(s string) error {
		if missing[s] {
			return errors.New("undefined symbol: " + s)
		}
		return nil
	}
	srv.SystemGetCudaDriverVersion_v2Func = nil // would panic if called
	dev := srv.Devices[0].(*server.Device)
	dev.GetMemoryInfo_v2Func = nil
	dev.GetTotalEnergyConsumptionFunc = nil
	dev.GetCurrentClocksEventReasonsFunc = nil
	dev.GetCurrentClocksThrottleReasonsFunc = func() (uint64, nvml.Return) { return 0x4, nvml.SUCCESS }
	dev.MemoryInfo = nvml.Memory{Total: 100, Used: 40, Free: 60}

	lib := newNVMLLibrary("", func(string) nvml.Interface { return srv })
	require.NoError(t, lib.Init())
	defer func() { require.NoError(t, lib.Shutdown()) }()
	v, err := lib.CUDADriverVersion()
	require.NoError(t, err)
	assert.Equal(t, 12040, v, "the dgxh200 server's CUDA version, through the unversioned call")
	d, err := lib.DeviceByIndex(0)
	require.NoError(t, err)
	mem, err := d.Memory()
	require.NoError(t, err)
	assert.Equal(t, memoryInfo{Total: 100, Used: 40, Free: 60}, mem, "v1 fallback")
	_, err = d.TotalEnergy()
	assert.ErrorIs(t, err, ErrFunctionNotFound)
	r, err := d.ClockEventReasons()
	require.NoError(t, err)
	assert.Equal(t, uint64(0x4), r)
}

func TestAdapterMissingCriticalSymbol(t *testing.T) {
	srv := mockH200()
	srv.LookupSymbolFunc = func(s string) error {
		if s == "nvmlDeviceGetUUID" {
			return errors.New("undefined symbol")
		}
		return nil
	}
	lib := newNVMLLibrary("", func(string) nvml.Interface { return srv })
	err := lib.Init()
	require.ErrorIs(t, err, ErrFunctionNotFound)
	assert.Len(t, srv.ShutdownCalls(), 1, "Init succeeded, so it is paired with a Shutdown")
	assert.Empty(t, srv.DeviceGetCountCalls())
}

func TestAdapterXIDs(t *testing.T) {
	srv := mockH200()
	events := []nvml.EventData{
		{Device: srv.Devices[2], EventType: nvml.EventTypeXidCriticalError, EventData: 79},
		{Device: srv.Devices[0], EventType: nvml.EventTypeSingleBitEccError}, // not an XID
		{Device: nil, EventType: nvml.EventTypeXidCriticalError, EventData: 13},
	}
	set := &mock.EventSet{
		WaitFunc: func(timeout uint32) (nvml.EventData, nvml.Return) {
			if timeout != 0 {
				t.Errorf("Wait(%d): the scraper must not block", timeout)
			}
			if len(events) == 0 {
				return nvml.EventData{}, nvml.ERROR_TIMEOUT
			}
			e := events[0]
			events = events[1:]
			return e, nvml.SUCCESS
		},
		FreeFunc: func() nvml.Return { return nvml.SUCCESS },
	}
	srv.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) { return set, nvml.SUCCESS }
	// GPU 1 does not offer XID events; GPU 3 refuses the registration.
	srv.Devices[1].(*server.Device).GetSupportedEventTypesFunc = func() (uint64, nvml.Return) { return 0, nvml.SUCCESS }
	srv.Devices[3].(*server.Device).RegisterEventsFunc = func(uint64, nvml.EventSet) nvml.Return { return nvml.ERROR_NOT_SUPPORTED }

	lib := newNVMLLibrary("", func(string) nvml.Interface { return srv })
	require.NoError(t, lib.Init())
	defer func() { require.NoError(t, lib.Shutdown()) }()
	var devs []device
	for i := range 4 {
		d, err := lib.DeviceByIndex(i)
		require.NoError(t, err)
		devs = append(devs, d)
	}
	x, err := lib.WatchXIDs(devs)
	require.NoError(t, err)
	assert.Len(t, x.(*nvmlXIDs).devs, 2)
	got, err := x.Poll(10)
	require.NoError(t, err)
	assert.Equal(t, []xidEvent{{DeviceUUID: srv.Devices[2].(*server.Device).UUID, XID: 79}, {XID: 13}}, got)
	got, err = x.Poll(10)
	require.NoError(t, err)
	assert.Empty(t, got)
	require.NoError(t, x.Close())
	assert.Len(t, set.FreeCalls(), 1)

	t.Run("no device supports them", func(t *testing.T) {
		set.FreeFunc = func() nvml.Return { return nvml.SUCCESS }
		_, err := lib.WatchXIDs(devs[1:2])
		require.ErrorIs(t, err, ErrNotSupported)
		assert.Len(t, set.FreeCalls(), 2, "the set is freed")
	})
}

func TestNVMLErrorMapping(t *testing.T) {
	for ret, want := range map[nvml.Return]error{
		nvml.ERROR_NOT_SUPPORTED:      ErrNotSupported,
		nvml.ERROR_NO_PERMISSION:      ErrNoPermission,
		nvml.ERROR_NOT_FOUND:          ErrNotFound,
		nvml.ERROR_LIBRARY_NOT_FOUND:  ErrLibraryNotFound,
		nvml.ERROR_DRIVER_NOT_LOADED:  ErrDriverNotLoaded,
		nvml.ERROR_FUNCTION_NOT_FOUND: ErrFunctionNotFound,
		nvml.ERROR_GPU_IS_LOST:        ErrGPULost,
	} {
		err := nvmlError("nvmlX", ret)
		assert.ErrorIs(t, err, want)
		assert.Regexp(t, "^nvmlX: ", err.Error())
	}
	require.NoError(t, nvmlError("nvmlX", nvml.SUCCESS))
	assert.EqualError(t, nvmlError("nvmlX", nvml.ERROR_UNKNOWN), "nvmlX: NVML_ERROR_UNKNOWN")
	assert.EqualError(t, nvmlError("nvmlX", nvml.Return(77)), "nvmlX: NVML error 77")
}

func TestDecodeValue(t *testing.T) {
	var neg [8]byte
	binary.NativeEndian.PutUint32(neg[:4], uint32(0xFFFFFFFE)) // -2 as a signed int
	tests := []struct {
		t    nvml.ValueType
		b    [8]byte
		want float64
	}{
		{nvml.VALUE_TYPE_DOUBLE, u64(math.Float64bits(42.5)), 42.5},
		{nvml.VALUE_TYPE_UNSIGNED_INT, u32(71), 71},
		{nvml.VALUE_TYPE_UNSIGNED_LONG, u64(1 << 40), 1 << 40},
		{nvml.VALUE_TYPE_UNSIGNED_LONG_LONG, u64(33363246), 33363246},
		{nvml.VALUE_TYPE_SIGNED_LONG_LONG, u64(uint64(1<<64 - 5)), -5},
		{nvml.VALUE_TYPE_SIGNED_INT, neg, -2},
		{nvml.VALUE_TYPE_UNSIGNED_SHORT, u32(65535), 65535},
	}
	for _, tt := range tests {
		got, ok := decodeValue(tt.t, tt.b)
		assert.True(t, ok)
		assert.InDelta(t, tt.want, got, 0, "type %d", tt.t)
	}
	_, ok := decodeValue(nvml.VALUE_TYPE_COUNT, u32(1))
	assert.False(t, ok)
}

func sumDouble(t *testing.T, m pmetric.Metrics, name string) float64 {
	t.Helper()
	dp, ok := findPoint(m, 0, name, "")
	require.True(t, ok, "%s missing", name)
	return dp.DoubleValue()
}

// TestAdapterProcessUtilization drives nvmlDeviceGetProcessUtilization through go-nvml's mock
// with what go-nvml's wrapper returns for each answer of the two calls it makes (count, then
// read): a sample per process that was busy, NVML_ERROR_NOT_FOUND when there is none newer than
// the timestamp, the counting call's own code when it counted nothing.
func TestAdapterProcessUtilization(t *testing.T) {
	samples := []nvml.ProcessUtilizationSample{
		{Pid: 12895, TimeStamp: 1_200_000, SmUtil: 60, MemUtil: 40, EncUtil: 1, DecUtil: 2},
		{Pid: 0, TimeStamp: 1_200_000}, // an entry without a process
		{Pid: 777, TimeStamp: 1_400_000, SmUtil: 10},
	}
	type answer struct {
		samples []nvml.ProcessUtilizationSample
		ret     nvml.Return
	}
	tests := []struct {
		name    string
		answers []answer
		want    []processUtilizationSample
		wantErr error
		calls   int
	}{
		{name: "samples", answers: []answer{{samples, nvml.SUCCESS}}, calls: 1, want: []processUtilizationSample{
			{PID: 12895, Timestamp: 1_200_000, SM: 60, Memory: 40, Encoder: 1, Decoder: 2},
			{PID: 777, Timestamp: 1_400_000, SM: 10},
		}},
		{name: "none newer", answers: []answer{{nil, nvml.ERROR_NOT_FOUND}}, wantErr: ErrNotFound, calls: 1},
		{name: "counted none", answers: []answer{{[]nvml.ProcessUtilizationSample{}, nvml.ERROR_INSUFFICIENT_SIZE}}, wantErr: ErrNotFound, calls: 1},
		{name: "nothing to read", answers: []answer{{nil, nvml.SUCCESS}}, wantErr: ErrNotFound, calls: 1},
		{name: "a process appeared between count and read", calls: 2,
			answers: []answer{{samples[:1], nvml.ERROR_INSUFFICIENT_SIZE}, {samples[2:], nvml.SUCCESS}},
			want:    []processUtilizationSample{{PID: 777, Timestamp: 1_400_000, SM: 10}}},
		{name: "twice", calls: 2,
			answers: []answer{{samples[:1], nvml.ERROR_INSUFFICIENT_SIZE}, {samples[:1], nvml.ERROR_INSUFFICIENT_SIZE}}},
		{name: "MIG-enabled GPU", answers: []answer{{nil, nvml.ERROR_NOT_SUPPORTED}}, wantErr: ErrNotSupported, calls: 1},
		{name: "GPU lost", answers: []answer{{nil, nvml.ERROR_GPU_IS_LOST}}, wantErr: ErrGPULost, calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mockH200()
			dev := srv.Devices[0].(*server.Device)
			answers := tt.answers
			dev.GetProcessUtilizationFunc = func(since uint64) ([]nvml.ProcessUtilizationSample, nvml.Return) {
				assert.Equal(t, uint64(1_000_000), since)
				a := answers[0]
				answers = answers[1:]
				return a.samples, a.ret
			}
			lib := newNVMLLibrary("", func(string) nvml.Interface { return srv })
			require.NoError(t, lib.Init())
			defer func() { require.NoError(t, lib.Shutdown()) }()
			d, err := lib.DeviceByIndex(0)
			require.NoError(t, err)
			got, err := d.ProcessUtilization(1_000_000)
			assert.Len(t, dev.GetProcessUtilizationCalls(), tt.calls)
			switch {
			case tt.wantErr != nil:
				require.ErrorIs(t, err, tt.wantErr)
				assert.ErrorContains(t, err, "nvmlDeviceGetProcessUtilization")
			case tt.want == nil:
				assert.EqualError(t, err, "nvmlDeviceGetProcessUtilization: NVML_ERROR_INSUFFICIENT_SIZE")
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
		})
	}

	t.Run("driver without the function", func(t *testing.T) {
		srv := mockH200()
		srv.LookupSymbolFunc = func(s string) error {
			if s == "nvmlDeviceGetProcessUtilization" {
				return errors.New("undefined symbol: " + s)
			}
			return nil
		}
		srv.Devices[0].(*server.Device).GetProcessUtilizationFunc = nil // would panic if called
		lib := newNVMLLibrary("", func(string) nvml.Interface { return srv })
		require.NoError(t, lib.Init())
		defer func() { require.NoError(t, lib.Shutdown()) }()
		d, err := lib.DeviceByIndex(0)
		require.NoError(t, err)
		_, err = d.ProcessUtilization(0)
		assert.ErrorIs(t, err, ErrFunctionNotFound)
	})
}

// TestAdapterProcessUtilizationScrape runs the scraper on go-nvml's mock: llama-server (the
// launcher's child) and python3 on GPU 0, their samples since the previous scrape averaged.
func TestAdapterProcessUtilizationScrape(t *testing.T) {
	proc := t.TempDir()
	writeProc(t, proc, 12895, 4000, "llama-server", "/usr/bin/llama-server")
	writeProc(t, proc, 777, 1, "python3", "/usr/bin/python3", "train.py")
	srv := mockH200()
	dev := srv.Devices[0].(*server.Device)
	dev.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
		return []nvml.ProcessInfo{{Pid: 12895, UsedGpuMemory: 3 << 30}, {Pid: 777, UsedGpuMemory: 1 << 30}}, nvml.SUCCESS
	}
	samples := []nvml.ProcessUtilizationSample{{Pid: 12895, TimeStamp: 1_000_000, SmUtil: 99}}
	dev.GetProcessUtilizationFunc = func(since uint64) ([]nvml.ProcessUtilizationSample, nvml.Return) {
		return processSamplesSince(samples, since)
	}
	s, logs := newTestScraper(t, nil, proc, func(c *Config) {
		c.Devices = []string{"0"}
		c.Launcher = &launcherID
	})
	s.newLibrary = mockLibrary(srv)
	l := &fakeLauncher{}
	l.pid.Store(12895)
	require.NoError(t, s.start(context.Background(), hostWith{launcherID: l}))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()

	assert.False(t, hasMetric(scrapeOnce(t, s), "nvidia.gpu.process.utilization"), "the first scrape notes where the samples end")
	samples = append(samples,
		nvml.ProcessUtilizationSample{Pid: 12895, TimeStamp: 1_200_000, SmUtil: 50, MemUtil: 20},
		nvml.ProcessUtilizationSample{Pid: 777, TimeStamp: 1_200_000, SmUtil: 30},
		nvml.ProcessUtilizationSample{Pid: 12895, TimeStamp: 1_400_000, SmUtil: 70, MemUtil: 30, DecUtil: 10})
	m := scrapeOnce(t, s)
	assertMapInDelta(t, map[int64]float64{12895: 0.60, 777: 0.30}, processUtil(t, m, 0, "general"))
	assertMapInDelta(t, map[int64]float64{12895: 0.05, 777: 0}, processUtil(t, m, 0, "decoder"))
	assert.Equal(t, map[int64]bool{12895: true, 777: false}, childFlags(t, m))
	general := processPoints(t, m, 0, "general")
	child, _ := general[12895].Attributes().Get("llamacpp.launcher.child")
	assert.True(t, child.Bool(), "llama-server is marked")
	name, _ := general[777].Attributes().Get("process.executable.name")
	assert.Equal(t, "python3", name.Str())

	assertMapInDelta(t, map[int64]float64{12895: 0, 777: 0}, processUtil(t, scrapeOnce(t, s), 0, "general"),
		"NVML_ERROR_NOT_FOUND: both idle")
	calls := dev.GetProcessUtilizationCalls()
	require.Len(t, calls, 3)
	assert.Equal(t, []uint64{0, 1_000_000, 1_400_000}, []uint64{calls[0].V, calls[1].V, calls[2].V})
	assert.Empty(t, logs.FilterLevelExact(zapcore.WarnLevel).All())
}

// migMock is a MIG device of parent as a MIG device handle answers in the NVML API Reference
// (https://docs.nvidia.com/deploy/nvml-api/, "Multi Instance GPU Management" and "Device
// Queries"): nvmlDeviceIsMigDeviceHandle is true, nvmlDeviceGetIndex is the index under the GPU,
// nvmlDeviceGetGpuInstanceId / nvmlDeviceGetComputeInstanceId give the instance ids,
// nvmlDeviceGetDeviceHandleFromMigDeviceHandle the GPU, nvmlDeviceGetMemoryInfo and
// nvmlDeviceGetComputeRunningProcesses the instance's own ("Per-instance information can be
// queried by using specific MIG device handles"), and utilization is not supported (process
// utilization: "On MIG-enabled GPUs, querying process utilization is not currently supported").
// Every other method is left nil, so that the test panics if the scraper asks a MIG device for
// what it shares with its GPU (temperature, power, clocks, ECC, PCIe, events).
func migMock(parent *server.Device, index int, uuid string) *mock.Device {
	notSupported := func() (uint32, uint32, nvml.Return) { return 0, 0, nvml.ERROR_NOT_SUPPORTED }
	return &mock.Device{
		GetUUIDFunc:              func() (string, nvml.Return) { return uuid, nvml.SUCCESS },
		GetNameFunc:              func() (string, nvml.Return) { return "NVIDIA H200 MIG 1g.18gb", nvml.SUCCESS },
		GetIndexFunc:             func() (int, nvml.Return) { return index, nvml.SUCCESS },
		GetPciInfoFunc:           func() (nvml.PciInfo, nvml.Return) { return nvml.PciInfo{BusId: busID(parent.PciBusID)}, nvml.SUCCESS },
		IsMigDeviceHandleFunc:    func() (bool, nvml.Return) { return true, nvml.SUCCESS },
		GetGpuInstanceIdFunc:     func() (int, nvml.Return) { return 3 + index*2, nvml.SUCCESS },
		GetComputeInstanceIdFunc: func() (int, nvml.Return) { return 0, nvml.SUCCESS },
		GetDeviceHandleFromMigDeviceHandleFunc: func() (nvml.Device, nvml.Return) {
			return parent, nvml.SUCCESS
		},
		GetMemoryInfo_v2Func: func() (nvml.Memory_v2, nvml.Return) {
			used := uint64(1+index) << 30
			return nvml.Memory_v2{Total: 16_106_127_360, Used: used, Free: 16_106_127_360 - used}, nvml.SUCCESS
		},
		GetComputeRunningProcessesFunc: func() ([]nvml.ProcessInfo, nvml.Return) {
			if index != 0 {
				return nil, nvml.SUCCESS
			}
			return []nvml.ProcessInfo{{Pid: 12895, UsedGpuMemory: 1 << 30, GpuInstanceId: 3}}, nvml.SUCCESS
		},
		GetSamplesFunc: func(nvml.SamplingType, uint64) (nvml.ValueType, []nvml.Sample, nvml.Return) {
			return 0, nil, nvml.ERROR_NOT_SUPPORTED
		},
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{}, nvml.ERROR_NOT_SUPPORTED
		},
		GetEncoderUtilizationFunc: notSupported,
		GetDecoderUtilizationFunc: notSupported,
		GetProcessUtilizationFunc: func(uint64) ([]nvml.ProcessUtilizationSample, nvml.Return) {
			return nil, nvml.ERROR_NOT_SUPPORTED
		},
	}
}

// mockMIG puts GPU 0 of srv in MIG mode with two MIG devices (of the 7 an H200 can hold), and
// lets nvmlDeviceGetHandleByUUID find them.
func mockMIG(srv *server.Server) (parent *server.Device, migs []*mock.Device) {
	parent = srv.Devices[0].(*server.Device)
	migs = []*mock.Device{
		migMock(parent, 0, "MIG-11111111-2222-3333-4444-555555555550"),
		migMock(parent, 1, "MIG-11111111-2222-3333-4444-555555555551"),
	}
	parent.GetMigModeFunc = func() (int, int, nvml.Return) {
		return nvml.DEVICE_MIG_ENABLE, nvml.DEVICE_MIG_ENABLE, nvml.SUCCESS
	}
	parent.GetMaxMigDeviceCountFunc = func() (int, nvml.Return) { return 7, nvml.SUCCESS }
	parent.GetMigDeviceHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
		if i < len(migs) {
			return migs[i], nvml.SUCCESS
		}
		return nil, nvml.ERROR_NOT_FOUND // "if no valid MIG device was found at index"
	}
	// A MIG-enabled GPU: no utilization; its processes need a MIG device handle (or privileges),
	// so the scraper must not ask it for them.
	parent.GetSamplesFunc = func(nvml.SamplingType, uint64) (nvml.ValueType, []nvml.Sample, nvml.Return) {
		return 0, nil, nvml.ERROR_NOT_SUPPORTED
	}
	parent.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
		return nvml.Utilization{}, nvml.ERROR_NOT_SUPPORTED
	}
	parent.GetComputeRunningProcessesFunc = nil
	parent.GetProcessUtilizationFunc = nil
	byUUID := srv.DeviceGetHandleByUUIDFunc
	srv.DeviceGetHandleByUUIDFunc = func(uuid string) (nvml.Device, nvml.Return) {
		for _, m := range migs {
			if u, _ := m.GetUUID(); u == uuid {
				return m, nvml.SUCCESS
			}
		}
		return byUUID(uuid)
	}
	return parent, migs
}

// TestAdapterMIG: MIG cannot be enabled on any GPU this is developed on, so MIG is tested with
// go-nvml's mocks answering as the NVML API Reference documents (see migMock): GPU 0 in MIG mode
// with two MIG devices, GPU 1 not.
func TestAdapterMIG(t *testing.T) {
	srv := mockH200()
	parent, migs := mockMIG(srv)
	s, logs := newTestScraper(t, nil, "", func(c *Config) { c.Devices = []string{"0", "1"} })
	s.newLibrary = mockLibrary(srv)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	var m pmetric.Metrics
	for range 3 {
		m = scrapeOnce(t, s)
	}
	require.NoError(t, s.shutdown(context.Background()))

	gpu1 := srv.Devices[1].(*server.Device)
	require.Equal(t, []string{parent.UUID, "MIG-11111111-2222-3333-4444-555555555550", "MIG-11111111-2222-3333-4444-555555555551", gpu1.UUID}, resourceIDs(m))
	res := m.ResourceMetrics().At(2).Resource().Attributes().AsRaw()
	assert.Equal(t, "gpu0/mig1", res["hw.name"])
	assert.Equal(t, parent.UUID, res["hw.parent"])
	assert.Equal(t, "NVIDIA H200 MIG 1g.18gb", res["hw.model"])
	assert.Equal(t, int64(5), res["nvidia.gpu.mig.gpu_instance.id"])
	assert.Equal(t, int64(0), res["nvidia.gpu.mig.compute_instance.id"])
	assert.NotContains(t, res, "hw.gpu.index")

	assert.Equal(t, []string{"hw.gpu.memory.limit", "hw.gpu.memory.usage", "hw.gpu.memory.utilization", "nvidia.gpu.process.memory.usage"},
		metricNames(m, 1), "MIG device 0: memory and its process; what NVML does not support on MIG is left out")
	assert.Equal(t, int64(1<<30), resourceSumValue(t, m, 1, "hw.gpu.memory.usage", ""))
	assert.Equal(t, map[int64]bool{12895: false}, childFlagsOf(t, m, 1))
	gpu0 := metricNames(m, 0)
	assert.Contains(t, gpu0, "hw.power")
	assert.Contains(t, gpu0, "hw.temperature")
	assert.NotContains(t, gpu0, "nvidia.gpu.process.memory.usage")
	_, ok := findPoint(m, 0, "hw.gpu.utilization", "general")
	assert.False(t, ok)
	assert.Len(t, gpu1.GetProcessUtilizationCalls(), 3, "GPU 1 is not in MIG mode")

	for i, mig := range migs {
		assert.Len(t, mig.GetSamplesCalls(), 1, "MIG device %d: NOT_SUPPORTED, asked once", i)
		assert.Len(t, mig.GetUtilizationRatesCalls(), 1)
		assert.Len(t, mig.GetEncoderUtilizationCalls(), 1)
		assert.Len(t, mig.GetProcessUtilizationCalls(), 1)
		assert.Len(t, mig.GetMemoryInfo_v2Calls(), 3)
		assert.Empty(t, mig.IsMigDeviceHandleCalls(), "known from nvmlDeviceGetMigDeviceHandleByIndex")
		assert.Empty(t, mig.GetDeviceHandleFromMigDeviceHandleCalls(), "the parent is known")
	}
	assert.Len(t, parent.GetSamplesCalls(), 1)
	assert.Len(t, parent.GetMaxMigDeviceCountCalls(), 1)
	assert.Len(t, parent.GetMigDeviceHandleByIndexCalls(), 7)
	assert.Len(t, parent.RegisterEventsCalls(), 1, "XIDs are registered on the GPU, not on its MIG devices")
	assert.Empty(t, logs.FilterLevelExact(zapcore.WarnLevel).All())

	t.Run("selected by UUID", func(t *testing.T) {
		srv := mockH200()
		parent, migs := mockMIG(srv)
		s, _ := newTestScraper(t, nil, "", func(c *Config) { c.Devices = []string{"MIG-11111111-2222-3333-4444-555555555551"} })
		s.newLibrary = mockLibrary(srv)
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		m := scrapeOnce(t, s)
		require.NoError(t, s.shutdown(context.Background()))
		require.Equal(t, []string{"MIG-11111111-2222-3333-4444-555555555551"}, resourceIDs(m))
		res := m.ResourceMetrics().At(0).Resource().Attributes().AsRaw()
		assert.Equal(t, "gpu0/mig1", res["hw.name"])
		assert.Equal(t, parent.UUID, res["hw.parent"])
		assert.Len(t, migs[1].IsMigDeviceHandleCalls(), 1)
		assert.Len(t, migs[1].GetDeviceHandleFromMigDeviceHandleCalls(), 1)
		assert.Empty(t, parent.GetMigModeCalls(), "the GPU itself is not read")
	})

	t.Run("MIG device handles", func(t *testing.T) {
		srv := mockH200()
		parent, _ := mockMIG(srv)
		parent.GetMigDeviceHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
			if i == 2 {
				return nil, nvml.ERROR_UNKNOWN
			}
			return nil, nvml.ERROR_NOT_FOUND
		}
		lib := newNVMLLibrary("", func(string) nvml.Interface { return srv })
		require.NoError(t, lib.Init())
		defer func() { require.NoError(t, lib.Shutdown()) }()
		d, err := lib.DeviceByIndex(0)
		require.NoError(t, err)
		devs, err := d.MIGDevices()
		assert.Empty(t, devs)
		assert.EqualError(t, err, "nvmlDeviceGetMigDeviceHandleByIndex(2): NVML_ERROR_UNKNOWN")

		parent.GetMigModeFunc = func() (int, int, nvml.Return) { return 0, 0, nvml.ERROR_NOT_SUPPORTED }
		_, err = d.MIGEnabled()
		assert.ErrorIs(t, err, ErrNotSupported, "a GPU without MIG")
		info, err := d.MIGInfo()
		require.NoError(t, err)
		assert.False(t, info.IsMIG)
	})

	t.Run("driver without MIG", func(t *testing.T) {
		srv := mockH200()
		srv.LookupSymbolFunc = func(s string) error {
			if strings.Contains(s, "Mig") || strings.Contains(s, "InstanceId") {
				return errors.New("undefined symbol: " + s)
			}
			return nil
		}
		for _, d := range srv.Devices {
			d.(*server.Device).GetMigModeFunc = nil // would panic if called
		}
		s, logs := newTestScraper(t, nil, "", nil)
		s.newLibrary = mockLibrary(srv)
		require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
		assert.Equal(t, 8, scrapeOnce(t, s).ResourceMetrics().Len())
		require.NoError(t, s.shutdown(context.Background()))
		assert.Empty(t, logs.FilterLevelExact(zapcore.WarnLevel).All())
	})
}
