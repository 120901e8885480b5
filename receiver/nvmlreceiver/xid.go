// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import "go.uber.org/zap"

const (
	// maxXIDsPerScrape bounds the XID events taken from NVML's queue per scrape.
	maxXIDsPerScrape = 256
	// maxXIDLogs is how many XID events are logged one by one per scrape.
	maxXIDLogs = 8
)

// watchXIDs registers for critical XID events when hw.errors is wanted.
func (s *nvmlScraper) watchXIDs() {
	if !s.cfg.Metrics.HwErrors.Enabled {
		return
	}
	// NVML reports events per GPU, not per MIG device: a MIG device's XIDs count on its GPU.
	var devs []device
	for _, g := range s.gpus {
		if !g.mig {
			devs = append(devs, g.dev)
		}
	}
	if len(devs) == 0 {
		return
	}
	x, err := s.lib.WatchXIDs(devs)
	if err != nil {
		s.logger.Debug("XID events cannot be watched; hw.errors has no error.type=xid", zap.Error(err))
		return
	}
	s.xids = x
	for _, g := range s.gpus {
		g.xidWatched = !g.mig
	}
}

// pollXIDs counts the XID events queued since the previous scrape.
func (s *nvmlScraper) pollXIDs() {
	if s.xids == nil {
		return
	}
	events, err := s.xids.Poll(maxXIDsPerScrape)
	if err != nil {
		s.xidFails++
		if s.xidFails <= maxFailureLogs {
			s.logger.Warn("reading XID events failed", zap.Error(err), zap.Bool("further_failures_logged", s.xidFails < maxFailureLogs))
		}
	}
	for i, e := range events {
		for _, g := range s.gpus {
			if g.uuid == e.DeviceUUID {
				g.xids++
			}
		}
		if i < maxXIDLogs {
			s.logger.Warn("GPU reported a critical XID error", zap.Uint64("xid", e.XID), zap.String("uuid", e.DeviceUUID))
		}
	}
	if len(events) > maxXIDLogs {
		s.logger.Warn("more XID errors were reported", zap.Int("count", len(events)-maxXIDLogs))
	}
}
