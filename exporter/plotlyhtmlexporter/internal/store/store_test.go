// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestStore(lim Limits) (*Store, *clock) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := New(lim)
	s.SetClock(c.now)
	return s, c
}

func gauge(key string, t time.Time, v float64) Point {
	return Point{Key: key, Metric: "m", Label: key, TimeMs: t.UnixMilli(), Value: v}
}

func TestAppendOrderAndReplace(t *testing.T) {
	s, c := newTestStore(Limits{Retention: time.Hour, MaxPoints: 100, MaxSeries: 10, MaxSpans: 10, MaxLogs: 10})
	t0 := c.t.Add(-time.Minute)
	s.AddPoints([]Point{gauge("a", t0, 1), gauge("a", t0.Add(2*time.Second), 3)})
	snap1 := s.Snapshot()
	// Out of order, then a repeated timestamp: both must leave the earlier snapshot untouched.
	s.AddPoints([]Point{gauge("a", t0.Add(time.Second), 2), gauge("a", t0.Add(2*time.Second), 30)})
	snap2 := s.Snapshot()
	if got := snap1.Series["m"][0].V; len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("first snapshot changed: %v", got)
	}
	a := snap2.Series["m"][0]
	if fmt.Sprint(a.V) != "[1 2 30]" {
		t.Fatalf("values = %v, want [1 2 30]", a.V)
	}
	if a.T[0] >= a.T[1] || a.T[1] >= a.T[2] {
		t.Fatalf("times not ascending: %v", a.T)
	}
}

func TestRetentionDropsOldData(t *testing.T) {
	s, c := newTestStore(Limits{Retention: 10 * time.Minute, MaxPoints: 1000, MaxSeries: 10, MaxSpans: 1000, MaxLogs: 10})
	s.AddPoints([]Point{gauge("a", c.t.Add(-11*time.Minute), 1)}) // already outside: ignored
	s.AddPoints([]Point{gauge("a", c.t.Add(-5*time.Minute), 2)})
	sp := NewSpan()
	sp.StartNs, sp.EndNs = c.t.Add(-5*time.Minute).UnixNano(), c.t.Add(-5*time.Minute).UnixNano()
	s.AddSpans([]Span{sp})
	s.AddLogs([]Log{{TimeNs: c.t.Add(-5 * time.Minute).UnixNano(), Body: "x"}})
	if snap := s.Snapshot(); len(snap.Series["m"]) != 1 || snap.Series["m"][0].Len() != 1 || snap.Spans.Len() != 1 || len(snap.Logs) != 1 {
		t.Fatalf("snapshot before expiry: %+v", snap)
	}
	c.t = c.t.Add(6 * time.Minute)
	snap := s.Snapshot()
	if len(snap.Series["m"]) != 0 || snap.Spans.Len() != 0 || len(snap.Logs) != 0 {
		t.Fatalf("data older than the retention is still shown: series=%d spans=%d logs=%d",
			len(snap.Series["m"]), snap.Spans.Len(), len(snap.Logs))
	}
}

func TestMaxSeries(t *testing.T) {
	s, c := newTestStore(Limits{Retention: time.Hour, MaxPoints: 100, MaxSeries: 3, MaxSpans: 10, MaxLogs: 10})
	for i := range 5 {
		s.AddPoints([]Point{gauge(fmt.Sprint(i), c.t, 1)})
	}
	st := s.Stats()
	if st.Series != 3 || st.DroppedSeriesPoints != 2 {
		t.Fatalf("stats = %+v, want 3 series and 2 dropped points", st)
	}
}

// Dropped counts what the bounds refuse or remove within the window, by kind, and not what ages
// out of it.
func TestDropped(t *testing.T) {
	s, c := newTestStore(Limits{Retention: time.Hour, MaxPoints: 100, MaxSeries: 2, MaxSpans: 10, MaxLogs: 3})
	for i := range 4 {
		s.AddPoints([]Point{gauge(fmt.Sprint(i), c.t, 1)}) // series 2 and 3 are beyond max_series
	}
	for i := range 3 {
		s.SetHist(Hist{Key: fmt.Sprint(i), Metric: "d", T: c.t.UnixMilli()}, false) // so is a third histogram stream
	}
	s.AddPoints([]Point{gauge("0", c.t.Add(-2*time.Hour), 1)}) // older than the window
	spans := make([]Span, chunkSize+10)
	for i := range spans {
		spans[i] = NewSpan()
		spans[i].EndNs = c.t.UnixNano()
	}
	spans[0].EndNs = c.t.Add(-2 * time.Hour).UnixNano() // out of the window already: not counted
	s.AddSpans(spans)                                   // the first chunk goes when the second holds max_spans
	logs := make([]Log, 5)
	for i := range logs {
		logs[i].TimeNs = c.t.UnixNano()
	}
	logs[1].TimeNs = c.t.Add(-2 * time.Hour).UnixNano() // overwritten after it aged out: not counted
	s.AddLogs(logs)
	want := Dropped{SeriesPoints: 3, OldPoints: 1, Spans: chunkSize - 1, Logs: 1}
	if got := s.Dropped(); got != want {
		t.Fatalf("Dropped() = %+v, want %+v", got, want)
	}
}

func TestSpanBoundAndOrder(t *testing.T) {
	s, c := newTestStore(Limits{Retention: time.Hour, MaxPoints: 100, MaxSeries: 3, MaxSpans: 5000, MaxLogs: 10})
	for i := range 12000 {
		sp := NewSpan()
		sp.Name = fmt.Sprint(i)
		sp.StartNs = c.t.UnixNano() + int64(i)
		sp.EndNs = sp.StartNs + 1
		s.AddSpans([]Span{sp})
	}
	snap := s.Snapshot()
	var names []string
	snap.Spans.Each(func(sp *Span) bool { names = append(names, sp.Name); return true })
	if len(names) != 5000 || names[0] != "7000" || names[4999] != "11999" {
		t.Fatalf("kept %d spans from %s to %s, want the newest 5000 (7000..11999)", len(names), names[0], names[len(names)-1])
	}
}

func TestHistDeltaAccumulates(t *testing.T) {
	s, c := newTestStore(Limits{Retention: time.Hour, MaxPoints: 100, MaxSeries: 3, MaxSpans: 10, MaxLogs: 10})
	h := Hist{Key: "h", Metric: "lat", Bounds: []float64{1}, Counts: []uint64{1, 2}, Count: 3, Sum: 4, T: c.t.UnixMilli()}
	s.SetHist(h, true)
	h.Counts = []uint64{1, 0}
	h.Count, h.Sum = 1, 0.5
	s.SetHist(h, true)
	got := s.Snapshot().Hists["lat"][0]
	if got.Count != 4 || got.Counts[0] != 2 || got.Counts[1] != 2 || got.Sum != 4.5 {
		t.Fatalf("delta histogram = %+v", got)
	}
}

func TestLogRing(t *testing.T) {
	s, c := newTestStore(Limits{Retention: time.Hour, MaxPoints: 100, MaxSeries: 3, MaxSpans: 10, MaxLogs: 3})
	for i := range 7 {
		s.AddLogs([]Log{{TimeNs: c.t.UnixNano() + int64(i), Body: fmt.Sprint(i)}})
	}
	logs := s.Snapshot().Logs
	if len(logs) != 3 || logs[0].Body != "4" || logs[2].Body != "6" {
		t.Fatalf("logs = %+v, want the newest three in order", logs)
	}
}

// An hour of synthetic telemetry, then two more: the store's size must stop growing once the
// retention window is full, whatever the uptime.
func TestMemoryBoundedOverHours(t *testing.T) {
	lim := Limits{Retention: time.Hour, MaxPoints: 500, MaxSeries: 100, MaxSpans: 20_000, MaxLogs: 500}
	s, c := newTestStore(lim)
	start := c.t
	const seriesN = 20
	feed := func(from, to time.Duration) {
		for d := from; d < to; d += time.Second {
			c.t = start.Add(d)
			pts := make([]Point, 0, seriesN)
			for k := range seriesN {
				pts = append(pts, Point{Key: fmt.Sprint(k), Metric: fmt.Sprint("m", k%5), TimeMs: c.t.UnixMilli(), Value: math.Sin(float64(d) / 1e10)})
			}
			s.AddPoints(pts)
			spans := make([]Span, 10)
			for i := range spans {
				spans[i] = NewSpan()
				spans[i].Name = "chat tiny"
				spans[i].StartNs = c.t.UnixNano() - 1e8
				spans[i].EndNs = c.t.UnixNano()
			}
			s.AddSpans(spans)
			s.AddLogs([]Log{{TimeNs: c.t.UnixNano(), Body: "slot update"}})
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	base := heap()
	feed(0, time.Hour)
	afterOne := heap() - min(base, heap())
	st := s.Stats()
	if st.Spans > lim.MaxSpans || st.Logs > lim.MaxLogs || st.Series != seriesN {
		t.Fatalf("after 1h: %+v", st)
	}
	if st.Points > seriesN*2*lim.MaxPoints {
		t.Fatalf("after 1h: %d points, bound is %d", st.Points, seriesN*2*lim.MaxPoints)
	}
	feed(time.Hour, 3*time.Hour)
	afterThree := heap() - min(base, heap())
	st = s.Stats()
	if st.Spans > lim.MaxSpans || st.Logs > lim.MaxLogs || st.Points > seriesN*2*lim.MaxPoints {
		t.Fatalf("after 3h: %+v", st)
	}
	for _, list := range s.Snapshot().Series {
		for _, ser := range list {
			if ser.Len() > 2*lim.MaxPoints {
				t.Fatalf("series %s has %d points, bound %d", ser.Key, ser.Len(), 2*lim.MaxPoints)
			}
			if first := time.UnixMilli(ser.T[0]); first.Before(c.t.Add(-lim.Retention)) {
				t.Fatalf("series %s keeps a point from %v, outside the window", ser.Key, first)
			}
		}
	}
	// The spans dominate: 20k records of ~200 bytes. After three hours the heap must be about
	// what it was after one (a little slack for chunk and slice growth).
	t.Logf("heap after 1h: %d KiB, after 3h: %d KiB, stats %+v", afterOne>>10, afterThree>>10, st)
	if afterThree > afterOne+afterOne/4+(1<<20) {
		t.Fatalf("heap grew from %d KiB after 1h to %d KiB after 3h", afterOne>>10, afterThree>>10)
	}
	if afterThree > 32<<20 {
		t.Fatalf("heap %d MiB is more than the bounds allow", afterThree>>20)
	}
}
