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

// ledgerMeter is one launcher's energy ledger with the meter of its GPUs attached.
type ledgerMeter struct {
	// metered are the GPU states of the meter's GPUs, in its order (to hand over the scrape's
	// energy readings).
	metered []*gpuState
	ledger  launcherapi.EnergyLedger
	detach  func()
}

// attachMeters gives each launcher's energy ledger a meter of its GPUs, when the launcher runs
// llama-server on GPUs that this receiver reads. A GPU that two launchers use is metered for
// neither: each ledger would split the whole GPU's energy among its own requests.
func (s *nvmlScraper) attachMeters() {
	users := map[int][]string{} // NVML index -> the launchers on it
	for _, l := range s.launchers {
		if gl, ok := l.Launcher.(launcherapi.GPULauncher); ok {
			for _, idx := range gl.GPUDevices() {
				users[idx] = append(users[idx], l.id)
			}
		}
	}
	for _, l := range s.launchers {
		if m := s.newMeter(l, users); m != nil {
			s.meters = append(s.meters, m)
		}
	}
}

func (s *nvmlScraper) newMeter(l namedLauncher, users map[int][]string) *ledgerMeter {
	gl, ok := l.Launcher.(launcherapi.GPULauncher)
	if !ok || len(gl.GPUDevices()) == 0 {
		return nil
	}
	log := s.logger.With(zap.String("launcher", l.id))
	m := &gpuMeter{}
	lm := &ledgerMeter{}
	var missing []string
	for _, idx := range gl.GPUDevices() {
		if len(users[idx]) > 1 {
			log.Warn("GPU energy per request is off for this launcher: another launcher uses the same GPU, and each would count its whole energy",
				zap.Int("gpu", idx), zap.Strings("launchers", users[idx]))
			return nil
		}
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
			log.Warn("GPU energy per request is off: the GPU has no energy counter (Volta or newer is needed)",
				zap.String("gpu", found.uuid), zap.Error(err))
			return nil
		}
		model, _ := found.dev.Name()
		m.gpus = append(m.gpus, launcherapi.GPU{ID: found.uuid, Name: fmt.Sprintf("gpu%d", idx), Model: model, Index: idx})
		m.devs = append(m.devs, found.dev)
		lm.metered = append(lm.metered, found)
	}
	if len(missing) > 0 {
		log.Warn("GPU energy per request is off: the launcher's GPUs are not all read by this receiver (check `devices`)",
			zap.String("missing", strings.Join(missing, ",")))
		return nil
	}
	names := make([]string, len(m.gpus))
	for i, g := range m.gpus {
		names[i] = g.Name + ":" + g.ID
	}
	log.Info("GPU energy per request: on", zap.Strings("gpus", names))
	lm.ledger = gl.EnergyLedger()
	lm.detach = lm.ledger.AttachMeter(m)
	return lm
}

// observeEnergy hands the energy counters that the previous scrape read (every energyInterval)
// to each ledger, which saves it reading them itself; utilization is left for it to carry over.
func (s *nvmlScraper) observeEnergy(now time.Time) {
	for _, m := range s.meters {
		m.observe(now)
	}
}

func (m *ledgerMeter) observe(now time.Time) {
	at := m.metered[0].energyAt
	if at.IsZero() || now.Sub(at) > energyInterval {
		return
	}
	rs := make([]launcherapi.GPUReading, len(m.metered))
	for i, g := range m.metered {
		if !g.energyAt.Equal(at) {
			return // not read in the same scrape
		}
		rs[i] = launcherapi.GPUReading{EnergyMJ: g.energyMJ, Utilization: -1}
	}
	for _, g := range m.metered {
		g.energyAt = time.Time{} // once
	}
	m.ledger.Observe(at, rs)
}

// energyTotals are the ledgers' splits by GPU UUID, once per scrape; nil without a ledger or
// with nvidia.gpu.energy.attribution off. No GPU is in two ledgers (attachMeters).
func (s *nvmlScraper) energyTotals() map[string]launcherapi.GPUEnergyTotals {
	if len(s.meters) == 0 || !s.cfg.Metrics.NvidiaGpuEnergyAttribution.Enabled {
		return nil
	}
	out := map[string]launcherapi.GPUEnergyTotals{}
	for _, m := range s.meters {
		for _, t := range m.ledger.Totals() {
			out[t.GPU.ID] = t
		}
	}
	return out
}

// recordEnergyAttribution records g's split of energy between requests and idle, when g is
// one of a launcher's metered GPUs.
func (s *nvmlScraper) recordEnergyAttribution(g *gpuState, ts pcommon.Timestamp, totals map[string]launcherapi.GPUEnergyTotals) {
	if t, ok := totals[g.uuid]; ok {
		s.mb.RecordNvidiaGpuEnergyAttributionDataPoint(ts, t.RequestJoules, metadata.AttributeNvidiaGpuEnergyUseRequests)
		s.mb.RecordNvidiaGpuEnergyAttributionDataPoint(ts, t.IdleJoules, metadata.AttributeNvidiaGpuEnergyUseIdle)
	}
}
