// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// arrivalTimes runs schedule on a fake clock and returns the offsets of the arrivals.
func arrivalTimes(ctx context.Context, gap func() time.Duration, duration time.Duration, limit int) ([]time.Duration, time.Duration) {
	clk := &fakeClock{now: t0}
	var at []time.Duration
	n, stopped := schedule(ctx, clk, gap, duration, limit, func(i int) {
		if i != len(at) {
			panic("arrivals out of order")
		}
		at = append(at, clk.Now().Sub(t0))
	})
	if n != len(at) {
		panic("wrong count")
	}
	return at, stopped.Sub(t0)
}

func TestScheduleFixed(t *testing.T) {
	at, stopped := arrivalTimes(context.Background(), gapFunc(arrivalsFixed, 4, nil), 10*time.Second, 0)
	require.Len(t, at, 40)
	for i, d := range at {
		assert.Equal(t, time.Duration(i)*250*time.Millisecond, d)
	}
	assert.Equal(t, 10*time.Second, stopped)

	// Arrivals at 0, 0.2, 0.4, 0.6 and 0.8 s; the next one, at 1 s, is not in a 1 s run.
	at, stopped = arrivalTimes(context.Background(), gapFunc(arrivalsFixed, 5, nil), time.Second, 0)
	assert.Len(t, at, 5)
	assert.Equal(t, time.Second, stopped)
}

func TestSchedulePoisson(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		at, stopped := arrivalTimes(context.Background(), gapFunc(arrivalsPoisson, 4, rng), 100*time.Second, 0)
		// 400 expected; the count is Poisson with a standard deviation of 20.
		assert.InDelta(t, 400, len(at), 80, "seed %d", seed)
		assert.Equal(t, 100*time.Second, stopped)
		assert.Zero(t, at[0], "the first arrival is at the start")
	}

	// The gaps are exponential with mean 1/qps: mean 100 ms and standard deviation 100 ms.
	gap := gapFunc(arrivalsPoisson, 10, rand.New(rand.NewPCG(7, 7)))
	const n = 20000
	var sum, sumSq float64
	for range n {
		g := gap().Seconds()
		require.GreaterOrEqual(t, g, 0.0)
		sum += g
		sumSq += g * g
	}
	mean := sum / n
	sd := math.Sqrt(sumSq/n - mean*mean)
	assert.InDelta(t, 0.1, mean, 0.005)
	assert.InDelta(t, 0.1, sd, 0.01)

	// Seeded: the same seed gives the same arrivals.
	a, _ := arrivalTimes(context.Background(), gapFunc(arrivalsPoisson, 4, rand.New(rand.NewPCG(3, 3))), 5*time.Second, 0)
	b, _ := arrivalTimes(context.Background(), gapFunc(arrivalsPoisson, 4, rand.New(rand.NewPCG(3, 3))), 5*time.Second, 0)
	assert.Equal(t, a, b)
}

func TestScheduleLimit(t *testing.T) {
	at, stopped := arrivalTimes(context.Background(), gapFunc(arrivalsFixed, 2, nil), 0, 7)
	assert.Len(t, at, 7)
	assert.Equal(t, 3500*time.Millisecond, stopped, "7 arrivals at 2/s take 3.5 s")

	// The duration ends the run before the limit.
	at, _ = arrivalTimes(context.Background(), gapFunc(arrivalsFixed, 2, nil), 2*time.Second, 7)
	assert.Len(t, at, 4)
}

func TestScheduleCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clk := &fakeClock{now: t0}
	n, stopped := schedule(ctx, clk, gapFunc(arrivalsFixed, 1, nil), 0, 0, func(i int) {
		if i == 2 {
			cancel()
		}
	})
	assert.Equal(t, 3, n)
	assert.Equal(t, 2*time.Second, stopped.Sub(t0))

	n, _ = schedule(ctx, clk, gapFunc(arrivalsFixed, 1, nil), 0, 0, func(int) { t.Fatal("fired after cancel") })
	assert.Zero(t, n)
}

func TestRealClock(t *testing.T) {
	var c realClock
	start := c.Now()
	require.NoError(t, c.SleepUntil(context.Background(), start.Add(20*time.Millisecond)))
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
	require.NoError(t, c.SleepUntil(context.Background(), start), "a time in the past returns at once")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, c.SleepUntil(ctx, time.Now().Add(time.Hour)), context.Canceled)
	assert.ErrorIs(t, c.SleepUntil(ctx, time.Now().Add(-time.Hour)), context.Canceled)
}

// TestRunRate runs the whole generator for a second against an httptest server and counts what
// arrives there.
func TestRunRate(t *testing.T) {
	for _, arrivals := range []string{arrivalsFixed, arrivalsPoisson} {
		t.Run(arrivals, func(t *testing.T) {
			srv := newFakeServer(t)
			start := time.Now()
			code, sum, errOut := runJSON(t, context.Background(), nil, "--url", srv.URL,
				"--arrivals", arrivals, "--qps", "40", "--duration", "1s", "--seed", "2")
			elapsed := time.Since(start)
			require.Equal(t, exitOK, code, errOut)
			assert.Len(t, srv.captured(), sum.Sent)
			if arrivals == arrivalsFixed {
				assert.InDelta(t, 40, sum.Sent, 2)
			} else {
				assert.InDelta(t, 40, sum.Sent, 20) // a standard deviation is about 6.3
			}
			assert.Equal(t, sum.Sent, sum.OK)
			assert.Zero(t, sum.Skipped)
			assert.InDelta(t, 1.0, sum.SendSeconds, 0.2)
			assert.InDelta(t, float64(sum.Sent)/sum.SendSeconds, sum.AchievedQPS, 0.01)
			assert.GreaterOrEqual(t, elapsed, 950*time.Millisecond)
			assert.Less(t, elapsed, 3*time.Second)
		})
	}
}
