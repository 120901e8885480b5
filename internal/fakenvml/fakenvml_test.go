// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package fakenvml

import (
	"debug/elf"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// implemented is every function the fake exports; README.md lists the same.
var implemented = []string{
	"nvmlInit", "nvmlInit_v2", "nvmlInitWithFlags", "nvmlShutdown", "nvmlErrorString",
	"nvmlSystemGetDriverVersion", "nvmlSystemGetCudaDriverVersion", "nvmlSystemGetCudaDriverVersion_v2",
	"nvmlDeviceGetCount", "nvmlDeviceGetCount_v2",
	"nvmlDeviceGetHandleByIndex", "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByUUID",
	"nvmlDeviceGetUUID", "nvmlDeviceGetName", "nvmlDeviceGetIndex", "nvmlDeviceGetPciInfo_v3",
	"nvmlDeviceGetUtilizationRates", "nvmlDeviceGetEncoderUtilization", "nvmlDeviceGetDecoderUtilization",
	"nvmlDeviceGetSamples",
	"nvmlDeviceGetMemoryInfo", "nvmlDeviceGetMemoryInfo_v2",
	"nvmlDeviceGetTemperature", "nvmlDeviceGetPowerUsage", "nvmlDeviceGetTotalEnergyConsumption",
	"nvmlDeviceGetFieldValues",
	"nvmlDeviceGetTotalEccErrors", "nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetProcessUtilization",
	"nvmlDeviceGetMigMode", "nvmlDeviceIsMigDeviceHandle",
	"nvmlDeviceGetClockInfo", "nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetFanSpeed",
	"nvmlDeviceGetPerformanceState", "nvmlDeviceGetPcieThroughput",
	"nvmlEventSetCreate", "nvmlDeviceGetSupportedEventTypes", "nvmlDeviceRegisterEvents",
	"nvmlEventSetWait_v2", "nvmlEventSetFree",
}

// TestExportsNVMLOnly: the library defines the listed NVML functions and nothing else, so that a
// function it lacks is absent for dlsym, as in an older driver.
func TestExportsNVMLOnly(t *testing.T) {
	f, err := elf.Open(filepath.Join(Build(t), LibraryName))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	syms, err := f.DynamicSymbols()
	require.NoError(t, err)
	var got []string
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF && elf.ST_BIND(s.Info) == elf.STB_GLOBAL {
			got = append(got, s.Name)
		}
	}
	want := append([]string(nil), implemented...)
	sort.Strings(got)
	sort.Strings(want)
	assert.Equal(t, want, got)
}

func TestEnv(t *testing.T) {
	s := Script{
		GPUs: []GPU{
			{UUID: "GPU-12345678-9abc-4def-8123-456789abcdef", PowerMW: 100000, EnergyMJ: 5, BusyFile: "/tmp/busy", ProcessesFile: "/tmp/procs"},
			{},
		},
		CUDADriverVersion: 12050,
		InitReturn:        9,
	}
	assert.Equal(t, []string{
		"FAKENVML_GPU_COUNT=2",
		"FAKENVML_CUDA_DRIVER_VERSION=12050",
		"FAKENVML_INIT_RETURN=9",
		"FAKENVML_GPU0_UUID=GPU-12345678-9abc-4def-8123-456789abcdef",
		"FAKENVML_GPU0_POWER_MW=100000",
		"FAKENVML_GPU0_ENERGY_MJ=5",
		"FAKENVML_GPU0_BUSY_FILE=/tmp/busy",
		"FAKENVML_GPU0_PROCESSES_FILE=/tmp/procs",
	}, s.Env())
	assert.Equal(t, []string{"FAKENVML_GPU_COUNT=0"}, Script{}.Env())
}

func TestWriteProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procs")
	require.NoError(t, WriteProcesses(path, Process{PID: 4101, UsedMemory: 3 << 30}, Process{PID: 7, UsedMemory: 0}))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "4101 3221225472\n7 0\n", string(b))
	require.NoError(t, WriteProcesses(path))
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Empty(t, b)
	assert.ErrorContains(t, WriteProcesses(path, Process{PID: 0}), "must be positive")
}
