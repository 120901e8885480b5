// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package store keeps the telemetry the dashboards draw: metric series, compact span records and
// recent log records, within a sliding retention window and fixed size bounds, so that memory
// does not grow with the collector's uptime.
//
// Writers append under one mutex. Readers take a Snapshot, which copies only slice headers and
// chunk pointers: data already written is never modified in place (series are rewritten into new
// arrays when compacted; spans live in append-only chunks), so a snapshot stays valid while
// writers go on.
package store // import "github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/downsample"
)

// Limits bound what a Store keeps.
type Limits struct {
	// Retention drops data older than now-Retention.
	Retention time.Duration
	// MaxPoints is the per-series target: a series that reaches 2*MaxPoints is downsampled to
	// MaxPoints with LTTB (older detail is progressively thinned; the newest points stay exact).
	MaxPoints int
	// MaxSeries bounds the number of series; points of further series are dropped and counted.
	MaxSeries int
	// MaxSpans bounds the span records kept; the oldest go first.
	MaxSpans int
	// MaxLogs bounds the log records kept; the oldest go first.
	MaxLogs int
}

// Dropped counts what a store did not keep, or let go before the retention window ran out,
// since it was made. Data that ages out of the window, and the detail of older points that a
// series' downsampling thins, are not counted: the store is meant to let them go.
type Dropped struct {
	// SeriesPoints are the points of series beyond MaxSeries, and the updates of histogram
	// streams beyond it.
	SeriesPoints uint64
	// OldPoints are the points that were older than the retention window when they arrived.
	OldPoints uint64
	// Spans are the span records that MaxSpans removed while they were within the window.
	Spans uint64
	// Logs are the log records that MaxLogs removed while they were within the window.
	Logs uint64
}

// Kind says how a series' values are to be read.
type Kind uint8

const (
	// Gauge values are drawn as they are.
	Gauge Kind = iota
	// Cumulative values are monotonic running totals; panels draw their rate or increments.
	Cumulative
)

// Series is one metric stream: a metric name plus the attributes that tell its streams apart.
type Series struct {
	Key    string
	Metric string
	// Label names the stream in a legend (for example "GPU 0" or "slot 1"); "" for a single stream.
	Label string
	// Attrs are the identifying attributes (resource and point), as strings.
	Attrs map[string]string
	Unit  string
	Kind  Kind
	// T are timestamps in Unix milliseconds, ascending; V the values.
	T []int64
	V []float64
}

// Len is the number of points.
func (s *Series) Len() int { return len(s.T) }

// Last returns the newest value, or false when the series is empty.
func (s *Series) Last() (int64, float64, bool) {
	if len(s.T) == 0 {
		return 0, 0, false
	}
	return s.T[len(s.T)-1], s.V[len(s.V)-1], true
}

// Hist is the newest state of one histogram stream (for example gen_ai.server.request.duration):
// bucket counts accumulated over the stream's life when it is delta, as reported when cumulative.
type Hist struct {
	Key    string
	Metric string
	Attrs  map[string]string
	Unit   string
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
	// T is the newest point's timestamp in Unix milliseconds.
	T int64
}

// Store is safe for concurrent use.
type Store struct {
	lim Limits
	now func() time.Time

	mu      sync.Mutex
	series  map[string]*Series
	hists   map[string]*Hist
	spans   spanList
	logs    []Log // ring
	logNext int
	logFull bool

	droppedSeriesPoints uint64
	droppedOldPoints    uint64
	evictedLogs         uint64

	// attention holds the newest attention samples, by request start (see AddAttention);
	// attentionRejected counts the samples not kept, by reason.
	attention         []*AttentionSample
	attentionRejected map[string]uint64
	// models holds the facts of the served models by name (see SetModelFacts).
	models map[string]*ModelFacts
}

// New returns an empty store.
func New(lim Limits) *Store {
	if lim.MaxPoints < 3 {
		lim.MaxPoints = 3
	}
	return &Store{
		lim:    lim,
		now:    time.Now,
		series: map[string]*Series{},
		hists:  map[string]*Hist{},
		spans:  spanList{max: lim.MaxSpans},
		logs:   make([]Log, 0, min(lim.MaxLogs, 1024)),
	}
}

// SetClock replaces the wall clock (tests feeding hours of data in a moment).
func (s *Store) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Point is one metric value to add.
type Point struct {
	Key, Metric, Label, Unit string
	Attrs                    map[string]string
	Kind                     Kind
	TimeMs                   int64
	Value                    float64
}

// AddPoints appends points. A point older than the retention window is ignored.
func (s *Store) AddPoints(pts []Point) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := s.now().Add(-s.lim.Retention).UnixMilli()
	for i := range pts {
		p := &pts[i]
		if p.TimeMs < cutoff {
			s.droppedOldPoints++
			continue
		}
		ser := s.series[p.Key]
		if ser == nil {
			if len(s.series) >= s.lim.MaxSeries {
				s.pruneEmptySeries(cutoff)
				if len(s.series) >= s.lim.MaxSeries {
					s.droppedSeriesPoints++
					continue
				}
			}
			ser = &Series{Key: p.Key, Metric: p.Metric, Label: p.Label, Attrs: p.Attrs, Unit: p.Unit, Kind: p.Kind}
			s.series[p.Key] = ser
		}
		s.appendPoint(ser, p.TimeMs, p.Value, cutoff)
	}
}

func (s *Store) appendPoint(ser *Series, t int64, v float64, cutoff int64) {
	n := len(ser.T)
	switch {
	case n == 0 || t > ser.T[n-1]:
		ser.T = append(ser.T, t)
		ser.V = append(ser.V, v)
	case t == ser.T[n-1]:
		// A repeated timestamp replaces the value: copy on write keeps snapshots intact.
		ser.T = slices.Clone(ser.T)
		ser.V = slices.Clone(ser.V)
		ser.V[n-1] = v
	default:
		i := sort.Search(n, func(i int) bool { return ser.T[i] >= t })
		if ser.T[i] == t {
			return
		}
		nt := make([]int64, 0, n+1)
		nv := make([]float64, 0, n+1)
		nt = append(append(append(nt, ser.T[:i]...), t), ser.T[i:]...)
		nv = append(append(append(nv, ser.V[:i]...), v), ser.V[i:]...)
		ser.T, ser.V = nt, nv
	}
	// Drop what fell out of the window (re-slicing only; the array is shared with snapshots).
	if ser.T[0] < cutoff {
		k := sort.Search(len(ser.T), func(i int) bool { return ser.T[i] >= cutoff })
		ser.T, ser.V = ser.T[k:], ser.V[k:]
	}
	if len(ser.T) >= 2*s.lim.MaxPoints {
		s.compact(ser)
	}
}

// compact thins the older part of a series with LTTB and keeps the newest quarter exact, so the
// live panels keep full resolution where it matters. The result is a new array.
func (s *Store) compact(ser *Series) {
	n := len(ser.T)
	keep := s.lim.MaxPoints / 4
	old := n - keep
	target := s.lim.MaxPoints - keep
	xs := make([]float64, old)
	for i := range old {
		xs[i] = float64(ser.T[i])
	}
	ox, oy := downsample.LTTB(xs, ser.V[:old], target)
	nt := make([]int64, 0, len(ox)+keep+s.lim.MaxPoints/2)
	nv := make([]float64, 0, cap(nt))
	for i := range ox {
		nt = append(nt, int64(ox[i]))
	}
	nv = append(nv, oy...)
	nt = append(nt, ser.T[old:]...)
	nv = append(nv, ser.V[old:]...)
	ser.T, ser.V = nt, nv
}

func (s *Store) pruneEmptySeries(cutoff int64) {
	for k, ser := range s.series {
		if n := len(ser.T); n == 0 || ser.T[n-1] < cutoff {
			delete(s.series, k)
		}
	}
	for k, h := range s.hists {
		if h.T < cutoff {
			delete(s.hists, k)
		}
	}
}

// SetHist records the newest state of a histogram stream. When delta is true the counts are
// added to what the stream had; otherwise they replace it.
func (s *Store) SetHist(h Hist, delta bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.hists[h.Key]
	if old == nil && len(s.hists) >= s.lim.MaxSeries {
		s.droppedSeriesPoints++
		return
	}
	if delta && old != nil && slices.Equal(old.Bounds, h.Bounds) && len(old.Counts) == len(h.Counts) {
		counts := slices.Clone(old.Counts)
		for i := range counts {
			counts[i] += h.Counts[i]
		}
		h.Counts = counts
		h.Count += old.Count
		h.Sum += old.Sum
	}
	s.hists[h.Key] = &h
}

// AddSpans appends span records.
func (s *Store) AddSpans(recs []Span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := s.now().Add(-s.lim.Retention).UnixNano()
	for i := range recs {
		s.spans.add(recs[i], cutoff)
	}
	s.spans.prune(cutoff)
}

// AddLogs appends log records.
func (s *Store) AddLogs(recs []Log) {
	if s.lim.MaxLogs == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := s.now().Add(-s.lim.Retention).UnixNano()
	for _, r := range recs {
		if len(s.logs) < s.lim.MaxLogs {
			s.logs = append(s.logs, r)
			continue
		}
		if s.logs[s.logNext].TimeNs >= cutoff {
			s.evictedLogs++
		}
		s.logs[s.logNext] = r
		s.logNext = (s.logNext + 1) % s.lim.MaxLogs
		s.logFull = true
	}
}

// Stats describes what a store holds (for tests and the exporter's debug logs).
type Stats struct {
	Series, Points, Hists, Spans, Logs int
	DroppedSeriesPoints                uint64
}

// Stats counts what the store holds now.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Series: len(s.series), Hists: len(s.hists), Spans: s.spans.len(), Logs: len(s.logs),
		DroppedSeriesPoints: s.droppedSeriesPoints}
	for _, ser := range s.series {
		st.Points += len(ser.T)
	}
	return st
}

// Dropped counts what the store did not keep since it was made.
func (s *Store) Dropped() Dropped {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Dropped{SeriesPoints: s.droppedSeriesPoints, OldPoints: s.droppedOldPoints,
		Spans: s.spans.evicted, Logs: s.evictedLogs}
}

// Snapshot is a consistent, read-only view of the store at one moment.
type Snapshot struct {
	// Now is when the snapshot was taken; From is Now minus the retention.
	Now, From time.Time
	// Series by metric name; each list is sorted by Label.
	Series map[string][]*Series
	// Hists by metric name.
	Hists map[string][]*Hist
	// Spans in arrival order, within the window.
	Spans SpanView
	// Logs, oldest first, within the window.
	Logs []Log
	// Attention are the attention samples whose span ended within the window, by the sampled
	// request's start, the newest last.
	Attention []*AttentionSample
	// Models are the facts of the models seen within the window, by name.
	Models []ModelFacts
}

// Snapshot returns a view of the current data.
func (s *Store) Snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	from := now.Add(-s.lim.Retention)
	cutoffMs := from.UnixMilli()
	snap := &Snapshot{Now: now, From: from, Series: map[string][]*Series{}, Hists: map[string][]*Hist{}}
	for _, ser := range s.series {
		k := sort.Search(len(ser.T), func(i int) bool { return ser.T[i] >= cutoffMs })
		if k == len(ser.T) {
			continue
		}
		c := *ser
		c.T, c.V = ser.T[k:len(ser.T):len(ser.T)], ser.V[k:len(ser.V):len(ser.V)]
		snap.Series[ser.Metric] = append(snap.Series[ser.Metric], &c)
	}
	for _, list := range snap.Series {
		sort.Slice(list, func(i, j int) bool {
			return list[i].Label < list[j].Label || (list[i].Label == list[j].Label && list[i].Key < list[j].Key)
		})
	}
	for _, h := range s.hists {
		if h.T >= cutoffMs {
			c := *h
			snap.Hists[h.Metric] = append(snap.Hists[h.Metric], &c)
		}
	}
	for _, list := range snap.Hists {
		sort.Slice(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	}
	snap.Spans = s.spans.view(from.UnixNano())
	logs := make([]Log, 0, len(s.logs))
	if s.logFull {
		logs = append(logs, s.logs[s.logNext:]...)
		logs = append(logs, s.logs[:s.logNext]...)
	} else {
		logs = append(logs, s.logs...)
	}
	cut := from.UnixNano()
	snap.Logs = slices.DeleteFunc(logs, func(l Log) bool { return l.TimeNs < cut })
	for _, a := range s.attention {
		if a.EndNs >= cut {
			snap.Attention = append(snap.Attention, a)
		}
	}
	snap.Models = s.modelsView(cut)
	return snap
}
