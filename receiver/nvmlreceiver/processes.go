// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"errors"
	"maps"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver/internal/metadata"
)

// recordProcesses records the GPU memory and the utilization of each process. The list of compute
// processes is read for either metric: the utilization reports 0 for a listed process without a
// sample. A process that is, or descends from, a launcher's llama-server (servers: PID to the
// launcher's ID) is marked llamacpp.launcher.child=true and llamacpp.launcher=<ID>.
func (s *nvmlScraper) recordProcesses(g *gpuState, ts pcommon.Timestamp, servers map[int]string) {
	m := &s.cfg.Metrics
	procs, _ := readValue(s, g, qProcesses, g.dev.ComputeProcesses)
	type procAttrs struct {
		name  string
		child bool
		opts  []metadata.MetricAttributeOption
	}
	known := map[uint32]procAttrs{}
	attrs := func(pid uint32) procAttrs {
		a, ok := known[pid]
		if !ok {
			a.name = s.proc.name(pid)
			if server, found := s.proc.ancestorIn(pid, servers); found {
				a.child = true
				a.opts = []metadata.MetricAttributeOption{metadata.WithLlamacppLauncherMetricAttribute(servers[server])}
			}
			known[pid] = a
		}
		return a
	}
	if m.NvidiaGpuProcessMemoryUsage.Enabled {
		for _, p := range procs {
			if !p.MemoryOK {
				continue
			}
			a := attrs(p.PID)
			s.mb.RecordNvidiaGpuProcessMemoryUsageDataPoint(ts, int64(p.UsedMemory), int64(p.PID), a.name, a.child, a.opts...)
		}
	}
	if !m.NvidiaGpuProcessUtilization.Enabled {
		return
	}
	usage, ok := s.processUtilization(g)
	if !ok {
		return
	}
	// The listed processes first, in NVML's order, then those with samples only (a process that
	// ended since, or one with a graphics context only), by PID.
	pids := make([]uint32, 0, len(procs)+len(usage))
	listed := make(map[uint32]bool, len(procs))
	for _, p := range procs {
		if !listed[p.PID] {
			listed[p.PID] = true
			pids = append(pids, p.PID)
		}
	}
	for _, pid := range slices.Sorted(maps.Keys(usage)) {
		if !listed[pid] {
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		u := usage[pid] // zero for a listed process without a sample: it was idle
		a := attrs(pid)
		s.mb.RecordNvidiaGpuProcessUtilizationDataPoint(ts, u.sm/100, int64(pid), a.name, a.child, metadata.AttributeHwGpuTaskGeneral, a.opts...)
		s.mb.RecordNvidiaGpuProcessUtilizationDataPoint(ts, u.encoder/100, int64(pid), a.name, a.child, metadata.AttributeHwGpuTaskEncoder, a.opts...)
		s.mb.RecordNvidiaGpuProcessUtilizationDataPoint(ts, u.decoder/100, int64(pid), a.name, a.child, metadata.AttributeHwGpuTaskDecoder, a.opts...)
	}
}

// processUsage is a process's mean utilization (percent) over its samples in an interval.
type processUsage struct {
	sm, encoder, decoder float64
}

// processUtilization returns each process's mean utilization over the samples the driver took
// since the previous scrape; ok is false when there is nothing to report. The first query only
// notes the newest timestamp: with 0 the driver returns its whole buffer, which reaches back
// further than one interval, and a process idle since would be reported busy.
func (s *nvmlScraper) processUtilization(g *gpuState) (usage map[uint32]processUsage, ok bool) {
	if g.unsupported[qProcessUtil] {
		return nil, false
	}
	samples, err := g.dev.ProcessUtilization(g.lastProcSample)
	if err != nil && !errors.Is(err, ErrNotFound) { // NOT_FOUND: no sample since lastProcSample
		s.failed(g, qProcessUtil, err)
		return nil, false
	}
	after, primed := g.lastProcSample, g.procPrimed
	g.procPrimed = true
	for _, smp := range samples {
		g.lastProcSample = max(g.lastProcSample, smp.Timestamp)
	}
	if !primed {
		return nil, false
	}
	return averageProcessSamples(samples, after), true
}

// averageProcessSamples averages each PID's samples newer than after (NVML returns only those;
// older ones are dropped all the same).
func averageProcessSamples(samples []processUtilizationSample, after uint64) map[uint32]processUsage {
	type acc struct {
		sum processUsage
		n   int
	}
	accs := map[uint32]*acc{}
	for _, smp := range samples {
		if smp.Timestamp <= after {
			continue
		}
		a := accs[smp.PID]
		if a == nil {
			a = &acc{}
			accs[smp.PID] = a
		}
		a.sum.sm += float64(smp.SM)
		a.sum.encoder += float64(smp.Encoder)
		a.sum.decoder += float64(smp.Decoder)
		a.n++
	}
	out := make(map[uint32]processUsage, len(accs))
	for pid, a := range accs {
		n := float64(a.n)
		out[pid] = processUsage{sm: a.sum.sm / n, encoder: a.sum.encoder / n, decoder: a.sum.decoder / n}
	}
	return out
}
