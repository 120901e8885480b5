// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"errors"

	"go.uber.org/zap"
)

const (
	// maxFailureLogs is how many failures of one query are logged per GPU.
	maxFailureLogs = 3
)

// A query is one NVML call (or group of calls) the scraper makes per GPU; it names the call in
// logs and keys the per-GPU bookkeeping of failures.
type query string

const (
	qSamples        query = "nvmlDeviceGetSamples"
	qRates          query = "nvmlDeviceGetUtilizationRates"
	qEncoder        query = "nvmlDeviceGetEncoderUtilization"
	qDecoder        query = "nvmlDeviceGetDecoderUtilization"
	qMemory         query = "nvmlDeviceGetMemoryInfo"
	qTemperature    query = "nvmlDeviceGetTemperature"
	qMemoryTemp     query = "nvmlDeviceGetFieldValues(NVML_FI_DEV_MEMORY_TEMP)"
	qPower          query = "nvmlDeviceGetPowerUsage"
	qEnergy         query = "nvmlDeviceGetTotalEnergyConsumption"
	qClockSM        query = "nvmlDeviceGetClockInfo(NVML_CLOCK_SM)"
	qClockMemory    query = "nvmlDeviceGetClockInfo(NVML_CLOCK_MEM)"
	qThrottle       query = "nvmlDeviceGetCurrentClocksEventReasons"
	qFan            query = "nvmlDeviceGetFanSpeed"
	qPState         query = "nvmlDeviceGetPerformanceState"
	qPCIeCounters   query = "nvmlDeviceGetFieldValues(NVML_FI_DEV_PCIE_COUNT_*_BYTES)"
	qPCIeThroughput query = "nvmlDeviceGetPcieThroughput"
	qECCCorrected   query = "nvmlDeviceGetTotalEccErrors(corrected)"
	qECCUncorrected query = "nvmlDeviceGetTotalEccErrors(uncorrected)"
	qProcesses      query = "nvmlDeviceGetComputeRunningProcesses"
	qProcessUtil    query = "nvmlDeviceGetProcessUtilization"
)

// readValue runs query q on g unless it is known to be unsupported, and notes a failure.
func readValue[T any](s *nvmlScraper, g *gpuState, q query, read func() (T, error)) (T, bool) {
	var zero T
	if g.unsupported[q] {
		return zero, false
	}
	v, err := read()
	if err != nil {
		s.failed(g, q, err)
		return zero, false
	}
	return v, true
}

// failed notes that query q failed on g: NOT_SUPPORTED (or a function the driver lacks)
// disables it for good with one debug line; ErrNotFound (no value this time) is silent; other
// errors are logged the first maxFailureLogs times.
func (s *nvmlScraper) failed(g *gpuState, q query, err error) {
	switch {
	case errors.Is(err, ErrNotSupported), errors.Is(err, ErrFunctionNotFound):
		g.unsupported[q] = true
		s.logger.Debug("not supported by this GPU or driver; not queried again",
			zap.String("query", string(q)), zap.String("gpu", g.name), zap.String("uuid", g.uuid), zap.Error(err))
		return
	case errors.Is(err, ErrNotFound):
		return
	case errors.Is(err, ErrGPULost):
		g.lost = true
	}
	g.failures[q]++
	if n := g.failures[q]; n <= maxFailureLogs {
		s.logger.Warn("reading a GPU metric failed", zap.String("query", string(q)), zap.String("gpu", g.name),
			zap.String("uuid", g.uuid), zap.Error(err), zap.Bool("further_failures_logged", n < maxFailureLogs))
	}
}
