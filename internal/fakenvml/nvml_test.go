// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux && cgo

package fakenvml

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests call the fake through go-nvml, as the nvml receiver does. go-nvml binds NVML's
// symbols once per process, so each script runs in a child process: this test binary again,
// running TestChild with FAKENVML_TEST_CHILD set.

const (
	childEnv = "FAKENVML_TEST_CHILD" // the scenario TestChild runs: "calls" or "init"
	libEnv   = "FAKENVML_TEST_LIB"   // the library to load
	busyEnv  = "FAKENVML_TEST_BUSY"  // the busy file of GPU 0 in "calls"
	procsEnv = "FAKENVML_TEST_PROCS" // the processes file of GPU 0 in "processes"
)

// runChild runs TestChild in a new process with the scenario, the library and env, and returns
// its output; a failure of the child fails t.
func runChild(t *testing.T, scenario, lib string, env []string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), childEnv+"="+scenario, libEnv+"="+lib), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child process:\n%s", out)
	require.Contains(t, string(out), "--- PASS: TestChild", "the child did not run:\n%s", out)
	return string(out)
}

func callsScript(busy string) Script {
	return Script{
		GPUs: []GPU{{
			UUID: "GPU-12345678-9abc-4def-8123-456789abcdef", Name: "NVIDIA Test GPU",
			MemoryTotal: 80e9, MemoryUsed: 20e9, MemoryReserved: 1e9,
			PowerMW: 100000, BusyPowerMW: 300000,
			UtilGPU: 10, UtilMemory: 5, BusyUtilGPU: 90, BusyUtilMemory: 70,
			EnergyMJ: 5_000_000, TemperatureC: 41, BusyFile: busy,
		}, {}},
		DriverVersion:     "555.42.06",
		CUDADriverVersion: 12050,
	}
}

// TestThroughGoNVML checks every implemented call, as go-nvml makes it, against NVML's contract
// and the script.
func TestThroughGoNVML(t *testing.T) {
	lib := filepath.Join(Build(t), LibraryName)
	busy := filepath.Join(t.TempDir(), "busy0")
	runChild(t, "calls", lib, append(callsScript(busy).Env(), busyEnv+"="+busy))
}

// TestProcesses: nvmlDeviceGetComputeRunningProcesses_v3 lists the processes of a GPU's
// processes file, read at every call, through go-nvml's sizing loop.
func TestProcesses(t *testing.T) {
	lib := filepath.Join(Build(t), LibraryName)
	procs := filepath.Join(t.TempDir(), "procs0")
	out := runChild(t, "processes", lib, append(Script{GPUs: []GPU{{ProcessesFile: procs}, {}}}.Env(), procsEnv+"="+procs))
	assert.Contains(t, out, `fakenvml: `+procs+`:2: not "PID USED_BYTES"`, "a malformed line is reported on stderr")
}

// TestInit: a scripted Init failure, an invalid script (Init fails with NVML_ERROR_UNKNOWN and
// says why on stderr), and no GPU.
func TestInit(t *testing.T) {
	lib := filepath.Join(Build(t), LibraryName)
	for _, tc := range []struct {
		name   string
		env    []string
		result string // what the child prints
		stderr string
	}{
		{"driver not loaded", Script{GPUs: []GPU{{}}, InitReturn: 9}.Env(), "init=9 after=1", ""},
		{"no permission", Script{GPUs: []GPU{{}}, InitReturn: 4}.Env(), "init=4 after=1", ""},
		{"no GPU", Script{}.Env(), "init=0 count=0", ""},
		{"defaults", nil, "init=0 count=1", ""},
		{"bad uuid", Script{GPUs: []GPU{{UUID: "GPU-fake"}}}.Env(), "init=999 after=1",
			"fakenvml: FAKENVML_GPU0_UUID=GPU-fake: not of the form GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"},
		{"bad number", []string{"FAKENVML_POWER_MW=75W"}, "init=999 after=1",
			"fakenvml: FAKENVML_POWER_MW=75W: not a non-negative decimal integer"},
		{"too many GPUs", []string{"FAKENVML_GPU_COUNT=17"}, "init=999 after=1",
			"fakenvml: FAKENVML_GPU_COUNT=17: larger than 16"},
		{"percent", []string{"FAKENVML_GPU0_UTIL_GPU=101"}, "init=999 after=1",
			"fakenvml: FAKENVML_GPU0_UTIL_GPU=101: larger than 100"},
		{"same uuid", Script{GPUs: []GPU{{UUID: "GPU-12345678-9abc-4def-8123-456789abcdef"}, {UUID: "GPU-12345678-9ABC-4DEF-8123-456789ABCDEF"}}}.Env(),
			"init=999 after=1", "fakenvml: GPUs 0 and 1 have the same UUID"},
		{"memory", Script{GPUs: []GPU{{MemoryTotal: 10, MemoryUsed: 8, MemoryReserved: 3}}}.Env(), "init=999 after=1",
			"fakenvml: GPU 0: MEMORY_USED + MEMORY_RESERVED exceed MEMORY_TOTAL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := runChild(t, "init", lib, tc.env)
			assert.Contains(t, out, "RESULT "+tc.result+"\n")
			if tc.stderr != "" {
				assert.Contains(t, out, tc.stderr)
			}
		})
	}
}

// TestChild is the child process of the tests above.
func TestChild(t *testing.T) {
	switch os.Getenv(childEnv) {
	case "":
		t.Skip("runs in a child process of TestThroughGoNVML and TestInit")
	case "init":
		childInit(t)
	case "calls":
		childCalls(t)
	case "processes":
		childProcesses(t)
	default:
		t.Fatalf("unknown scenario %q", os.Getenv(childEnv))
	}
}

func childInit(t *testing.T) {
	lib := nvml.New(nvml.WithLibraryPath(os.Getenv(libEnv)))
	ret := lib.Init()
	n, ret2 := lib.DeviceGetCount()
	if ret == nvml.SUCCESS {
		require.Equal(t, nvml.SUCCESS, ret2)
		fmt.Printf("RESULT init=%d count=%d\n", int32(ret), n)
		require.Equal(t, nvml.SUCCESS, lib.Shutdown())
		return
	}
	// After a failed nvmlInit the library is loaded but NVML is not initialised.
	fmt.Printf("RESULT init=%d after=%d\n", int32(ret), int32(ret2))
}

func childCalls(t *testing.T) {
	script := callsScript(os.Getenv(busyEnv))
	g := script.GPUs[0]
	lib := nvml.New(nvml.WithLibraryPath(os.Getenv(libEnv)))
	initAt := time.Now()
	require.Equal(t, nvml.SUCCESS, lib.Init())

	// Absent functions are absent; present ones present.
	ext := lib.Extensions()
	require.NoError(t, ext.LookupSymbol("nvmlDeviceGetTotalEnergyConsumption"))
	require.Error(t, ext.LookupSymbol("nvmlDeviceGetMaxMigDeviceCount"))
	assert.Equal(t, "Not Supported", nvml.ERROR_NOT_SUPPORTED.Error()) // nvmlErrorString

	v, ret := lib.SystemGetDriverVersion()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, "555.42.06", v)
	cuda, ret := lib.SystemGetCudaDriverVersion_v2()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, 12050, cuda)

	n, ret := lib.DeviceGetCount()
	require.Equal(t, nvml.SUCCESS, ret)
	require.Equal(t, 2, n)
	_, ret = lib.DeviceGetHandleByIndex(2)
	assert.Equal(t, nvml.ERROR_INVALID_ARGUMENT, ret)
	_, ret = lib.DeviceGetHandleByUUID("GPU-00000000-0000-0000-0000-000000000000")
	assert.Equal(t, nvml.ERROR_NOT_FOUND, ret)
	d0, ret := lib.DeviceGetHandleByUUID(g.UUID)
	require.Equal(t, nvml.SUCCESS, ret)
	d1, ret := lib.DeviceGetHandleByIndex(1)
	require.Equal(t, nvml.SUCCESS, ret)

	// Identity.
	for i, want := range []struct{ uuid, name, bus string }{
		{g.UUID, g.Name, "00000000:18:00.0"},
		{"GPU-fa4e0000-0000-4000-8000-000000000001", "NVIDIA Fake H200", "00000000:19:00.0"},
	} {
		d := []nvml.Device{d0, d1}[i]
		uuid, ret := d.GetUUID()
		require.Equal(t, nvml.SUCCESS, ret)
		assert.Equal(t, want.uuid, uuid)
		name, ret := d.GetName()
		require.Equal(t, nvml.SUCCESS, ret)
		assert.Equal(t, want.name, name)
		idx, ret := d.GetIndex()
		require.Equal(t, nvml.SUCCESS, ret)
		assert.Equal(t, i, idx)
		pci, ret := d.GetPciInfo()
		require.Equal(t, nvml.SUCCESS, ret)
		assert.Equal(t, want.bus, cString(pci.BusId[:]))
	}

	// Memory: v2 keeps the reservation apart; v1's used includes it.
	m2, ret := d0.GetMemoryInfo_v2()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, []uint64{80e9, 1e9, 20e9, 59e9}, []uint64{m2.Total, m2.Reserved, m2.Used, m2.Free})
	m1, ret := d0.GetMemoryInfo()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, []uint64{80e9, 21e9, 59e9}, []uint64{m1.Total, m1.Used, m1.Free})
	m2, ret = d1.GetMemoryInfo_v2()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, uint64(150754820096), m2.Total)

	temp, ret := d0.GetTemperature(nvml.TEMPERATURE_GPU)
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, uint32(41), temp)
	_, ret = d0.GetTemperature(nvml.TemperatureSensors(1))
	assert.Equal(t, nvml.ERROR_INVALID_ARGUMENT, ret)

	// Idle: power, utilization, and an energy counter that integrates the power.
	assertState(t, d0, g.PowerMW, g.UtilGPU, g.UtilMemory)
	assertState(t, d1, 75000, 0, 0)
	e1, b1, a1 := energy(t, d0)
	assert.GreaterOrEqual(t, e1, g.EnergyMJ)
	assert.LessOrEqual(t, e1, g.EnergyMJ+mJ(g.PowerMW, a1.Sub(initAt))+1)
	time.Sleep(300 * time.Millisecond)
	e2, b2, a2 := energy(t, d0)
	// e2 - e1 = P (t2 - t1) with t1 in [b1, a1] and t2 in [b2, a2], give or take the 1 mJ of
	// truncation; time.Now's monotonic clock is the fake's CLOCK_MONOTONIC.
	assert.GreaterOrEqual(t, e2-e1+1, mJ(g.PowerMW, b2.Sub(a1)))
	assert.LessOrEqual(t, e2-e1, mJ(g.PowerMW, a2.Sub(b1))+1)

	// Busy from the first call that sees the busy file (at ts in [bs, as]).
	require.NoError(t, os.WriteFile(g.BusyFile, nil, 0o600))
	bs := time.Now()
	p, ret := d0.GetPowerUsage()
	as := time.Now()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, g.BusyPowerMW, p)
	assertState(t, d0, g.BusyPowerMW, g.BusyUtilGPU, g.BusyUtilMemory)
	assertState(t, d1, 75000, 0, 0)
	time.Sleep(300 * time.Millisecond)
	e3, b3, a3 := energy(t, d0)
	// e3 - e2 = P_idle (ts - t2) + P_busy (t3 - ts).
	assert.GreaterOrEqual(t, e3-e2+2, mJ(g.PowerMW, bs.Sub(a2))+mJ(g.BusyPowerMW, b3.Sub(as)))
	assert.LessOrEqual(t, e3-e2, mJ(g.PowerMW, as.Sub(b2))+mJ(g.BusyPowerMW, a3.Sub(bs))+2)
	require.NoError(t, os.Remove(g.BusyFile))
	bi := time.Now() // idle again from the first call after bi, at some time before ai
	assertState(t, d0, g.PowerMW, g.UtilGPU, g.UtilMemory)
	ai := time.Now()

	// The same through the fields.
	fv := []nvml.FieldValue{{FieldId: nvml.FI_DEV_TOTAL_ENERGY_CONSUMPTION}, {FieldId: nvml.FI_DEV_POWER_INSTANT}, {FieldId: nvml.FI_DEV_MEMORY_TEMP}}
	require.Equal(t, nvml.SUCCESS, d0.GetFieldValues(fv))
	require.Equal(t, uint32(nvml.SUCCESS), fv[0].NvmlReturn)
	assert.Equal(t, uint32(nvml.VALUE_TYPE_UNSIGNED_LONG_LONG), fv[0].ValueType)
	assert.GreaterOrEqual(t, binary.NativeEndian.Uint64(fv[0].Value[:]), e3)
	require.Equal(t, uint32(nvml.SUCCESS), fv[1].NvmlReturn)
	assert.Equal(t, uint32(nvml.VALUE_TYPE_UNSIGNED_INT), fv[1].ValueType)
	assert.Equal(t, g.PowerMW, binary.NativeEndian.Uint32(fv[1].Value[:4]))
	assert.Equal(t, uint32(nvml.ERROR_NOT_SUPPORTED), fv[2].NvmlReturn)
	assert.InDelta(t, time.Now().UnixMicro(), fv[0].Timestamp, 1e5)

	// Samples every 200 ms since Init, of the state at their time.
	vt, samples, ret := d0.GetSamples(nvml.GPU_UTILIZATION_SAMPLES, 0)
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, nvml.VALUE_TYPE_UNSIGNED_INT, vt)
	require.GreaterOrEqual(t, len(samples), 3)
	sawBusy := false
	for i, s := range samples {
		ts := int64(s.TimeStamp)
		if i > 0 {
			assert.Equal(t, samples[i-1].TimeStamp+200000, s.TimeStamp)
		}
		u := binary.NativeEndian.Uint32(s.SampleValue[:4])
		const slack = 5000 // µs between the fake's and Go's conversions of CLOCK_MONOTONIC to unix time
		switch {
		case ts < bs.UnixMicro()-slack || ts > ai.UnixMicro()+slack:
			assert.Equal(t, g.UtilGPU, u, "sample %d", i)
		case ts > as.UnixMicro()+slack && ts < bi.UnixMicro()-slack:
			assert.Equal(t, g.BusyUtilGPU, u, "sample %d", i)
			sawBusy = true
		}
	}
	assert.True(t, sawBusy, "no busy sample in %v", samples)
	last := samples[len(samples)-1].TimeStamp
	_, newer, ret := d0.GetSamples(nvml.GPU_UTILIZATION_SAMPLES, last)
	if ret != nvml.ERROR_NOT_FOUND { // unless a sample was taken in between
		require.Equal(t, nvml.SUCCESS, ret)
		assert.Greater(t, newer[0].TimeStamp, last)
	}
	_, power, ret := d0.GetSamples(nvml.TOTAL_POWER_SAMPLES, 0)
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Len(t, power, len(samples))
	_, _, ret = d0.GetSamples(nvml.ENC_UTILIZATION_SAMPLES, 0)
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)

	// Constant answers, and the unsupported queries.
	enc, _, ret := d0.GetEncoderUtilization()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Zero(t, enc)
	ecc, ret := d0.GetTotalEccErrors(nvml.MEMORY_ERROR_TYPE_UNCORRECTED, nvml.VOLATILE_ECC)
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Zero(t, ecc)
	procs, ret := d0.GetComputeRunningProcesses()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Empty(t, procs)
	_, ret = d0.GetProcessUtilization(0)
	assert.Equal(t, nvml.ERROR_NOT_FOUND, ret)
	current, pending, ret := d0.GetMigMode()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, []int{nvml.DEVICE_MIG_DISABLE, nvml.DEVICE_MIG_DISABLE}, []int{current, pending})
	isMIG, ret := d0.IsMigDeviceHandle()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.False(t, isMIG)
	_, ret = d0.GetClockInfo(nvml.CLOCK_SM)
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
	_, ret = d0.GetCurrentClocksEventReasons()
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
	_, ret = d0.GetFanSpeed()
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
	_, ret = d0.GetPerformanceState()
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
	_, ret = d0.GetPcieThroughput(nvml.PCIE_UTIL_TX_BYTES)
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)

	// Events: XIDs can be registered, none ever comes.
	set, ret := lib.EventSetCreate()
	require.Equal(t, nvml.SUCCESS, ret)
	types, ret := d0.GetSupportedEventTypes()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, uint64(nvml.EventTypeXidCriticalError), types)
	assert.Equal(t, nvml.SUCCESS, d0.RegisterEvents(nvml.EventTypeXidCriticalError, set))
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, d0.RegisterEvents(nvml.EventTypePState, set))
	start := time.Now()
	_, ret = set.Wait(50)
	assert.Equal(t, nvml.ERROR_TIMEOUT, ret)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	assert.Equal(t, nvml.SUCCESS, set.Free())

	// Init and Shutdown count references.
	require.Equal(t, nvml.SUCCESS, lib.Init())
	require.Equal(t, nvml.SUCCESS, lib.Shutdown())
	_, ret = lib.DeviceGetCount()
	assert.Equal(t, nvml.SUCCESS, ret)
	require.Equal(t, nvml.SUCCESS, lib.Shutdown())
}

// assertState checks the power and utilization d reports.
func assertState(t *testing.T, d nvml.Device, powerMW, gpu, memory uint32) {
	t.Helper()
	p, ret := d.GetPowerUsage()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, powerMW, p)
	u, ret := d.GetUtilizationRates()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, nvml.Utilization{Gpu: gpu, Memory: memory}, u)
}

// energy reads d's energy counter, with the times just before and after.
func energy(t *testing.T, d nvml.Device) (mj uint64, before, after time.Time) {
	t.Helper()
	before = time.Now()
	mj, ret := d.GetTotalEnergyConsumption()
	after = time.Now()
	require.Equal(t, nvml.SUCCESS, ret)
	return mj, before, after
}

// mJ is the energy of powerMW during d, truncated.
func mJ(powerMW uint32, d time.Duration) uint64 {
	if d < 0 {
		return 0
	}
	return uint64(float64(powerMW) * d.Seconds())
}

func cString(b []int8) string {
	s := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

func childProcesses(t *testing.T) {
	path := os.Getenv(procsEnv)
	lib := nvml.New(nvml.WithLibraryPath(os.Getenv(libEnv)))
	require.Equal(t, nvml.SUCCESS, lib.Init())
	defer func() { require.Equal(t, nvml.SUCCESS, lib.Shutdown()) }()
	d0, ret := lib.DeviceGetHandleByIndex(0)
	require.Equal(t, nvml.SUCCESS, ret)
	d1, ret := lib.DeviceGetHandleByIndex(1)
	require.Equal(t, nvml.SUCCESS, ret)
	procs := func(d nvml.Device) []nvml.ProcessInfo {
		t.Helper()
		p, ret := d.GetComputeRunningProcesses()
		require.Equal(t, nvml.SUCCESS, ret)
		return p
	}

	assert.Empty(t, procs(d0), "no file yet: no process")
	// Three processes: more than go-nvml's first guess (1), so the call answers
	// NVML_ERROR_INSUFFICIENT_SIZE with the count first.
	require.NoError(t, WriteProcesses(path, Process{PID: 4101, UsedMemory: 3 << 30}, Process{PID: 4200, UsedMemory: 5 << 30}, Process{PID: 777, UsedMemory: 0}))
	const noInstance = 0xFFFFFFFF
	assert.Equal(t, []nvml.ProcessInfo{
		{Pid: 4101, UsedGpuMemory: 3 << 30, GpuInstanceId: noInstance, ComputeInstanceId: noInstance},
		{Pid: 4200, UsedGpuMemory: 5 << 30, GpuInstanceId: noInstance, ComputeInstanceId: noInstance},
		{Pid: 777, UsedGpuMemory: 0, GpuInstanceId: noInstance, ComputeInstanceId: noInstance},
	}, procs(d0))
	assert.Empty(t, procs(d1), "GPU 1 has no processes file")
	require.NoError(t, WriteProcesses(path, Process{PID: 4300, UsedMemory: 1}))
	assert.Equal(t, []nvml.ProcessInfo{{Pid: 4300, UsedGpuMemory: 1, GpuInstanceId: noInstance, ComputeInstanceId: noInstance}}, procs(d0), "read at every call")
	require.NoError(t, os.WriteFile(path, []byte("# pid bytes\n\n  4400\t2 \r\n"), 0o600))
	assert.Equal(t, []nvml.ProcessInfo{{Pid: 4400, UsedGpuMemory: 2, GpuInstanceId: noInstance, ComputeInstanceId: noInstance}}, procs(d0), "comments, blanks, tabs")
	require.NoError(t, os.WriteFile(path, []byte("4400 2\n4401\n"), 0o600))
	_, ret = d0.GetComputeRunningProcesses()
	assert.Equal(t, nvml.ERROR_UNKNOWN, ret, "a malformed file")
	require.NoError(t, os.Remove(path))
	assert.Empty(t, procs(d0), "file removed: no process")
}
