// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package fakenvml builds a fake NVIDIA GPU for tests: libnvidia-ml.so.1 compiled from
// csrc/fakenvml.c, a small C library that implements the part of the NVML API that the nvml receiver
// calls, following NVML's documented contract. What its GPUs report (identity, memory, power,
// utilization, and an energy counter that integrates the power over time) is scripted through
// FAKENVML_* environment variables, which Script.Env writes; README.md lists them.
//
// A process binds NVML's symbols once: it must load one fake library at most, and the script is
// read by its first nvmlInit. Tests that load it in-process therefore run in a process of their
// own, such as the collector started by an end-to-end test.
package fakenvml // import "github.com/llamatelemetry/otelcol-llt/internal/fakenvml"

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// LibraryName is the name of the library Build writes: the one the NVIDIA driver installs, which
// NVML clients load by default.
const LibraryName = "libnvidia-ml.so.1"

//go:embed csrc/fakenvml.c
var source []byte

// Build compiles csrc/fakenvml.c with the C compiler `cc` into LibraryName in a temporary folder of
// tb, and returns that folder (for LD_LIBRARY_PATH; the nvml receiver's `library_path` takes the
// file). A missing compiler or a failed compilation fails tb: it does not skip.
func Build(tb testing.TB) (libDir string) {
	tb.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		tb.Fatalf("building the fake NVML needs a C compiler: %v", err)
	}
	src := filepath.Join(tb.TempDir(), "fakenvml.c")
	if err := os.WriteFile(src, source, 0o600); err != nil {
		tb.Fatal(err)
	}
	libDir = tb.TempDir()
	cmd := exec.Command(cc, "-shared", "-fPIC", "-O2", "-pthread", "-Wall", "-Wextra", "-Werror",
		"-o", filepath.Join(libDir, LibraryName), src)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return libDir
}

// Script is what the fake NVML reports.
type Script struct {
	// GPUs are the fake GPUs, in NVML index order; none when empty.
	GPUs []GPU
	// DriverVersion is nvmlSystemGetDriverVersion's answer. Default "580.95.05".
	DriverVersion string
	// CUDADriverVersion is nvmlSystemGetCudaDriverVersion's answer, 1000 × major + 10 × minor.
	// Default 13000 (CUDA 13.0).
	CUDADriverVersion int
	// InitReturn, when not 0, is the NVML return code nvmlInit fails with, e.g. 9
	// (NVML_ERROR_DRIVER_NOT_LOADED) or 4 (NVML_ERROR_NO_PERMISSION).
	InitReturn int
}

// GPU is the script of one fake GPU. A zero field leaves the default. Power and utilization have
// two states, idle and busy: the GPU is busy while BusyFile exists.
type GPU struct {
	// UUID is nvmlDeviceGetUUID's answer, GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in hexadecimal.
	// Default GPU-fa4e0000-0000-4000-8000-<the index in 12 hexadecimal digits>.
	UUID string
	// Name is nvmlDeviceGetName's answer. Default "NVIDIA Fake H200".
	Name string
	// MemoryTotal, MemoryUsed and MemoryReserved are in bytes (nvmlMemory_v2_t total, used and
	// reserved; nvmlMemory_t's used is MemoryUsed + MemoryReserved). Defaults 150754820096 (an
	// H200's 143771 MiB), 0 and 0.
	MemoryTotal, MemoryUsed, MemoryReserved uint64
	// PowerMW and BusyPowerMW are the power draw in mW while idle and busy. Defaults 75000 and
	// 450000.
	PowerMW, BusyPowerMW uint32
	// UtilGPU and UtilMemory are nvmlUtilization_t's gpu and memory percentages while idle
	// (default 0 and 0); BusyUtilGPU and BusyUtilMemory while busy (default 100 and 50).
	UtilGPU, UtilMemory, BusyUtilGPU, BusyUtilMemory uint32
	// EnergyMJ is the energy counter at the first nvmlInit, in mJ. Default 0.
	EnergyMJ uint64
	// TemperatureC is the GPU temperature in °C. Default 35.
	TemperatureC uint32
	// BusyFile, when set, is a file whose existence makes the GPU busy.
	BusyFile string
	// ProcessesFile, when set, is a file that lists the GPU's compute processes
	// (nvmlDeviceGetComputeRunningProcesses_v3), read at every call: write it with WriteProcesses.
	// No file: no process.
	ProcessesFile string
}

// Process is a compute process on a fake GPU.
type Process struct {
	// PID is the process id (> 0).
	PID int
	// UsedMemory is its GPU memory in bytes.
	UsedMemory uint64
}

// WriteProcesses makes procs the compute processes of the GPUs whose ProcessesFile is path. It
// replaces the file at once (a rename), so that the fake never reads half of it.
func WriteProcesses(path string, procs ...Process) error {
	var b []byte
	for _, p := range procs {
		if p.PID <= 0 {
			return fmt.Errorf("fakenvml: process id %d: must be positive", p.PID)
		}
		b = fmt.Appendf(b, "%d %d\n", p.PID, p.UsedMemory)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Env returns the FAKENVML_* variables that script the fake, to append to a process's
// environment (os/exec keeps the last value of a variable set twice).
func (s Script) Env() []string {
	env := []string{"FAKENVML_GPU_COUNT=" + strconv.Itoa(len(s.GPUs))}
	if s.DriverVersion != "" {
		env = append(env, "FAKENVML_DRIVER_VERSION="+s.DriverVersion)
	}
	if s.CUDADriverVersion != 0 {
		env = append(env, "FAKENVML_CUDA_DRIVER_VERSION="+strconv.Itoa(s.CUDADriverVersion))
	}
	if s.InitReturn != 0 {
		env = append(env, "FAKENVML_INIT_RETURN="+strconv.Itoa(s.InitReturn))
	}
	for i, g := range s.GPUs {
		set := func(key string, v any, zero bool) {
			if !zero {
				env = append(env, fmt.Sprintf("FAKENVML_GPU%d_%s=%v", i, key, v))
			}
		}
		set("UUID", g.UUID, g.UUID == "")
		set("NAME", g.Name, g.Name == "")
		set("MEMORY_TOTAL", g.MemoryTotal, g.MemoryTotal == 0)
		set("MEMORY_USED", g.MemoryUsed, g.MemoryUsed == 0)
		set("MEMORY_RESERVED", g.MemoryReserved, g.MemoryReserved == 0)
		set("POWER_MW", g.PowerMW, g.PowerMW == 0)
		set("BUSY_POWER_MW", g.BusyPowerMW, g.BusyPowerMW == 0)
		set("UTIL_GPU", g.UtilGPU, g.UtilGPU == 0)
		set("UTIL_MEMORY", g.UtilMemory, g.UtilMemory == 0)
		set("BUSY_UTIL_GPU", g.BusyUtilGPU, g.BusyUtilGPU == 0)
		set("BUSY_UTIL_MEMORY", g.BusyUtilMemory, g.BusyUtilMemory == 0)
		set("ENERGY_MJ", g.EnergyMJ, g.EnergyMJ == 0)
		set("TEMPERATURE_C", g.TemperatureC, g.TemperatureC == 0)
		set("BUSY_FILE", g.BusyFile, g.BusyFile == "")
		set("PROCESSES_FILE", g.ProcessesFile, g.ProcessesFile == "")
	}
	return env
}
