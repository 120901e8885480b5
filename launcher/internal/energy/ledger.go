// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package energy splits the energy and time of the launcher's GPUs among the requests its
// llama-server serves: the ledger behind launcherapi.EnergyLedger.
//
// # The split rule
//
// The GPUs are read (energy counter, utilization) when the first request begins after an idle
// time, every second while a request is open or a period waits, and when the last one ends, but
// never twice within a second: reading the energy counter costs about 4 ms of CPU on an H200, so
// at most 0.4% of a core goes to it under any load, and nothing while idle. The readings of the
// nvml receiver's scrapes are used too. Two readings in a row bound a period. For each period
// and each GPU:
//
//   - ΔE is the counter's increase; the GPU time is the utilization read at the period's end
//     times the period's length.
//   - A request takes part in the period when its time at the gateway overlaps it. Its
//     processing is laid out from llama-server's timings, back to back and ending when its answer
//     ended: prompt_n tokens evenly over prompt_ms, then predicted_n tokens evenly over
//     predicted_ms. Without timings, its tokens (or 1) are spread over its whole time at the
//     gateway.
//   - A period in which no request took part is idle; its power is the GPU's idle power (the
//     latest such period's ΔE / length).
//   - In a period with requests, the time covered by no request's processing is idle: it gets
//     the idle power times that time (at most ΔE; ΔE × that time's share of the period while no
//     idle power is known). The rest of ΔE goes to the requests, in proportion to the tokens
//     each processed within the period. GPU time goes to the requests in proportion to the
//     covered time's share of the period, then alike.
//   - A period is split once every request in it has its timeline. A period whose requests are
//     not all complete maxWait after it ended is split by time instead: each request weighs the
//     time it was processing (or, if still open, at the gateway) within the period.
//
// Every period's ΔE goes once to requests or idle, so the requests' energy plus idle equals the
// counters' increase since the first reading. A request's result is final when it is complete,
// a reading at or after its end exists, and every period it took part in is split.
package energy // import "github.com/llamatelemetry/otelcol-llt/launcher/internal/energy"

import (
	"sort"
	"sync"
	"time"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

const (
	// DefaultMaxWait is how long a period waits for the timelines of its requests.
	DefaultMaxWait = 10 * time.Second
	// minGap is the least time between two readings the ledger takes itself (see the package
	// documentation for why).
	minGap = time.Second
	// openEvery is how often the GPUs are read while a request is open or a period waits.
	openEvery = time.Second
	// forgetAfter drops a final result nobody took, and a request never ended, after this many
	// maxWait.
	forgetAfter = 6
)

// Ledger implements launcherapi.EnergyLedger. The zero value is not usable: use New.
type Ledger struct {
	maxWait time.Duration
	now     func() time.Time

	mu       sync.Mutex
	meter    launcherapi.GPUMeter
	gpus     []launcherapi.GPU
	nextID   uint64
	reqs     map[uint64]*request
	running  int // requests whose answer has not ended
	last     *reading
	lastRead time.Time // when the ledger last read the meter itself
	open     []*period
	// settleLocked does work only when dirty (a reading or a timeline came) or nextForce passed,
	// and sweeps stale requests once a second.
	dirty     bool
	nextForce time.Time
	lastSweep time.Time
	totals    []launcherapi.GPUEnergyTotals
	idleW     []float64 // idle power per GPU, W; negative while unknown
	readErrs  int
	// manual: AttachMeter starts no reading goroutine (tests read with read).
	manual bool

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

var _ launcherapi.EnergyLedger = (*Ledger)(nil)

type reading struct {
	t    time.Time
	e    []uint64
	util []float64
}

type request struct {
	begin, end time.Time // end is zero while the answer runs
	completed  bool
	tl         launcherapi.Timeline
	pending    int  // periods the request is in that are not split yet
	covered    bool // a reading at or after end exists
	res        launcherapi.RequestEnergy
	finalAt    time.Time
}

type period struct {
	t0, t1  time.Time
	dE      []float64 // J per GPU
	gpuTime []float64 // s per GPU
	reqs    []uint64
}

// New returns a ledger whose periods wait at most maxWait (0: DefaultMaxWait) for their
// requests' timelines.
func New(maxWait time.Duration) *Ledger {
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	return &Ledger{maxWait: maxWait, now: time.Now, reqs: map[uint64]*request{}}
}

// AttachMeter implements launcherapi.EnergyLedger. It starts the goroutine that reads the
// meter; detach stops it and forgets every request and reading.
func (l *Ledger) AttachMeter(m launcherapi.GPUMeter) (detach func()) {
	l.mu.Lock()
	l.detachLocked()
	l.meter, l.gpus = m, m.GPUs()
	l.totals = make([]launcherapi.GPUEnergyTotals, len(l.gpus))
	l.idleW = make([]float64, len(l.gpus))
	for i, g := range l.gpus {
		l.totals[i].GPU = g
		l.idleW[i] = -1
	}
	l.kick, l.stop, l.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	stop, done, kick := l.stop, l.done, l.kick
	manual := l.manual
	l.mu.Unlock()
	if manual {
		close(done)
	} else {
		go l.run(m, kick, stop, done)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			if l.meter == m {
				l.detachLocked()
			}
			l.mu.Unlock()
			<-done
		})
	}
}

// detachLocked stops the reading goroutine (without waiting) and forgets everything.
func (l *Ledger) detachLocked() {
	if l.stop != nil {
		close(l.stop)
	}
	l.meter, l.gpus, l.totals, l.last, l.open, l.idleW = nil, nil, nil, nil, nil, nil
	l.stop, l.kick = nil, nil
	clear(l.reqs)
	l.running = 0
}

// GPUs implements launcherapi.EnergyLedger.
func (l *Ledger) GPUs() []launcherapi.GPU {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gpus
}

// Observe implements launcherapi.EnergyLedger.
func (l *Ledger) Observe(t time.Time, readings []launcherapi.GPUReading) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(t, readings)
	l.settleLocked(l.now())
}

// Begin implements launcherapi.EnergyLedger.
func (l *Ledger) Begin(t time.Time) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.meter == nil {
		return 0
	}
	if l.last != nil && t.Before(l.last.t) {
		// A reading was taken between the request's start and this call: the request starts in
		// the next period, which loses nothing since it had processed nothing yet.
		t = l.last.t
	}
	l.nextID++
	if !l.openLocked() {
		l.kickLocked() // busy after idle: read now, so that the idle time ends here
	}
	l.reqs[l.nextID] = &request{begin: t}
	l.running++
	return l.nextID
}

// End implements launcherapi.EnergyLedger.
func (l *Ledger) End(id uint64, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.reqs[id]
	if r == nil || !r.end.IsZero() {
		return
	}
	if t.Before(r.begin) {
		t = r.begin
	}
	r.end = t
	l.running--
	if l.last != nil && !t.After(l.last.t) {
		r.covered = true
	}
	if !l.openLocked() {
		l.kickLocked() // the last open request ended: read, so that the idle time starts here
	}
}

// openLocked reports whether a request's answer is still running.
func (l *Ledger) openLocked() bool { return l.running > 0 }

// Complete implements launcherapi.EnergyLedger.
func (l *Ledger) Complete(id uint64, tl launcherapi.Timeline) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.reqs[id]
	if r == nil || r.completed {
		return
	}
	r.completed, r.tl = true, tl
	l.dirty = true
	l.settleLocked(l.now())
	l.finalLocked(r)
}

// Result implements launcherapi.EnergyLedger.
func (l *Ledger) Result(id uint64) (e launcherapi.RequestEnergy, ready, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.reqs[id]
	if r == nil {
		return e, true, false
	}
	l.settleLocked(l.now())
	if !l.finalLocked(r) {
		return e, false, true
	}
	delete(l.reqs, id)
	return r.res, true, true
}

// Totals implements launcherapi.EnergyLedger.
func (l *Ledger) Totals() []launcherapi.GPUEnergyTotals {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]launcherapi.GPUEnergyTotals(nil), l.totals...)
}

// ReadErrors is the number of meter reads that failed.
func (l *Ledger) ReadErrors() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.readErrs
}

func (l *Ledger) kickLocked() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// finalLocked reports whether r's result is final, noting when it became so.
func (l *Ledger) finalLocked(r *request) bool {
	final := r.completed && r.covered && r.pending == 0
	if final && r.finalAt.IsZero() {
		r.finalAt = l.now()
	}
	return final
}

// run reads the meter when a request begins or ends (at most every minGap), and every openEvery
// while anything is open.
func (l *Ledger) run(m launcherapi.GPUMeter, kick, stop, done chan struct{}) {
	defer close(done)
	timer := time.NewTimer(openEvery)
	defer timer.Stop()
	for {
		select {
		case <-stop:
			return
		case <-kick:
		case <-timer.C:
		}
		l.mu.Lock()
		wait := minGap - l.now().Sub(l.lastRead)
		l.mu.Unlock()
		if wait > 0 {
			select {
			case <-stop:
				return
			case <-time.After(wait):
			}
		}
		l.read(m)
		l.mu.Lock()
		busy := len(l.reqs) > 0 || len(l.open) > 0
		l.mu.Unlock()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if busy {
			timer.Reset(openEvery)
		}
	}
}

// read reads m once and adds the reading.
func (l *Ledger) read(m launcherapi.GPUMeter) {
	rs, err := m.Read()
	t := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.meter != m {
		return
	}
	l.lastRead = t
	if err != nil {
		l.readErrs++
		return
	}
	l.addLocked(t, rs)
	l.settleLocked(t)
}

// addLocked closes the period that ends with this reading.
func (l *Ledger) addLocked(t time.Time, rs []launcherapi.GPUReading) {
	if l.meter == nil || len(rs) != len(l.gpus) {
		return
	}
	cur := &reading{t: t, e: make([]uint64, len(rs)), util: make([]float64, len(rs))}
	for i, r := range rs {
		cur.e[i], cur.util[i] = r.EnergyMJ, r.Utilization
	}
	prev := l.last
	if prev != nil && !t.After(prev.t) {
		return // out of order: a reading of the same moment was taken meanwhile
	}
	for i := range cur.util {
		if cur.util[i] < 0 && prev != nil { // unknown (an observed reading): carry the last one over
			cur.util[i] = prev.util[i]
		}
	}
	l.last = cur
	if prev == nil {
		return
	}
	p := &period{t0: prev.t, t1: t, dE: make([]float64, len(rs)), gpuTime: make([]float64, len(rs))}
	dt := t.Sub(prev.t).Seconds()
	for i := range rs {
		if cur.e[i] >= prev.e[i] { // a counter that went back (driver reloaded) gives nothing
			p.dE[i] = float64(cur.e[i]-prev.e[i]) / 1000
		}
		p.gpuTime[i] = max(cur.util[i], 0) * dt
	}
	for id, r := range l.reqs {
		if !r.end.IsZero() && !r.end.After(t) {
			r.covered = true
		}
		if !r.begin.Before(t) || (!r.end.IsZero() && !r.end.After(prev.t)) {
			continue
		}
		p.reqs = append(p.reqs, id)
		r.pending++
	}
	if len(p.reqs) == 0 {
		for i := range l.totals {
			l.totals[i].IdleJoules += p.dE[i]
			if cur.e[i] >= prev.e[i] && dt > 0 {
				l.idleW[i] = p.dE[i] / dt
			}
		}
		return
	}
	sort.Slice(p.reqs, func(i, j int) bool { return p.reqs[i] < p.reqs[j] })
	l.open = append(l.open, p)
	l.dirty = true
}

// settleLocked splits every period that can be, and forgets what is stale.
func (l *Ledger) settleLocked(now time.Time) {
	if l.dirty || (!l.nextForce.IsZero() && !now.Before(l.nextForce)) {
		l.splitDueLocked(now)
	}
	if now.Sub(l.lastSweep) < time.Second {
		return
	}
	l.lastSweep = now
	stale := l.maxWait * forgetAfter
	for id, r := range l.reqs {
		if (!r.finalAt.IsZero() && now.Sub(r.finalAt) > stale) ||
			(r.end.IsZero() && now.Sub(r.begin) > stale*10 && r.pending == 0) {
			if r.end.IsZero() {
				l.running--
			}
			delete(l.reqs, id)
		}
	}
}

// splitDueLocked splits the open periods whose requests are all complete, or that waited
// maxWait.
func (l *Ledger) splitDueLocked(now time.Time) {
	l.dirty, l.nextForce = false, time.Time{}
	kept := l.open[:0]
	for _, p := range l.open {
		complete := true
		for _, id := range p.reqs {
			if r := l.reqs[id]; r != nil && !r.completed {
				complete = false
				break
			}
		}
		switch {
		case complete:
			l.splitLocked(p, false)
		case now.Sub(p.t1) >= l.maxWait:
			l.splitLocked(p, true)
		default:
			kept = append(kept, p)
			if force := p.t1.Add(l.maxWait); l.nextForce.IsZero() || force.Before(l.nextForce) {
				l.nextForce = force
			}
		}
	}
	clear(l.open[len(kept):])
	l.open = kept
}

// splitLocked gives p's energy and GPU time to its requests and idle (the rule in the package
// documentation); byTime splits by time whatever the timelines.
func (l *Ledger) splitLocked(p *period, byTime bool) {
	type part struct {
		r    *request
		segs []segment
	}
	parts := make([]part, 0, len(p.reqs))
	var all []segment
	for _, id := range p.reqs {
		r := l.reqs[id]
		if r == nil {
			continue
		}
		r.pending--
		segs := r.segments(p.t1)
		parts = append(parts, part{r, segs})
		all = append(all, segs...)
		if byTime {
			r.res.ByTime = true
		}
	}
	busy := union(all, p.t0, p.t1)
	dt := p.t1.Sub(p.t0).Seconds()
	w := make([]float64, len(parts))
	var sum float64
	if !byTime {
		for i, pt := range parts {
			for _, s := range pt.segs {
				w[i] += s.tokensIn(p.t0, p.t1)
			}
			sum += w[i]
		}
	}
	if sum == 0 { // by time: nothing counted tokens here
		for i, pt := range parts {
			w[i] = union(pt.segs, p.t0, p.t1)
			sum += w[i]
		}
	}
	share := 0.0
	if sum > 0 && dt > 0 {
		share = busy / dt
	}
	for g := range p.dE {
		toReqs := p.dE[g] * share
		if share > 0 && share < 1 && l.idleW[g] >= 0 {
			toReqs = max(p.dE[g]-l.idleW[g]*(dt-busy), 0)
		}
		l.totals[g].RequestJoules += toReqs
		l.totals[g].IdleJoules += p.dE[g] - toReqs
		for i, pt := range parts {
			if w[i] == 0 {
				continue
			}
			pt.r.res.Joules += toReqs * w[i] / sum
			pt.r.res.GPUSeconds += p.gpuTime[g] * share * w[i] / sum
		}
	}
	for _, pt := range parts {
		l.finalLocked(pt.r)
	}
}

// segment is a stretch of time in which tokens were processed evenly.
type segment struct {
	from, to time.Time
	tokens   float64
}

// tokensIn is the part of s's tokens processed in [t0, t1). A segment of no length counts
// wholly in the period that holds its moment.
func (s segment) tokensIn(t0, t1 time.Time) float64 {
	if !s.to.After(s.from) {
		if !s.from.Before(t0) && s.from.Before(t1) {
			return s.tokens
		}
		return 0
	}
	return s.tokens * overlap(s.from, s.to, t0, t1) / s.to.Sub(s.from).Seconds()
}

// segments lays out r's processing: from its timings when complete; else (split by time) its
// time at the gateway until its end or until.
func (r *request) segments(until time.Time) []segment {
	if !r.completed {
		end := r.end
		if end.IsZero() || end.After(until) {
			end = until
		}
		return []segment{{r.begin, end, 0}}
	}
	end := r.tl.End
	if end.IsZero() {
		end = r.end
	}
	if end.Before(r.begin) {
		end = r.begin
	}
	if !r.tl.HasTimings {
		return []segment{{r.begin, end, float64(max(r.tl.PromptTokens+r.tl.OutputTokens, 1))}}
	}
	decode := later(end.Add(-r.tl.OutputDuration), r.begin)
	prompt := later(decode.Add(-r.tl.PromptDuration), r.begin)
	return []segment{
		{prompt, decode, float64(max(r.tl.PromptTokens, 0))},
		{decode, end, float64(max(r.tl.OutputTokens, 0))},
	}
}

func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// overlap is the length in seconds of [a0, a1) ∩ [b0, b1).
func overlap(a0, a1, b0, b1 time.Time) float64 {
	from, to := later(a0, b0), a1
	if b1.Before(to) {
		to = b1
	}
	if !to.After(from) {
		return 0
	}
	return to.Sub(from).Seconds()
}

// union is the length in seconds of the union of segs within [t0, t1).
func union(segs []segment, t0, t1 time.Time) float64 {
	type span struct{ from, to time.Time }
	var in []span
	for _, s := range segs {
		from, to := later(s.from, t0), s.to
		if t1.Before(to) {
			to = t1
		}
		if to.After(from) {
			in = append(in, span{from, to})
		}
	}
	sort.Slice(in, func(i, j int) bool { return in[i].from.Before(in[j].from) })
	var total float64
	var cur span
	for i, s := range in {
		switch {
		case i == 0:
			cur = s
		case !s.from.After(cur.to):
			if s.to.After(cur.to) {
				cur.to = s.to
			}
		default:
			total += cur.to.Sub(cur.from).Seconds()
			cur = s
		}
	}
	if len(in) > 0 {
		total += cur.to.Sub(cur.from).Seconds()
	}
	return total
}
