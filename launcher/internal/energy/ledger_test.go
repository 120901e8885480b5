// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package energy

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// scriptedGPU is a fake GPU whose power (and so its energy counter, the integral of power, as
// nvmlDeviceGetTotalEnergyConsumption counts it in mJ) and utilization are scripted as steps
// over a fake clock.
type scriptedGPU struct {
	mu    sync.Mutex
	clock *fakeClock
	steps []step // in time order; the last one lasts forever
	e0    uint64 // counter at steps[0].from, mJ
	reads int
	fail  bool
}

type step struct {
	from  float64 // s after the clock's origin
	watts float64
	util  float64
}

func (g *scriptedGPU) GPUs() []launcherapi.GPU {
	return []launcherapi.GPU{{ID: "GPU-5a1e0000-0000-4000-8000-000000000001", Name: "gpu0", Model: "NVIDIA Fake", Index: 0}}
}

func (g *scriptedGPU) Read() ([]launcherapi.GPUReading, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reads++
	if g.fail {
		return nil, assert.AnError
	}
	t := g.clock.seconds()
	mj := float64(g.e0)
	util := 0.0
	for i, s := range g.steps {
		if t <= s.from {
			break
		}
		end := t
		if i+1 < len(g.steps) && g.steps[i+1].from < t {
			end = g.steps[i+1].from
		}
		mj += s.watts * (end - s.from) * 1000
		util = s.util
	}
	return []launcherapi.GPUReading{{EnergyMJ: uint64(mj + 0.5), Utilization: util}}, nil
}

type fakeClock struct {
	mu     sync.Mutex
	origin time.Time
	t      time.Time
}

func newFakeClock() *fakeClock {
	o := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	return &fakeClock{origin: o, t: o}
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) at(s float64) time.Time {
	return c.origin.Add(time.Duration(s * float64(time.Second)))
}
func (c *fakeClock) set(s float64) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.origin.Add(time.Duration(s * float64(time.Second)))
	return c.t
}
func (c *fakeClock) seconds() float64 { return c.now().Sub(c.origin).Seconds() }

func manualLedger(clock *fakeClock, g *scriptedGPU) *Ledger {
	l := New(5 * time.Second)
	l.now, l.manual = clock.now, true
	l.AttachMeter(g)
	return l
}

// Two overlapping requests with known token counts on a GPU drawing 50 W idle, then 300, 400
// and 300 W: each request's energy is the split rule worked by hand, and requests plus idle is
// the counter's increase.
func TestSplitTwoOverlappingRequests(t *testing.T) {
	clock := newFakeClock()
	gpu := &scriptedGPU{clock: clock, e0: 1_000_000, steps: []step{
		{0, 50, 0}, {1, 300, 0.9}, {2, 400, 1.0}, {3, 300, 0.5}, {4, 50, 0},
	}}
	l := manualLedger(clock, gpu)
	read := func(s float64) { clock.set(s); l.read(gpu) }

	read(0)
	read(1)
	a := l.Begin(clock.at(1))
	read(2)
	b := l.Begin(clock.at(2))
	read(3)
	l.End(a, clock.at(3))
	// A: 10 prompt tokens over 0.3 s, then 20 generated over 1.5 s, ending at 3 s:
	// prompt [1.2, 1.5), generation [1.5, 3).
	l.Complete(a, launcherapi.Timeline{End: clock.at(3), HasTimings: true,
		PromptTokens: 10, PromptDuration: 300 * time.Millisecond, OutputTokens: 20, OutputDuration: 1500 * time.Millisecond})
	_, ready, ok := l.Result(a)
	require.True(t, ok)
	assert.False(t, ready, "A shares [2, 3) with B, whose timeline is not known yet")
	read(4)
	l.End(b, clock.at(4))
	// B: 40 prompt tokens over 0.2 s, then 18 over 1.8 s, ending at 4 s: prompt [2, 2.2),
	// generation [2.2, 4).
	l.Complete(b, launcherapi.Timeline{End: clock.at(4), HasTimings: true,
		PromptTokens: 40, PromptDuration: 200 * time.Millisecond, OutputTokens: 18, OutputDuration: 1800 * time.Millisecond})
	read(5)

	ea, ready, ok := l.Result(a)
	require.True(t, ok)
	require.True(t, ready)
	eb, ready, ok := l.Result(b)
	require.True(t, ok)
	require.True(t, ready)

	// [1, 2): 300 J; only A, processing from 1.2: 0.2 s idle at the 50 W of [0, 1), so idle
	//         10 J and A 290 J.
	// [2, 3): 400 J; A generates 20 × 1/1.5 = 40/3 tokens, B 40 + 18 × 0.8/1.8 = 48: A gets
	//         400 × (40/3)/(40/3 + 48) = 400 × 40/184, B 400 × 144/184.
	// [3, 4): 300 J; only B, busy all along.
	// [0, 1) and [4, 5): 50 J idle each.
	wantA := 290 + 400*40.0/184
	wantB := 400*144.0/184 + 300
	assert.InDelta(t, wantA, ea.Joules, 1e-6)
	assert.InDelta(t, wantB, eb.Joules, 1e-6)
	// GPU time: utilization 0.9, 1.0 and 0.5 read at the end of each period, split alike.
	assert.InDelta(t, 0.9*0.8+1.0*40/184, ea.GPUSeconds, 1e-9)
	assert.InDelta(t, 1.0*144/184+0.5, eb.GPUSeconds, 1e-9)
	assert.False(t, ea.ByTime)
	assert.False(t, eb.ByTime)

	tot := l.Totals()
	require.Len(t, tot, 1)
	assert.InDelta(t, 50+10+50, tot[0].IdleJoules, 1e-6)
	assert.InDelta(t, ea.Joules+eb.Joules, tot[0].RequestJoules, 1e-6)
	increase := 50 + 300 + 400 + 300 + 50.0
	assert.InDelta(t, increase, ea.Joules+eb.Joules+tot[0].IdleJoules, 1e-6, "requests plus idle is the counter's increase")

	_, _, ok = l.Result(a)
	assert.False(t, ok, "a final result is returned once")
}

// A period whose other request does not finish within maxWait is split by time in flight.
func TestSplitByTimeAfterMaxWait(t *testing.T) {
	clock := newFakeClock()
	gpu := &scriptedGPU{clock: clock, e0: 0, steps: []step{{0, 200, 1}}}
	l := manualLedger(clock, gpu)
	read := func(s float64) { clock.set(s); l.read(gpu) }

	read(0)
	a := l.Begin(clock.at(0))
	b := l.Begin(clock.at(0))
	read(1)
	l.End(a, clock.at(1))
	l.Complete(a, launcherapi.Timeline{End: clock.at(1), HasTimings: true, OutputTokens: 100, OutputDuration: time.Second})
	read(1.5)
	_, ready, _ := l.Result(a)
	assert.False(t, ready)
	clock.set(1 + 5) // maxWait after [0, 1) ended
	ea, ready, _ := l.Result(a)
	require.True(t, ready)
	// [0, 1): 200 J; A processed all of it, B was at the gateway all of it: 100 J each.
	assert.InDelta(t, 100, ea.Joules, 1e-6)
	assert.True(t, ea.ByTime)

	read(7)
	l.End(b, clock.at(7))
	l.Complete(b, launcherapi.Timeline{End: clock.at(7), HasTimings: true, OutputTokens: 10, OutputDuration: 6 * time.Second})
	read(8)
	eb, ready, _ := l.Result(b)
	require.True(t, ready)
	// B: 100 J of [0, 1); [1, 1.5) and [1.5, 7) whole (B generated from 1 to 7): 1200 J.
	assert.InDelta(t, 100+100+1100, eb.Joules, 1e-6)
	tot := l.Totals()
	assert.InDelta(t, 8*200, ea.Joules+eb.Joules+tot[0].IdleJoules, 1e-6)
	assert.InDelta(t, 200, tot[0].IdleJoules, 1e-6) // [7, 8)
}

// Without timings (an embeddings call), the request's tokens spread over its time at the
// gateway; with another request it shares by tokens.
func TestSplitWithoutTimings(t *testing.T) {
	clock := newFakeClock()
	gpu := &scriptedGPU{clock: clock, steps: []step{{0, 100, 0.5}}}
	l := manualLedger(clock, gpu)
	read := func(s float64) { clock.set(s); l.read(gpu) }
	read(0)
	a := l.Begin(clock.at(0))
	b := l.Begin(clock.at(0))
	read(2)
	l.End(a, clock.at(2))
	l.End(b, clock.at(2))
	l.Complete(a, launcherapi.Timeline{End: clock.at(2), PromptTokens: 30})
	l.Complete(b, launcherapi.Timeline{End: clock.at(2), HasTimings: true, PromptTokens: 10, PromptDuration: time.Second, OutputTokens: 50, OutputDuration: time.Second})
	ea, ready, _ := l.Result(a)
	require.True(t, ready)
	eb, _, _ := l.Result(b)
	assert.InDelta(t, 200*30.0/90, ea.Joules, 1e-6)
	assert.InDelta(t, 200*60.0/90, eb.Joules, 1e-6)
}

// A counter that goes back (the driver was reloaded) gives that period nothing; a failed read
// is counted and changes nothing.
func TestCounterResetAndReadErrors(t *testing.T) {
	clock := newFakeClock()
	gpu := &scriptedGPU{clock: clock, e0: 5_000_000, steps: []step{{0, 100, 0}}}
	l := manualLedger(clock, gpu)
	clock.set(0)
	l.read(gpu)
	clock.set(1)
	l.Observe(clock.now(), []launcherapi.GPUReading{{EnergyMJ: 10}})
	assert.Zero(t, l.Totals()[0].IdleJoules)
	gpu.fail = true
	clock.set(2)
	l.read(gpu)
	assert.Equal(t, 1, l.ReadErrors())
	l.Observe(clock.at(3), []launcherapi.GPUReading{{EnergyMJ: 1010}})
	assert.InDelta(t, 1, l.Totals()[0].IdleJoules, 1e-9)
	l.Observe(clock.at(2.5), []launcherapi.GPUReading{{EnergyMJ: 99999}}) // out of order: ignored
	assert.InDelta(t, 1, l.Totals()[0].IdleJoules, 1e-9)
}

// Without a meter nothing is recorded.
func TestNoMeter(t *testing.T) {
	l := New(0)
	assert.Zero(t, l.Begin(time.Now()))
	_, ready, ok := l.Result(0)
	assert.True(t, ready)
	assert.False(t, ok)
	assert.Nil(t, l.GPUs())
	assert.Empty(t, l.Totals())
}

// The reading goroutine reads when a request begins and ends, not while idle, and stops on
// detach.
func TestReaderFollowsRequests(t *testing.T) {
	gpu := &countingMeter{}
	l := New(time.Second)
	detach := l.AttachMeter(gpu)
	time.Sleep(50 * time.Millisecond)
	assert.Zero(t, gpu.n(), "no request: no read")
	id := l.Begin(time.Now())
	require.Eventually(t, func() bool { return gpu.n() >= 1 }, 2*time.Second, 5*time.Millisecond)
	before := gpu.n()
	l.End(id, time.Now())
	require.Eventually(t, func() bool { return gpu.n() > before }, 2*time.Second, 5*time.Millisecond)
	l.Complete(id, launcherapi.Timeline{End: time.Now()})
	require.Eventually(t, func() bool { _, ready, _ := l.Result(id); return ready }, 3*time.Second, 10*time.Millisecond)
	detach()
	n := gpu.n()
	l.Begin(time.Now())
	time.Sleep(30 * time.Millisecond)
	assert.Equal(t, n, gpu.n(), "detached: no read")
}

type countingMeter struct {
	mu    sync.Mutex
	reads int
}

func (c *countingMeter) GPUs() []launcherapi.GPU { return []launcherapi.GPU{{ID: "GPU-x"}} }
func (c *countingMeter) Read() ([]launcherapi.GPUReading, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	return []launcherapi.GPUReading{{EnergyMJ: uint64(c.reads) * 1000}}, nil
}
func (c *countingMeter) n() int { c.mu.Lock(); defer c.mu.Unlock(); return c.reads }
