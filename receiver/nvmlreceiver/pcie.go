// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver/internal/metadata"
)

// pcieState follows how hw.gpu.io is measured on one GPU. The driver's byte counters (fields
// 197/198) are preferred, but some GPUs report 0 in them (an H200 with driver 580 did, with
// traffic on the bus); while they read 0, the throughput is integrated, and once the
// throughput shows traffic the counters are no longer trusted.
type pcieState struct {
	mode   pcieMode
	last   time.Time
	tx, rx float64 // integrated bytes
}

type pcieMode int

const (
	pcieUndecided pcieMode = iota
	pcieCounters
	pcieIntegrated
)

func (s *nvmlScraper) recordPCIe(g *gpuState, now time.Time, ts pcommon.Timestamp) {
	p := &g.pcie
	var counterTx, counterRx uint64
	countersOK := false
	if p.mode != pcieIntegrated && !g.unsupported[qPCIeCounters] {
		tx, rx, err := g.dev.PCIeCounters()
		if err != nil {
			s.failed(g, qPCIeCounters, err)
		} else {
			counterTx, counterRx, countersOK = tx, rx, true
			if tx != 0 || rx != 0 {
				p.mode = pcieCounters
			}
		}
	}
	if p.mode == pcieCounters {
		if countersOK {
			s.mb.RecordHwGpuIoDataPoint(ts, int64(counterTx), metadata.AttributeNetworkIoDirectionTransmit)
			s.mb.RecordHwGpuIoDataPoint(ts, int64(counterRx), metadata.AttributeNetworkIoDirectionReceive)
		}
		return
	}
	if g.unsupported[qPCIeThroughput] {
		return
	}
	tx, rx, err := g.dev.PCIeThroughput()
	if err != nil {
		s.failed(g, qPCIeThroughput, err)
		return
	}
	if tx != 0 || rx != 0 {
		p.mode = pcieIntegrated
	}
	if !p.last.IsZero() {
		// NVML's KB/s are KiB/s.
		dt := now.Sub(p.last).Seconds()
		p.tx += float64(tx) * 1024 * dt
		p.rx += float64(rx) * 1024 * dt
	}
	p.last = now
	s.mb.RecordHwGpuIoDataPoint(ts, int64(p.tx), metadata.AttributeNetworkIoDirectionTransmit)
	s.mb.RecordHwGpuIoDataPoint(ts, int64(p.rx), metadata.AttributeNetworkIoDirectionReceive)
}
