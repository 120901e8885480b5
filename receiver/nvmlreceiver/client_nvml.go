// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux && cgo

package nvmlreceiver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// This file is the only one that imports go-nvml. Three of its traps can end the process in a
// way recover() cannot catch (see the README's "Packaging" section):
//   - calling any NVML function after a failed Init: the symbol is not there, and the dynamic
//     linker aborts the process ("symbol lookup error", exit 127). Nothing is called after a
//     failed Init here; the scraper never uses a library whose Init failed.
//   - calling a function that the installed libnvidia-ml lacks (an older driver): same abort.
//     Every call but the basic ones is guarded by a symbol lookup made once after Init, and
//     returns ErrFunctionNotFound instead.
//   - linking with -z now or running with LD_BIND_NOW=1: the process dies at start on a host
//     without NVML. go-nvml leaves NVML's symbols undefined and binds them lazily once Init
//     dlopen()ed the library; lazy_test.go checks a binary for the flag.

// defaultLibraryPaths are tried in order when `library_path` is empty. "" is the loader's own
// search for libnvidia-ml.so.1 (LD_LIBRARY_PATH, /etc/ld.so.cache, ...); the others are where
// drivers are installed when that search does not find them, or where containers mount them.
var defaultLibraryPaths = []string{
	"",
	"/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",
	"/usr/lib64/libnvidia-ml.so.1",
	"/usr/lib/aarch64-linux-gnu/libnvidia-ml.so.1",
	"/usr/local/nvidia/lib64/libnvidia-ml.so.1",                     // GPU operator / device plugin mount
	"/run/nvidia/driver/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1", // GPU operator's driver container
}

const defaultLibraryName = "libnvidia-ml.so.1"

// newLibrary returns NVML, to be loaded from path ("" for the default search) by Init.
func newLibrary(path string) gpuLibrary {
	return newNVMLLibrary(path, func(p string) nvml.Interface {
		if p == "" {
			return nvml.New()
		}
		return nvml.New(nvml.WithLibraryPath(p))
	})
}

// newNVMLLibrary is newLibrary with the go-nvml constructor as a parameter, so that tests can
// hand in go-nvml's mock.
func newNVMLLibrary(path string, open func(path string) nvml.Interface) *nvmlLibrary {
	l := &nvmlLibrary{open: open, candidates: defaultLibraryPaths}
	if path != "" {
		l.candidates = []string{path}
		l.configured = true
	}
	return l
}

type nvmlLibrary struct {
	open       func(path string) nvml.Interface
	candidates []string
	configured bool

	// Set by a successful Init.
	lib     nvml.Interface
	path    string
	symbols map[string]bool
}

// symbols looked up once after Init. A method lists the names (newest first) it can use.
var guardedSymbols = []string{
	"nvmlShutdown",
	"nvmlSystemGetDriverVersion",
	"nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion",
	"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount",
	"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex",
	"nvmlDeviceGetHandleByUUID",
	"nvmlDeviceGetUUID",
	"nvmlDeviceGetName",
	"nvmlDeviceGetIndex",
	"nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo",
	"nvmlDeviceGetSamples",
	"nvmlDeviceGetUtilizationRates",
	"nvmlDeviceGetEncoderUtilization",
	"nvmlDeviceGetDecoderUtilization",
	"nvmlDeviceGetMemoryInfo_v2", "nvmlDeviceGetMemoryInfo",
	"nvmlDeviceGetTemperature",
	"nvmlDeviceGetFieldValues",
	"nvmlDeviceGetPowerUsage",
	"nvmlDeviceGetTotalEnergyConsumption",
	"nvmlDeviceGetClockInfo",
	"nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons",
	"nvmlDeviceGetFanSpeed",
	"nvmlDeviceGetPerformanceState",
	"nvmlDeviceGetPcieThroughput",
	"nvmlDeviceGetTotalEccErrors",
	"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2", "nvmlDeviceGetComputeRunningProcesses",
	"nvmlDeviceGetProcessUtilization",
	"nvmlDeviceGetMigMode",
	"nvmlDeviceGetMaxMigDeviceCount",
	"nvmlDeviceGetMigDeviceHandleByIndex",
	"nvmlDeviceGetDeviceHandleFromMigDeviceHandle",
	"nvmlDeviceIsMigDeviceHandle",
	"nvmlDeviceGetGpuInstanceId",
	"nvmlDeviceGetComputeInstanceId",
	"nvmlEventSetCreate",
	"nvmlDeviceGetSupportedEventTypes",
	"nvmlDeviceRegisterEvents",
	"nvmlEventSetWait_v2", "nvmlEventSetWait",
	"nvmlEventSetFree",
}

// criticalSymbols must all be present (one name of each group) for the library to be used.
var criticalSymbols = [][]string{
	{"nvmlShutdown"},
	{"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"},
	{"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"},
	{"nvmlDeviceGetUUID"},
}

func (l *nvmlLibrary) Init() error {
	var tried []string
	for _, p := range l.candidates {
		name := p
		if name == "" {
			name = defaultLibraryName
		}
		if !l.configured && filepath.IsAbs(p) {
			if _, err := os.Stat(p); err != nil {
				continue // not installed there; spare the dlopen
			}
		}
		lib := l.open(p)
		ret := lib.Init()
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND {
			tried = append(tried, name)
			continue
		}
		// ERROR_ALREADY_INITIALIZED is not returned by nvmlInit_v2 (it counts references),
		// but would mean a usable library.
		if ret != nvml.SUCCESS && ret != nvml.ERROR_ALREADY_INITIALIZED {
			// The library is loaded but NVML did not initialise: nothing more may be called.
			return nvmlError("nvmlInit ("+name+")", ret)
		}
		l.lib, l.path = lib, name
		l.lookupSymbols()
		for _, group := range criticalSymbols {
			if !l.has(group...) {
				_ = l.lib.Shutdown()
				l.lib = nil
				return fmt.Errorf("%s lacks %s: %w", name, group[0], ErrFunctionNotFound)
			}
		}
		return nil
	}
	return fmt.Errorf("loading %s: %w", strings.Join(tried, ", "), ErrLibraryNotFound)
}

func (l *nvmlLibrary) lookupSymbols() {
	l.symbols = make(map[string]bool, len(guardedSymbols))
	ext := l.lib.Extensions()
	for _, s := range guardedSymbols {
		l.symbols[s] = ext.LookupSymbol(s) == nil
	}
}

// has reports whether the library has one of names.
func (l *nvmlLibrary) has(names ...string) bool {
	for _, n := range names {
		if l.symbols[n] {
			return true
		}
	}
	return false
}

// missing is the error of a call whose symbol the library lacks.
func (l *nvmlLibrary) missing(name string) error {
	return fmt.Errorf("%s: %w (%s)", name, ErrFunctionNotFound, l.path)
}

func (l *nvmlLibrary) Shutdown() error {
	if l.lib == nil {
		return nil
	}
	ret := l.lib.Shutdown()
	l.lib = nil
	return nvmlError("nvmlShutdown", ret)
}

func (l *nvmlLibrary) DriverVersion() (string, error) {
	if !l.has("nvmlSystemGetDriverVersion") {
		return "", l.missing("nvmlSystemGetDriverVersion")
	}
	v, ret := l.lib.SystemGetDriverVersion()
	return v, nvmlError("nvmlSystemGetDriverVersion", ret)
}

func (l *nvmlLibrary) CUDADriverVersion() (int, error) {
	switch {
	case l.has("nvmlSystemGetCudaDriverVersion_v2"):
		v, ret := l.lib.SystemGetCudaDriverVersion_v2()
		return v, nvmlError("nvmlSystemGetCudaDriverVersion_v2", ret)
	case l.has("nvmlSystemGetCudaDriverVersion"):
		v, ret := l.lib.SystemGetCudaDriverVersion()
		return v, nvmlError("nvmlSystemGetCudaDriverVersion", ret)
	}
	return 0, l.missing("nvmlSystemGetCudaDriverVersion")
}

func (l *nvmlLibrary) DeviceCount() (int, error) {
	n, ret := l.lib.DeviceGetCount()
	return n, nvmlError("nvmlDeviceGetCount", ret)
}

func (l *nvmlLibrary) DeviceByIndex(index int) (device, error) {
	d, ret := l.lib.DeviceGetHandleByIndex(index)
	if ret != nvml.SUCCESS {
		return nil, nvmlError(fmt.Sprintf("nvmlDeviceGetHandleByIndex(%d)", index), ret)
	}
	return &nvmlGPU{lib: l, d: d, kind: kindGPU}, nil
}

func (l *nvmlLibrary) DeviceByUUID(uuid string) (device, error) {
	if !l.has("nvmlDeviceGetHandleByUUID") {
		return nil, l.missing("nvmlDeviceGetHandleByUUID")
	}
	d, ret := l.lib.DeviceGetHandleByUUID(uuid)
	if ret != nvml.SUCCESS {
		return nil, nvmlError(fmt.Sprintf("nvmlDeviceGetHandleByUUID(%s)", uuid), ret)
	}
	return &nvmlGPU{lib: l, d: d}, nil
}

// nvmlGPU is one device handle: a GPU or a MIG device.
type nvmlGPU struct {
	lib *nvmlLibrary
	d   nvml.Device
	// kind is what the handle is, when its origin tells: nvmlDeviceGetHandleByIndex returns
	// GPUs only, nvmlDeviceGetMigDeviceHandleByIndex MIG devices only. For a handle found by UUID,
	// MIGInfo asks NVML.
	kind handleKind
	// parent is a MIG device's GPU, once known.
	parent *nvmlGPU
}

type handleKind int

const (
	kindUnknown handleKind = iota
	kindGPU
	kindMIG
)

func (g *nvmlGPU) UUID() (string, error) {
	v, ret := g.d.GetUUID()
	return v, nvmlError("nvmlDeviceGetUUID", ret)
}

func (g *nvmlGPU) Name() (string, error) {
	if !g.lib.has("nvmlDeviceGetName") {
		return "", g.lib.missing("nvmlDeviceGetName")
	}
	v, ret := g.d.GetName()
	return v, nvmlError("nvmlDeviceGetName", ret)
}

func (g *nvmlGPU) Index() (int, error) {
	if !g.lib.has("nvmlDeviceGetIndex") {
		return 0, g.lib.missing("nvmlDeviceGetIndex")
	}
	v, ret := g.d.GetIndex()
	return v, nvmlError("nvmlDeviceGetIndex", ret)
}

func (g *nvmlGPU) PCIBusID() (string, error) {
	if !g.lib.has("nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo") {
		return "", g.lib.missing("nvmlDeviceGetPciInfo")
	}
	p, ret := g.d.GetPciInfo()
	if ret != nvml.SUCCESS {
		return "", nvmlError("nvmlDeviceGetPciInfo", ret)
	}
	return cString(p.BusId[:]), nil
}

func (g *nvmlGPU) UtilizationSamples(since uint64) ([]utilizationSample, error) {
	if !g.lib.has("nvmlDeviceGetSamples") {
		return nil, g.lib.missing("nvmlDeviceGetSamples")
	}
	vt, samples, ret := g.d.GetSamples(nvml.GPU_UTILIZATION_SAMPLES, since)
	if ret != nvml.SUCCESS {
		return nil, nvmlError("nvmlDeviceGetSamples", ret)
	}
	out := make([]utilizationSample, 0, len(samples))
	for _, s := range samples {
		v, ok := decodeValue(vt, s.SampleValue)
		if !ok {
			return nil, fmt.Errorf("nvmlDeviceGetSamples: unknown value type %d", vt)
		}
		out = append(out, utilizationSample{Timestamp: s.TimeStamp, Percent: v})
	}
	return out, nil
}

func (g *nvmlGPU) UtilizationRates() (gpu, memory uint32, err error) {
	if !g.lib.has("nvmlDeviceGetUtilizationRates") {
		return 0, 0, g.lib.missing("nvmlDeviceGetUtilizationRates")
	}
	u, ret := g.d.GetUtilizationRates()
	return u.Gpu, u.Memory, nvmlError("nvmlDeviceGetUtilizationRates", ret)
}

func (g *nvmlGPU) EncoderUtilization() (uint32, error) {
	if !g.lib.has("nvmlDeviceGetEncoderUtilization") {
		return 0, g.lib.missing("nvmlDeviceGetEncoderUtilization")
	}
	v, _, ret := g.d.GetEncoderUtilization()
	return v, nvmlError("nvmlDeviceGetEncoderUtilization", ret)
}

func (g *nvmlGPU) DecoderUtilization() (uint32, error) {
	if !g.lib.has("nvmlDeviceGetDecoderUtilization") {
		return 0, g.lib.missing("nvmlDeviceGetDecoderUtilization")
	}
	v, _, ret := g.d.GetDecoderUtilization()
	return v, nvmlError("nvmlDeviceGetDecoderUtilization", ret)
}

// Memory prefers nvmlDeviceGetMemoryInfo_v2, whose `used` excludes the driver's reservation as
// nvidia-smi's memory.used does (the v1 call's `used` includes it: on an H200, 3644 MiB where
// nvidia-smi says 3029).
func (g *nvmlGPU) Memory() (memoryInfo, error) {
	if g.lib.has("nvmlDeviceGetMemoryInfo_v2") {
		m, ret := g.d.GetMemoryInfo_v2()
		switch ret {
		case nvml.SUCCESS:
			return memoryInfo{Total: m.Total, Reserved: m.Reserved, Used: m.Used, Free: m.Free}, nil
		case nvml.ERROR_ARGUMENT_VERSION_MISMATCH, nvml.ERROR_FUNCTION_NOT_FOUND:
			// fall back to v1
		default:
			return memoryInfo{}, nvmlError("nvmlDeviceGetMemoryInfo_v2", ret)
		}
	}
	if !g.lib.has("nvmlDeviceGetMemoryInfo") {
		return memoryInfo{}, g.lib.missing("nvmlDeviceGetMemoryInfo")
	}
	m, ret := g.d.GetMemoryInfo()
	return memoryInfo{Total: m.Total, Used: m.Used, Free: m.Free}, nvmlError("nvmlDeviceGetMemoryInfo", ret)
}

func (g *nvmlGPU) Temperature() (uint32, error) {
	// nvmlDeviceGetTemperature is deprecated in NVML 13 in favour of nvmlDeviceGetTemperatureV
	// but present in every driver so far (580 included); go-nvml's GetTemperatureV cannot be
	// used with its mock, so the older call is kept.
	if !g.lib.has("nvmlDeviceGetTemperature") {
		return 0, g.lib.missing("nvmlDeviceGetTemperature")
	}
	v, ret := g.d.GetTemperature(nvml.TEMPERATURE_GPU)
	return v, nvmlError("nvmlDeviceGetTemperature", ret)
}

func (g *nvmlGPU) MemoryTemperature() (uint32, error) {
	vals, err := g.fieldValues(nvml.FI_DEV_MEMORY_TEMP)
	if err != nil {
		return 0, err
	}
	return uint32(vals[0]), nil
}

func (g *nvmlGPU) PowerUsage() (uint32, error) {
	if !g.lib.has("nvmlDeviceGetPowerUsage") {
		return 0, g.lib.missing("nvmlDeviceGetPowerUsage")
	}
	v, ret := g.d.GetPowerUsage()
	return v, nvmlError("nvmlDeviceGetPowerUsage", ret)
}

func (g *nvmlGPU) TotalEnergy() (uint64, error) {
	if !g.lib.has("nvmlDeviceGetTotalEnergyConsumption") {
		return 0, g.lib.missing("nvmlDeviceGetTotalEnergyConsumption")
	}
	v, ret := g.d.GetTotalEnergyConsumption()
	return v, nvmlError("nvmlDeviceGetTotalEnergyConsumption", ret)
}

func (g *nvmlGPU) ClockMHz(clock clockDomain) (uint32, error) {
	if !g.lib.has("nvmlDeviceGetClockInfo") {
		return 0, g.lib.missing("nvmlDeviceGetClockInfo")
	}
	t := nvml.CLOCK_SM
	if clock == clockMemory {
		t = nvml.CLOCK_MEM
	}
	v, ret := g.d.GetClockInfo(t)
	return v, nvmlError("nvmlDeviceGetClockInfo", ret)
}

func (g *nvmlGPU) ClockEventReasons() (uint64, error) {
	switch {
	case g.lib.has("nvmlDeviceGetCurrentClocksEventReasons"):
		v, ret := g.d.GetCurrentClocksEventReasons()
		return v, nvmlError("nvmlDeviceGetCurrentClocksEventReasons", ret)
	case g.lib.has("nvmlDeviceGetCurrentClocksThrottleReasons"): // drivers before 535
		v, ret := g.d.GetCurrentClocksThrottleReasons()
		return v, nvmlError("nvmlDeviceGetCurrentClocksThrottleReasons", ret)
	}
	return 0, g.lib.missing("nvmlDeviceGetCurrentClocksEventReasons")
}

func (g *nvmlGPU) FanSpeed() (uint32, error) {
	if !g.lib.has("nvmlDeviceGetFanSpeed") {
		return 0, g.lib.missing("nvmlDeviceGetFanSpeed")
	}
	v, ret := g.d.GetFanSpeed()
	return v, nvmlError("nvmlDeviceGetFanSpeed", ret)
}

func (g *nvmlGPU) PerformanceState() (int, error) {
	if !g.lib.has("nvmlDeviceGetPerformanceState") {
		return 0, g.lib.missing("nvmlDeviceGetPerformanceState")
	}
	p, ret := g.d.GetPerformanceState()
	if ret != nvml.SUCCESS {
		return 0, nvmlError("nvmlDeviceGetPerformanceState", ret)
	}
	if p > nvml.PSTATE_15 { // NVML_PSTATE_UNKNOWN
		return 0, fmt.Errorf("nvmlDeviceGetPerformanceState: %w (unknown P-state)", ErrNotFound)
	}
	return int(p), nil
}

func (g *nvmlGPU) PCIeCounters() (tx, rx uint64, err error) {
	vals, err := g.fieldValues(nvml.FI_DEV_PCIE_COUNT_TX_BYTES, nvml.FI_DEV_PCIE_COUNT_RX_BYTES)
	if err != nil {
		return 0, 0, err
	}
	return uint64(vals[0]), uint64(vals[1]), nil
}

func (g *nvmlGPU) PCIeThroughput() (tx, rx uint32, err error) {
	if !g.lib.has("nvmlDeviceGetPcieThroughput") {
		return 0, 0, g.lib.missing("nvmlDeviceGetPcieThroughput")
	}
	tx, ret := g.d.GetPcieThroughput(nvml.PCIE_UTIL_TX_BYTES)
	if ret != nvml.SUCCESS {
		return 0, 0, nvmlError("nvmlDeviceGetPcieThroughput", ret)
	}
	rx, ret = g.d.GetPcieThroughput(nvml.PCIE_UTIL_RX_BYTES)
	return tx, rx, nvmlError("nvmlDeviceGetPcieThroughput", ret)
}

func (g *nvmlGPU) ECCErrors(corrected bool) (uint64, error) {
	if !g.lib.has("nvmlDeviceGetTotalEccErrors") {
		return 0, g.lib.missing("nvmlDeviceGetTotalEccErrors")
	}
	t := nvml.MEMORY_ERROR_TYPE_UNCORRECTED
	if corrected {
		t = nvml.MEMORY_ERROR_TYPE_CORRECTED
	}
	v, ret := g.d.GetTotalEccErrors(t, nvml.VOLATILE_ECC)
	return v, nvmlError("nvmlDeviceGetTotalEccErrors", ret)
}

func (g *nvmlGPU) ComputeProcesses() ([]processInfo, error) {
	if !g.lib.has("nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2", "nvmlDeviceGetComputeRunningProcesses") {
		return nil, g.lib.missing("nvmlDeviceGetComputeRunningProcesses")
	}
	ps, ret := g.d.GetComputeRunningProcesses()
	if ret != nvml.SUCCESS {
		return nil, nvmlError("nvmlDeviceGetComputeRunningProcesses", ret)
	}
	out := make([]processInfo, 0, len(ps))
	for _, p := range ps {
		out = append(out, processInfo{
			PID:        p.Pid,
			UsedMemory: p.UsedGpuMemory,
			MemoryOK:   p.UsedGpuMemory != math.MaxUint64, // NVML_VALUE_NOT_AVAILABLE
		})
	}
	return out, nil
}

// ProcessUtilization reads nvmlDeviceGetProcessUtilization. go-nvml makes two calls, one that
// counts the samples and one that reads them; a process that gets its first sample between the
// two makes the second return NVML_ERROR_INSUFFICIENT_SIZE, so the pair is tried twice.
func (g *nvmlGPU) ProcessUtilization(since uint64) ([]processUtilizationSample, error) {
	if !g.lib.has("nvmlDeviceGetProcessUtilization") {
		return nil, g.lib.missing("nvmlDeviceGetProcessUtilization")
	}
	var (
		raw []nvml.ProcessUtilizationSample
		ret nvml.Return
	)
	for range 2 {
		raw, ret = g.d.GetProcessUtilization(since)
		if ret != nvml.ERROR_INSUFFICIENT_SIZE || len(raw) == 0 {
			break
		}
	}
	switch {
	case ret == nvml.SUCCESS && len(raw) > 0:
	case ret == nvml.SUCCESS, ret == nvml.ERROR_INSUFFICIENT_SIZE && len(raw) == 0:
		// The counting call found nothing to read (go-nvml returns its code as is).
		return nil, fmt.Errorf("nvmlDeviceGetProcessUtilization: %w", ErrNotFound)
	default:
		return nil, nvmlError("nvmlDeviceGetProcessUtilization", ret)
	}
	out := make([]processUtilizationSample, 0, len(raw))
	for _, r := range raw {
		if r.Pid == 0 { // no process: an entry the driver did not fill
			continue
		}
		out = append(out, processUtilizationSample{
			PID: r.Pid, Timestamp: r.TimeStamp,
			SM: r.SmUtil, Memory: r.MemUtil, Encoder: r.EncUtil, Decoder: r.DecUtil,
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("nvmlDeviceGetProcessUtilization: %w", ErrNotFound)
	}
	return out, nil
}

func (g *nvmlGPU) MIGEnabled() (bool, error) {
	if g.kind == kindMIG {
		return false, nil // a MIG device is not split further
	}
	if !g.lib.has("nvmlDeviceGetMigMode") {
		return false, g.lib.missing("nvmlDeviceGetMigMode")
	}
	current, _, ret := g.d.GetMigMode()
	if ret != nvml.SUCCESS {
		return false, nvmlError("nvmlDeviceGetMigMode", ret)
	}
	return current == nvml.DEVICE_MIG_ENABLE, nil
}

// MIGDevices enumerates the MIG devices of a MIG-enabled GPU: nvmlDeviceGetMaxMigDeviceCount
// bounds the indexes, and nvmlDeviceGetMigDeviceHandleByIndex returns NVML_ERROR_NOT_FOUND for
// an index without a MIG device (fewer compute instances than the maximum).
func (g *nvmlGPU) MIGDevices() ([]device, error) {
	on, err := g.MIGEnabled()
	if err != nil || !on {
		return nil, err
	}
	for _, s := range []string{"nvmlDeviceGetMaxMigDeviceCount", "nvmlDeviceGetMigDeviceHandleByIndex"} {
		if !g.lib.has(s) {
			return nil, g.lib.missing(s)
		}
	}
	n, ret := g.d.GetMaxMigDeviceCount()
	if ret != nvml.SUCCESS {
		return nil, nvmlError("nvmlDeviceGetMaxMigDeviceCount", ret)
	}
	var devs []device
	var errs []error
	for i := range n {
		h, ret := g.d.GetMigDeviceHandleByIndex(i)
		switch ret {
		case nvml.SUCCESS:
			devs = append(devs, &nvmlGPU{lib: g.lib, d: h, kind: kindMIG, parent: g})
		case nvml.ERROR_NOT_FOUND:
		default:
			errs = append(errs, nvmlError(fmt.Sprintf("nvmlDeviceGetMigDeviceHandleByIndex(%d)", i), ret))
		}
	}
	return devs, errors.Join(errs...)
}

// MIGInfo asks nvmlDeviceIsMigDeviceHandle only for a handle found by UUID; a library without
// the function predates MIG, and NVML_ERROR_NOT_SUPPORTED means a GPU without MIG.
func (g *nvmlGPU) MIGInfo() (migInfo, error) {
	info := migInfo{Index: -1, GPUInstanceID: -1, ComputeInstanceID: -1}
	if g.kind == kindUnknown && g.lib.has("nvmlDeviceIsMigDeviceHandle") {
		isMIG, ret := g.d.IsMigDeviceHandle()
		switch {
		case ret == nvml.SUCCESS && isMIG:
			g.kind = kindMIG
		case ret == nvml.SUCCESS, ret == nvml.ERROR_NOT_SUPPORTED:
			g.kind = kindGPU
		default:
			return info, nvmlError("nvmlDeviceIsMigDeviceHandle", ret)
		}
	}
	if g.kind != kindMIG {
		return info, nil
	}
	info.IsMIG = true
	var errs []error
	if g.parent == nil {
		if !g.lib.has("nvmlDeviceGetDeviceHandleFromMigDeviceHandle") {
			errs = append(errs, g.lib.missing("nvmlDeviceGetDeviceHandleFromMigDeviceHandle"))
		} else if p, ret := g.d.GetDeviceHandleFromMigDeviceHandle(); ret == nvml.SUCCESS {
			g.parent = &nvmlGPU{lib: g.lib, d: p, kind: kindGPU}
		} else {
			errs = append(errs, nvmlError("nvmlDeviceGetDeviceHandleFromMigDeviceHandle", ret))
		}
	}
	if g.parent != nil {
		info.Parent = g.parent
	}
	if i, err := g.Index(); err == nil {
		info.Index = i
	} else {
		errs = append(errs, err)
	}
	ids := []struct {
		name string
		get  func() (int, nvml.Return)
		to   *int
	}{
		{"nvmlDeviceGetGpuInstanceId", g.d.GetGpuInstanceId, &info.GPUInstanceID},
		{"nvmlDeviceGetComputeInstanceId", g.d.GetComputeInstanceId, &info.ComputeInstanceID},
	}
	for _, id := range ids {
		if !g.lib.has(id.name) {
			errs = append(errs, g.lib.missing(id.name))
			continue
		}
		v, ret := id.get()
		if ret != nvml.SUCCESS {
			errs = append(errs, nvmlError(id.name, ret))
			continue
		}
		*id.to = v
	}
	return info, errors.Join(errs...)
}

// fieldValues reads NVML fields (nvmlDeviceGetFieldValues) as numbers.
func (g *nvmlGPU) fieldValues(ids ...uint32) ([]float64, error) {
	if !g.lib.has("nvmlDeviceGetFieldValues") {
		return nil, g.lib.missing("nvmlDeviceGetFieldValues")
	}
	fv := make([]nvml.FieldValue, len(ids))
	for i, id := range ids {
		fv[i].FieldId = id
	}
	if ret := g.d.GetFieldValues(fv); ret != nvml.SUCCESS {
		return nil, nvmlError("nvmlDeviceGetFieldValues", ret)
	}
	out := make([]float64, len(ids))
	for i, f := range fv {
		op := fmt.Sprintf("nvmlDeviceGetFieldValues(%d)", ids[i])
		if ret := nvml.Return(f.NvmlReturn); ret != nvml.SUCCESS {
			return nil, nvmlError(op, ret)
		}
		v, ok := decodeValue(nvml.ValueType(f.ValueType), f.Value)
		if !ok {
			return nil, fmt.Errorf("%s: unknown value type %d", op, f.ValueType)
		}
		out[i] = v
	}
	return out, nil
}

// WatchXIDs registers the devices that support it for NVML_EVENT_TYPE_XID_CRITICAL_ERROR
// (nvmlDeviceRegisterEvents) on one event set.
func (l *nvmlLibrary) WatchXIDs(devs []device) (xidSource, error) {
	for _, s := range [][]string{{"nvmlEventSetCreate"}, {"nvmlDeviceRegisterEvents"}, {"nvmlEventSetWait_v2", "nvmlEventSetWait"}, {"nvmlEventSetFree"}} {
		if !l.has(s...) {
			return nil, l.missing(s[0])
		}
	}
	set, ret := l.lib.EventSetCreate()
	if ret != nvml.SUCCESS {
		return nil, nvmlError("nvmlEventSetCreate", ret)
	}
	x := &nvmlXIDs{set: set}
	var errs []error
	for _, dev := range devs {
		g, ok := dev.(*nvmlGPU)
		if !ok || g.kind == kindMIG { // NVML has no per-instance events on MIG device handles
			continue
		}
		if l.has("nvmlDeviceGetSupportedEventTypes") {
			types, ret := g.d.GetSupportedEventTypes()
			if ret == nvml.SUCCESS && types&nvml.EventTypeXidCriticalError == 0 {
				continue
			}
		}
		// NOT_SUPPORTED here still leaves the set usable for the other devices.
		if ret := g.d.RegisterEvents(nvml.EventTypeXidCriticalError, set); ret != nvml.SUCCESS {
			errs = append(errs, nvmlError("nvmlDeviceRegisterEvents", ret))
			continue
		}
		x.devs = append(x.devs, g)
	}
	if len(x.devs) == 0 {
		_ = set.Free()
		return nil, fmt.Errorf("xid events: %w", errors.Join(append([]error{ErrNotSupported}, errs...)...))
	}
	return x, nil
}

type nvmlXIDs struct {
	set  nvml.EventSet
	devs []*nvmlGPU
}

// Poll waits 0 ms (nvmlEventSetWait returns NVML_ERROR_TIMEOUT at once when no event is queued).
func (x *nvmlXIDs) Poll(maxEvents int) ([]xidEvent, error) {
	var out []xidEvent
	for len(out) < maxEvents {
		data, ret := x.set.Wait(0)
		if ret == nvml.ERROR_TIMEOUT {
			return out, nil
		}
		if ret != nvml.SUCCESS {
			return out, nvmlError("nvmlEventSetWait", ret)
		}
		if data.EventType&nvml.EventTypeXidCriticalError == 0 {
			continue
		}
		out = append(out, xidEvent{DeviceUUID: x.uuidOf(data.Device), XID: data.EventData})
	}
	return out, nil
}

func (x *nvmlXIDs) uuidOf(d nvml.Device) string {
	if d == nil {
		return ""
	}
	for _, g := range x.devs {
		if g.d == d {
			u, _ := g.UUID()
			return u
		}
	}
	u, ret := d.GetUUID()
	if ret != nvml.SUCCESS {
		return ""
	}
	return u
}

func (x *nvmlXIDs) Close() error {
	return nvmlError("nvmlEventSetFree", x.set.Free())
}

// decodeValue reads an nvmlValue_t union as its type says.
func decodeValue(t nvml.ValueType, b [8]byte) (float64, bool) {
	switch t {
	case nvml.VALUE_TYPE_DOUBLE:
		return math.Float64frombits(binary.NativeEndian.Uint64(b[:])), true
	case nvml.VALUE_TYPE_UNSIGNED_INT:
		return float64(binary.NativeEndian.Uint32(b[:4])), true
	case nvml.VALUE_TYPE_UNSIGNED_LONG, nvml.VALUE_TYPE_UNSIGNED_LONG_LONG:
		return float64(binary.NativeEndian.Uint64(b[:])), true
	case nvml.VALUE_TYPE_SIGNED_LONG_LONG:
		return float64(int64(binary.NativeEndian.Uint64(b[:]))), true
	case nvml.VALUE_TYPE_SIGNED_INT:
		return float64(int32(binary.NativeEndian.Uint32(b[:4]))), true
	case nvml.VALUE_TYPE_UNSIGNED_SHORT:
		return float64(binary.NativeEndian.Uint16(b[:2])), true
	}
	return 0, false
}

// cString is a NUL-terminated C char array as a Go string.
func cString[T int8 | uint8](b []T) string {
	s := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// nvmlError turns an NVML return code into an error naming the call (nil for SUCCESS). It
// does not call nvmlErrorString: the names come from nvml.h.
func nvmlError(op string, ret nvml.Return) error {
	var err error
	switch ret {
	case nvml.SUCCESS:
		return nil
	case nvml.ERROR_NOT_SUPPORTED:
		err = ErrNotSupported
	case nvml.ERROR_NO_PERMISSION:
		err = ErrNoPermission
	case nvml.ERROR_NOT_FOUND:
		err = ErrNotFound
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		err = ErrLibraryNotFound
	case nvml.ERROR_DRIVER_NOT_LOADED:
		err = ErrDriverNotLoaded
	case nvml.ERROR_FUNCTION_NOT_FOUND:
		err = ErrFunctionNotFound
	case nvml.ERROR_GPU_IS_LOST:
		err = ErrGPULost
	default:
		err = returnError(ret)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// returnError is an NVML return code without a sentinel of its own.
type returnError nvml.Return

func (e returnError) Error() string {
	if name, ok := returnNames[nvml.Return(e)]; ok {
		return name
	}
	return fmt.Sprintf("NVML error %d", int32(e))
}

var returnNames = map[nvml.Return]string{
	nvml.ERROR_UNINITIALIZED:             "NVML_ERROR_UNINITIALIZED",
	nvml.ERROR_INVALID_ARGUMENT:          "NVML_ERROR_INVALID_ARGUMENT",
	nvml.ERROR_ALREADY_INITIALIZED:       "NVML_ERROR_ALREADY_INITIALIZED",
	nvml.ERROR_INSUFFICIENT_SIZE:         "NVML_ERROR_INSUFFICIENT_SIZE",
	nvml.ERROR_INSUFFICIENT_POWER:        "NVML_ERROR_INSUFFICIENT_POWER (a power cable is not attached)",
	nvml.ERROR_TIMEOUT:                   "NVML_ERROR_TIMEOUT",
	nvml.ERROR_IRQ_ISSUE:                 "NVML_ERROR_IRQ_ISSUE",
	nvml.ERROR_CORRUPTED_INFOROM:         "NVML_ERROR_CORRUPTED_INFOROM",
	nvml.ERROR_RESET_REQUIRED:            "NVML_ERROR_RESET_REQUIRED",
	nvml.ERROR_OPERATING_SYSTEM:          "NVML_ERROR_OPERATING_SYSTEM",
	nvml.ERROR_LIB_RM_VERSION_MISMATCH:   "NVML_ERROR_LIB_RM_VERSION_MISMATCH (the driver and libnvidia-ml versions differ)",
	nvml.ERROR_IN_USE:                    "NVML_ERROR_IN_USE",
	nvml.ERROR_MEMORY:                    "NVML_ERROR_MEMORY",
	nvml.ERROR_NO_DATA:                   "NVML_ERROR_NO_DATA",
	nvml.ERROR_VGPU_ECC_NOT_SUPPORTED:    "NVML_ERROR_VGPU_ECC_NOT_SUPPORTED",
	nvml.ERROR_INSUFFICIENT_RESOURCES:    "NVML_ERROR_INSUFFICIENT_RESOURCES",
	nvml.ERROR_FREQ_NOT_SUPPORTED:        "NVML_ERROR_FREQ_NOT_SUPPORTED",
	nvml.ERROR_ARGUMENT_VERSION_MISMATCH: "NVML_ERROR_ARGUMENT_VERSION_MISMATCH",
	nvml.ERROR_DEPRECATED:                "NVML_ERROR_DEPRECATED",
	nvml.ERROR_NOT_READY:                 "NVML_ERROR_NOT_READY",
	nvml.ERROR_GPU_NOT_FOUND:             "NVML_ERROR_GPU_NOT_FOUND",
	nvml.ERROR_INVALID_STATE:             "NVML_ERROR_INVALID_STATE",
	nvml.ERROR_UNKNOWN:                   "NVML_ERROR_UNKNOWN",
}
