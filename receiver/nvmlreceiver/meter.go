// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver/internal/metadata"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// gpuMeter reads the GPUs a launcher's llama-server runs on, for the launcher's energy ledger
// (launcherapi.GPUMeter). The ledger calls Read from its own goroutine; it uses only the device
// handles, which NVML allows from any thread, and no scraper state.
type gpuMeter struct {
	gpus []launcherapi.GPU
	devs []device
}

var _ launcherapi.GPUMeter = (*gpuMeter)(nil)

// GPUs implements launcherapi.GPUMeter.
func (m *gpuMeter) GPUs() []launcherapi.GPU { return m.gpus }

// Read implements launcherapi.GPUMeter: the energy counter and the GPU utilization of each GPU.
func (m *gpuMeter) Read() ([]launcherapi.GPUReading, error) {
	out := make([]launcherapi.GPUReading, len(m.devs))
	for i, d := range m.devs {
		e, err := d.TotalEnergy()
		if err != nil {
			return nil, fmt.Errorf("%s: nvmlDeviceGetTotalEnergyConsumption: %w", m.gpus[i].ID, err)
		}
		out[i].EnergyMJ = e
		out[i].Utilization = -1
		if u, _, err := d.UtilizationRates(); err == nil {
			out[i].Utilization = float64(u) / 100
		}
	}
	return out, nil
}

// attachMeter gives the launcher's energy ledger a meter of the launcher's GPUs, when the
// launcher runs llama-server on GPUs that this receiver reads. It returns the meter's GPU
// states (to hand over the scrape's energy readings) and the function that detaches it.
func (s *nvmlScraper) attachMeter() (metered []*gpuState, detach func()) {
	gl, ok := s.launcher.(launcherapi.GPULauncher)
	if !ok || len(gl.GPUDevices()) == 0 {
		return nil, nil
	}
	m := &gpuMeter{}
	var missing []string
	for _, idx := range gl.GPUDevices() {
		var found *gpuState
		for _, g := range s.gpus {
			if g.index == idx && !g.mig {
				found = g
				break
			}
		}
		if found == nil {
			missing = append(missing, fmt.Sprint(idx))
			continue
		}
		if _, err := found.dev.TotalEnergy(); err != nil {
			s.logger.Warn("GPU energy per request is off: the GPU has no energy counter (Volta or newer is needed)",
				zap.String("gpu", found.uuid), zap.Error(err))
			return nil, nil
		}
		model, _ := found.dev.Name()
		m.gpus = append(m.gpus, launcherapi.GPU{ID: found.uuid, Name: fmt.Sprintf("gpu%d", idx), Model: model, Index: idx})
		m.devs = append(m.devs, found.dev)
		metered = append(metered, found)
	}
	if len(missing) > 0 {
		s.logger.Warn("GPU energy per request is off: the launcher's GPUs are not all read by this receiver (check `devices`)",
			zap.String("missing", strings.Join(missing, ",")))
		return nil, nil
	}
	names := make([]string, len(m.gpus))
	for i, g := range m.gpus {
		names[i] = g.Name + ":" + g.ID
	}
	s.logger.Info("GPU energy per request: on", zap.Strings("gpus", names))
	return metered, gl.EnergyLedger().AttachMeter(m)
}

// observeEnergy hands the energy counters that the previous scrape read (every energyInterval)
// to the ledger, which saves it reading them itself; utilization is left for it to carry over.
func (s *nvmlScraper) observeEnergy(now time.Time) {
	if s.detachMeter == nil || len(s.metered) == 0 {
		return
	}
	at := s.metered[0].energyAt
	if at.IsZero() || now.Sub(at) > energyInterval {
		return
	}
	rs := make([]launcherapi.GPUReading, len(s.metered))
	for i, g := range s.metered {
		if !g.energyAt.Equal(at) {
			return // not read in the same scrape
		}
		rs[i] = launcherapi.GPUReading{EnergyMJ: g.energyMJ, Utilization: -1}
	}
	for _, g := range s.metered {
		g.energyAt = time.Time{} // once
	}
	s.launcher.(launcherapi.GPULauncher).EnergyLedger().Observe(at, rs)
}

// recordEnergyAttribution records g's split of energy between requests and idle, when g is
// one of the launcher's metered GPUs.
func (s *nvmlScraper) recordEnergyAttribution(g *gpuState, ts pcommon.Timestamp) {
	if s.detachMeter == nil || !s.cfg.Metrics.NvidiaGpuEnergyAttribution.Enabled || !slices.Contains(s.metered, g) {
		return
	}
	for _, t := range s.launcher.(launcherapi.GPULauncher).EnergyLedger().Totals() {
		if t.GPU.ID == g.uuid {
			s.mb.RecordNvidiaGpuEnergyAttributionDataPoint(ts, t.RequestJoules, metadata.AttributeNvidiaGpuEnergyUseRequests)
			s.mb.RecordNvidiaGpuEnergyAttributionDataPoint(ts, t.IdleJoules, metadata.AttributeNvidiaGpuEnergyUseIdle)
		}
	}
}
