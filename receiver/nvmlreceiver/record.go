// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"errors"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver/internal/metadata"
)

// Clock event reasons (nvmlClocksEventReasons in nvml.h), in the order of the throttle_reason enum.
var throttleReasons = []struct {
	bit  uint64
	attr metadata.AttributeNvidiaGpuClockThrottleReason
}{
	{0x1, metadata.AttributeNvidiaGpuClockThrottleReasonGpuIdle},
	{0x2, metadata.AttributeNvidiaGpuClockThrottleReasonApplicationsClocksSetting},
	{0x4, metadata.AttributeNvidiaGpuClockThrottleReasonSwPowerCap},
	{0x8, metadata.AttributeNvidiaGpuClockThrottleReasonHwSlowdown},
	{0x10, metadata.AttributeNvidiaGpuClockThrottleReasonSyncBoost},
	{0x20, metadata.AttributeNvidiaGpuClockThrottleReasonSwThermalSlowdown},
	{0x40, metadata.AttributeNvidiaGpuClockThrottleReasonHwThermalSlowdown},
	{0x80, metadata.AttributeNvidiaGpuClockThrottleReasonHwPowerBrakeSlowdown},
	{0x100, metadata.AttributeNvidiaGpuClockThrottleReasonDisplayClockSetting},
}

// degradingReasons are the clock event reasons that mean the hardware protects itself:
// SW thermal, HW slowdown, HW thermal and HW power brake slowdown.
const degradingReasons = 0x20 | 0x8 | 0x40 | 0x80

// servers maps each launcher's llama-server PID to the launcher's ID (launcherPIDs).
func (s *nvmlScraper) scrapeGPU(g *gpuState, now time.Time, ts pcommon.Timestamp, servers map[int]string) {
	m := &s.cfg.Metrics
	g.lost = false
	if m.HwGpuUtilization.Enabled {
		s.recordUtilization(g, ts)
	}
	if m.HwGpuMemoryUsage.Enabled || m.HwGpuMemoryLimit.Enabled || m.HwGpuMemoryUtilization.Enabled {
		s.recordMemory(g, ts)
	}
	// A GPU in MIG mode gives its processes' aggregate to privileged users only; they are read on
	// its MIG devices instead, which also keeps them from being counted twice.
	if (m.NvidiaGpuProcessMemoryUsage.Enabled || m.NvidiaGpuProcessUtilization.Enabled) && !g.migEnabled {
		s.recordProcesses(g, ts, servers)
	}
	if !g.mig {
		s.scrapeBoard(g, now, ts)
	}
}

// scrapeBoard records what a GPU and its MIG devices share: sensors, power, clocks, PCIe link,
// ECC memory, XIDs and health. It comes last, so that hw.status sees a GPU lost during any query.
func (s *nvmlScraper) scrapeBoard(g *gpuState, now time.Time, ts pcommon.Timestamp) {
	m := &s.cfg.Metrics
	if m.HwTemperature.Enabled {
		if v, ok := readValue(s, g, qTemperature, g.dev.Temperature); ok {
			s.mb.RecordHwTemperatureDataPoint(ts, float64(v), metadata.AttributeHwSensorLocationGpu)
		}
		if v, ok := readValue(s, g, qMemoryTemp, g.dev.MemoryTemperature); ok {
			s.mb.RecordHwTemperatureDataPoint(ts, float64(v), metadata.AttributeHwSensorLocationMemory)
		}
	}
	if m.HwPower.Enabled {
		if v, ok := readValue(s, g, qPower, g.dev.PowerUsage); ok {
			s.mb.RecordHwPowerDataPoint(ts, float64(v)/1e3)
		}
	}
	// Half an interval of slack, so that scrapes every energyInterval, a little early, still read.
	if m.HwEnergy.Enabled && (g.energyRead.IsZero() || now.Sub(g.energyRead) >= energyInterval-s.cfg.CollectionInterval/2) {
		g.energyRead = now
		if v, ok := readValue(s, g, qEnergy, g.dev.TotalEnergy); ok {
			s.mb.RecordHwEnergyDataPoint(ts, float64(v)/1e3)
			g.energyMJ, g.energyAt = v, now
		}
	}
	if m.NvidiaGpuClockFrequency.Enabled {
		if v, ok := readValue(s, g, qClockSM, func() (uint32, error) { return g.dev.ClockMHz(clockSM) }); ok {
			s.mb.RecordNvidiaGpuClockFrequencyDataPoint(ts, int64(v)*1e6, metadata.AttributeNvidiaGpuClockDomainSm)
		}
		if v, ok := readValue(s, g, qClockMemory, func() (uint32, error) { return g.dev.ClockMHz(clockMemory) }); ok {
			s.mb.RecordNvidiaGpuClockFrequencyDataPoint(ts, int64(v)*1e6, metadata.AttributeNvidiaGpuClockDomainMemory)
		}
	}
	var reasons uint64
	if m.NvidiaGpuClockThrottled.Enabled || m.HwStatus.Enabled {
		var ok bool
		if reasons, ok = readValue(s, g, qThrottle, g.dev.ClockEventReasons); ok && m.NvidiaGpuClockThrottled.Enabled {
			for _, r := range throttleReasons {
				s.mb.RecordNvidiaGpuClockThrottledDataPoint(ts, boolInt(reasons&r.bit != 0), r.attr)
			}
		}
	}
	if m.NvidiaGpuFanSpeedRatio.Enabled {
		if v, ok := readValue(s, g, qFan, g.dev.FanSpeed); ok {
			s.mb.RecordNvidiaGpuFanSpeedRatioDataPoint(ts, float64(v)/100)
		}
	}
	if m.NvidiaGpuPerformanceState.Enabled {
		if v, ok := readValue(s, g, qPState, g.dev.PerformanceState); ok {
			s.mb.RecordNvidiaGpuPerformanceStateDataPoint(ts, int64(v))
		}
	}
	if m.HwGpuIo.Enabled {
		s.recordPCIe(g, now, ts)
	}
	var uncorrected uint64
	if m.HwErrors.Enabled || m.HwStatus.Enabled {
		uncorrected = s.recordErrors(g, ts, m.HwErrors.Enabled)
	}
	if m.HwStatus.Enabled {
		state := metadata.AttributeHwStateOk
		switch {
		case g.lost:
			state = metadata.AttributeHwStateFailed
		case uncorrected > 0 || reasons&degradingReasons != 0:
			state = metadata.AttributeHwStateDegraded
		}
		for _, st := range []metadata.AttributeHwState{metadata.AttributeHwStateOk, metadata.AttributeHwStateDegraded, metadata.AttributeHwStateFailed} {
			s.mb.RecordHwStatusDataPoint(ts, boolInt(st == state), st)
		}
	}
}

// recordUtilization records general, encoder and decoder utilization.
func (s *nvmlScraper) recordUtilization(g *gpuState, ts pcommon.Timestamp) {
	if v, ok := s.generalUtilization(g); ok {
		s.mb.RecordHwGpuUtilizationDataPoint(ts, v/100, metadata.AttributeHwGpuTaskGeneral)
	}
	if v, ok := readValue(s, g, qEncoder, g.dev.EncoderUtilization); ok {
		s.mb.RecordHwGpuUtilizationDataPoint(ts, float64(v)/100, metadata.AttributeHwGpuTaskEncoder)
	}
	if v, ok := readValue(s, g, qDecoder, g.dev.DecoderUtilization); ok {
		s.mb.RecordHwGpuUtilizationDataPoint(ts, float64(v)/100, metadata.AttributeHwGpuTaskDecoder)
	}
}

// generalUtilization is the average of the driver's utilization samples since the previous
// scrape (percent), falling back to nvmlDeviceGetUtilizationRates when there is none.
func (s *nvmlScraper) generalUtilization(g *gpuState) (float64, bool) {
	if !g.unsupported[qSamples] {
		samples, err := g.dev.UtilizationSamples(g.lastSample)
		if err == nil {
			if v, ok := g.averageNewSamples(samples, s.cfg.CollectionInterval); ok {
				return v, true
			}
		} else if !errors.Is(err, ErrNotFound) { // NOT_FOUND: no sample since lastSample
			s.failed(g, qSamples, err)
		}
	}
	if g.unsupported[qRates] {
		return 0, false
	}
	gpu, _, err := g.dev.UtilizationRates()
	if err != nil {
		s.failed(g, qRates, err)
		return 0, false
	}
	return float64(gpu), true
}

// averageNewSamples averages the samples newer than the last one used. The first time, when
// the driver returns everything it keeps (up to minutes), only the last interval counts.
func (g *gpuState) averageNewSamples(samples []utilizationSample, interval time.Duration) (float64, bool) {
	var newest uint64
	for _, smp := range samples {
		newest = max(newest, smp.Timestamp)
	}
	after := g.lastSample
	if after == 0 && newest > uint64(interval.Microseconds()) {
		after = newest - uint64(interval.Microseconds())
	}
	var sum float64
	var n int
	for _, smp := range samples {
		if smp.Timestamp > after {
			sum += smp.Percent
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	g.lastSample = newest
	return sum / float64(n), true
}

func (s *nvmlScraper) recordMemory(g *gpuState, ts pcommon.Timestamp) {
	if g.unsupported[qMemory] {
		return
	}
	mem, err := g.dev.Memory()
	if err != nil {
		s.failed(g, qMemory, err)
		return
	}
	s.mb.RecordHwGpuMemoryUsageDataPoint(ts, int64(mem.Used))
	s.mb.RecordHwGpuMemoryLimitDataPoint(ts, int64(mem.Total))
	if mem.Total > 0 {
		s.mb.RecordHwGpuMemoryUtilizationDataPoint(ts, float64(mem.Used)/float64(mem.Total))
	}
}

// recordErrors records the ECC and XID counts and returns the uncorrected ECC count.
func (s *nvmlScraper) recordErrors(g *gpuState, ts pcommon.Timestamp, record bool) uint64 {
	if record {
		if v, ok := readValue(s, g, qECCCorrected, func() (uint64, error) { return g.dev.ECCErrors(true) }); ok {
			s.mb.RecordHwErrorsDataPoint(ts, int64(v), metadata.AttributeErrorTypeCorrected)
		}
	}
	uncorrected, ok := readValue(s, g, qECCUncorrected, func() (uint64, error) { return g.dev.ECCErrors(false) })
	if ok && record {
		s.mb.RecordHwErrorsDataPoint(ts, int64(uncorrected), metadata.AttributeErrorTypeUncorrected)
	}
	if g.xidWatched && record {
		s.mb.RecordHwErrorsDataPoint(ts, g.xids, metadata.AttributeErrorTypeXid)
	}
	return uncorrected
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
