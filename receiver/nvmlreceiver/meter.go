// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"fmt"
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
// launcher runs llama-server on GPUs that this receiver reads, and keeps the ledger, the
// meter's GPU states (to hand over the scrape's energy readings) and the detach function.
func (s *nvmlScraper) attachMeter() {
	metered, ledger, detach := s.newMeter()
	if detach != nil {
		s.metered, s.ledger, s.detachMeter = metered, ledger, detach
	}
}

func (s *nvmlScraper) newMeter() (metered []*gpuState, ledger launcherapi.EnergyLedger, detach func()) {
	gl, ok := s.launcher.(launcherapi.GPULauncher)
	if !ok || len(gl.GPUDevices()) == 0 {
		return nil, nil, nil
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
			return nil, nil, nil
		}
		model, _ := found.dev.Name()
		m.gpus = append(m.gpus, launcherapi.GPU{ID: found.uuid, Name: fmt.Sprintf("gpu%d", idx), Model: model, Index: idx})
		m.devs = append(m.devs, found.dev)
		metered = append(metered, found)
	}
	if len(missing) > 0 {
		s.logger.Warn("GPU energy per request is off: the launcher's GPUs are not all read by this receiver (check `devices`)",
			zap.String("missing", strings.Join(missing, ",")))
		return nil, nil, nil
	}
	names := make([]string, len(m.gpus))
	for i, g := range m.gpus {
		names[i] = g.Name + ":" + g.ID
	}
	s.logger.Info("GPU energy per request: on", zap.Strings("gpus", names))
	ledger = gl.EnergyLedger()
	return metered, ledger, ledger.AttachMeter(m)
}

// observeEnergy hands the energy counters that the previous scrape read (every energyInterval)
// to the ledger, which saves it reading them itself; utilization is left for it to carry over.
func (s *nvmlScraper) observeEnergy(now time.Time) {
	if s.ledger == nil {
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
	s.ledger.Observe(at, rs)
}

// energyTotals are the ledger's splits by GPU UUID, once per scrape; nil without a ledger or
// with nvidia.gpu.energy.attribution off.
func (s *nvmlScraper) energyTotals() map[string]launcherapi.GPUEnergyTotals {
	if s.ledger == nil || !s.cfg.Metrics.NvidiaGpuEnergyAttribution.Enabled {
		return nil
	}
	out := map[string]launcherapi.GPUEnergyTotals{}
	for _, t := range s.ledger.Totals() {
		out[t.GPU.ID] = t
	}
	return out
}

// recordEnergyAttribution records g's split of energy between requests and idle, when g is
// one of the launcher's metered GPUs.
func (s *nvmlScraper) recordEnergyAttribution(g *gpuState, ts pcommon.Timestamp, totals map[string]launcherapi.GPUEnergyTotals) {
	if t, ok := totals[g.uuid]; ok {
		s.mb.RecordNvidiaGpuEnergyAttributionDataPoint(ts, t.RequestJoules, metadata.AttributeNvidiaGpuEnergyUseRequests)
		s.mb.RecordNvidiaGpuEnergyAttributionDataPoint(ts, t.IdleJoules, metadata.AttributeNvidiaGpuEnergyUseIdle)
	}
}
