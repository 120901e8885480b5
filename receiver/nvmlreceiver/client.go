// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"errors"
)

// The seam between the scraper and NVML. The scraper only knows gpuLibrary and device, which
// return plain Go values and the errors below; client_nvml.go implements them with go-nvml
// (linux and cgo only) and client_other.go with a library that is never available. Tests use a
// fake (fake_client_test.go), so the scraper and its tests build and run without cgo.

// Errors the client returns, wrapped with the name of the call that failed (test with errors.Is).
// Each stands for an NVML return code (nvmlReturn_t); an error that matches none of them is
// returned as is.
var (
	// ErrUnavailable means this build cannot use NVML: it was built without cgo or not for linux.
	ErrUnavailable = errors.New("nvml unavailable")
	// ErrLibraryNotFound is NVML_ERROR_LIBRARY_NOT_FOUND: libnvidia-ml.so.1 could not be loaded.
	ErrLibraryNotFound = errors.New("nvml library not found")
	// ErrDriverNotLoaded is NVML_ERROR_DRIVER_NOT_LOADED: the NVIDIA kernel driver is not running.
	ErrDriverNotLoaded = errors.New("nvidia driver not loaded")
	// ErrNoPermission is NVML_ERROR_NO_PERMISSION: the user may not use the GPU or this call.
	ErrNoPermission = errors.New("no permission")
	// ErrNotSupported is NVML_ERROR_NOT_SUPPORTED: the GPU (or its mode, e.g. MIG) lacks the feature.
	ErrNotSupported = errors.New("not supported")
	// ErrFunctionNotFound is NVML_ERROR_FUNCTION_NOT_FOUND, also returned without calling NVML when the
	// installed libnvidia-ml lacks the function's symbol (an older driver): calling it would end the
	// process with "symbol lookup error".
	ErrFunctionNotFound = errors.New("function not found in the installed nvml library")
	// ErrNotFound is NVML_ERROR_NOT_FOUND; nvmlDeviceGetSamples and nvmlDeviceGetProcessUtilization
	// return it when there is no sample newer than the timestamp they were given.
	ErrNotFound = errors.New("not found")
	// ErrGPULost is NVML_ERROR_GPU_IS_LOST: the GPU fell off the bus or is otherwise inaccessible.
	ErrGPULost = errors.New("gpu is lost")
)

// gpuLibrary is NVML as a whole. Init must succeed before any other method is called, and
// Shutdown is called once for each successful Init; an implementation need not be safe after a
// failed Init, since calling NVML then can end the process.
type gpuLibrary interface {
	// Init loads the library and initialises NVML.
	Init() error
	// Shutdown releases what Init acquired.
	Shutdown() error
	// DriverVersion is the driver's version, e.g. 580.159.04.
	DriverVersion() (string, error)
	// CUDADriverVersion is the CUDA version the driver supports, as major*1000 + minor*10 (13000).
	CUDADriverVersion() (int, error)
	// DeviceCount is the number of GPUs NVML sees (whether or not the user may access them).
	DeviceCount() (int, error)
	// DeviceByIndex returns the GPU with this NVML index.
	DeviceByIndex(index int) (device, error)
	// DeviceByUUID returns the GPU (GPU-…) or MIG device (MIG-…) with this UUID.
	DeviceByUUID(uuid string) (device, error)
	// WatchXIDs registers for critical XID events on devs and returns a source to poll them from;
	// ErrNotSupported when none of devs supports them.
	WatchXIDs(devs []device) (xidSource, error)
}

// device is one GPU. Values come in NVML's own units (percent, MHz, mW, mJ, bytes) so that the
// adapter stays a thin translation; the scraper converts them.
type device interface {
	// UUID is the device's UUID (GPU-… or MIG-…).
	UUID() (string, error)
	// Name is the product name, e.g. NVIDIA H200.
	Name() (string, error)
	// Index is the NVML index.
	Index() (int, error)
	// PCIBusID is the PCI bus id, e.g. 00000000:00:06.0.
	PCIBusID() (string, error)
	// UtilizationSamples returns the GPU utilization samples (percent) the driver took after
	// since (µs, the driver's clock; 0 for all it keeps). ErrNotFound when there are none.
	UtilizationSamples(since uint64) ([]utilizationSample, error)
	// UtilizationRates returns GPU and memory-controller utilization (percent) over the driver's
	// last sample period (1/6 s to 1 s).
	UtilizationRates() (gpu, memory uint32, err error)
	// EncoderUtilization is the video encoder's utilization (percent).
	EncoderUtilization() (uint32, error)
	// DecoderUtilization is the video decoder's utilization (percent).
	DecoderUtilization() (uint32, error)
	// Memory is the frame buffer's size and use.
	Memory() (memoryInfo, error)
	// Temperature is the GPU die's temperature (°C).
	Temperature() (uint32, error)
	// MemoryTemperature is the memory's temperature (°C), on boards with HBM.
	MemoryTemperature() (uint32, error)
	// PowerUsage is the board's power draw (mW).
	PowerUsage() (uint32, error)
	// TotalEnergy is the energy consumed since the driver was loaded (mJ).
	TotalEnergy() (uint64, error)
	// ClockMHz is the current frequency of a clock domain (MHz).
	ClockMHz(clock clockDomain) (uint32, error)
	// ClockEventReasons is the bitmask of reasons clocks are held down (nvmlClocksEventReasons).
	ClockEventReasons() (uint64, error)
	// FanSpeed is the fan speed (percent of maximum).
	FanSpeed() (uint32, error)
	// PerformanceState is the P-state, 0 (maximum performance) to 15.
	PerformanceState() (int, error)
	// PCIeCounters are the driver's PCIe byte counters (they may wrap).
	PCIeCounters() (tx, rx uint64, err error)
	// PCIeThroughput is the PCIe throughput measured over the driver's last 20 ms (KB/s).
	PCIeThroughput() (tx, rx uint32, err error)
	// ECCErrors is the number of volatile ECC errors (since the driver was loaded).
	ECCErrors(corrected bool) (uint64, error)
	// ComputeProcesses lists the processes with a compute context on the GPU.
	ComputeProcesses() ([]processInfo, error)
	// ProcessUtilization returns the per-process utilization samples (percent) the driver took
	// after since (µs, the driver's clock; 0 for all it keeps). The driver writes a sample only
	// for a process that was busy in its sample period. ErrNotFound when there are none;
	// ErrNotSupported on MIG-enabled GPUs.
	ProcessUtilization(since uint64) ([]processUtilizationSample, error)
	// MIGEnabled reports whether the GPU's current MIG mode is enabled (nvmlDeviceGetMigMode);
	// ErrNotSupported on GPUs without MIG.
	MIGEnabled() (bool, error)
	// MIGDevices returns the MIG devices (one per compute instance) of a GPU whose MIG mode is
	// enabled; none when it is disabled. It may return some devices and an error for the others.
	MIGDevices() ([]device, error)
	// MIGInfo tells whether the device is a MIG device and, if so, where it sits. info.IsMIG is
	// valid whenever err is nil or info.IsMIG is true; the other fields are filled as far as NVML
	// answered, and err joins what it did not.
	MIGInfo() (info migInfo, err error)
}

// xidSource hands out the XID events NVML queued, without blocking.
type xidSource interface {
	// Poll returns the events that arrived since the previous call (at most max).
	Poll(max int) ([]xidEvent, error)
	// Close unregisters and frees the event set.
	Close() error
}

type clockDomain int

const (
	clockSM clockDomain = iota
	clockMemory
)

// utilizationSample is one of the driver's utilization samples.
type utilizationSample struct {
	// Timestamp is the driver's timestamp in µs.
	Timestamp uint64
	// Percent is the utilization in percent.
	Percent float64
}

// memoryInfo is the frame buffer's use in bytes. With nvmlDeviceGetMemoryInfo_v2,
// Total = Reserved + Used + Free; with the older call Reserved is 0 and Used includes it.
type memoryInfo struct {
	Total, Reserved, Used, Free uint64
}

// processInfo is one process using the GPU.
type processInfo struct {
	PID uint32
	// UsedMemory is the GPU memory the process uses, in bytes; ok is false when the driver
	// cannot tell (NVML_VALUE_NOT_AVAILABLE, e.g. under Windows WDDM or without permission).
	UsedMemory uint64
	MemoryOK   bool
}

// processUtilizationSample is one of the driver's per-process utilization samples (percent of
// the sample period each engine was busy for the process).
type processUtilizationSample struct {
	PID uint32
	// Timestamp is the driver's timestamp in µs.
	Timestamp uint64
	// SM is the SM (3D/compute) utilization, Memory the memory controller's (frame buffer),
	// Encoder and Decoder the video engines'.
	SM, Memory, Encoder, Decoder uint32
}

// migInfo places a MIG device (the NVML handle of one MIG compute instance) in its GPU.
type migInfo struct {
	// IsMIG is true for a MIG device, false for a GPU.
	IsMIG bool
	// Parent is the GPU the MIG device is part of; nil when NVML did not say.
	Parent device
	// Index is the MIG device's index under its parent (what nvmlDeviceGetIndex returns for a
	// MIG handle, and nvmlDeviceGetMigDeviceHandleByIndex takes; nvidia-smi's "MIG Dev"); -1
	// when unknown.
	Index int
	// GPUInstanceID and ComputeInstanceID are the ids of its GPU instance and of its compute
	// instance within that (nvidia-smi's GI and CI); -1 when unknown.
	GPUInstanceID, ComputeInstanceID int
}

// xidEvent is one XID event.
type xidEvent struct {
	// Device is the GPU the event is about: its UUID, or "" when NVML gave no device.
	DeviceUUID string
	// XID is the XID code (e.g. 79: the GPU has fallen off the bus).
	XID uint64
}
