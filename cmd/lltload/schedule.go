// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"math/rand/v2"
	"time"
)

// clock is the time source of the scheduler; tests use a fake one.
type clock interface {
	Now() time.Time
	// SleepUntil returns at t, or earlier with ctx's error when ctx is done.
	SleepUntil(ctx context.Context, t time.Time) error
}

// realClock is the wall clock.
type realClock struct{}

// Now returns the current time.
func (realClock) Now() time.Time { return time.Now() }

// SleepUntil waits until t or until ctx is done.
func (realClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// gapFunc returns the time between two arrivals: 1/qps for fixed arrivals, an exponentially
// distributed gap with mean 1/qps for Poisson arrivals. rng is used from one goroutine only.
func gapFunc(arrivals string, qps float64, rng *rand.Rand) func() time.Duration {
	mean := float64(time.Second) / qps
	if arrivals == arrivalsFixed {
		return func() time.Duration { return time.Duration(mean) }
	}
	return func() time.Duration { return time.Duration(rng.ExpFloat64() * mean) }
}

// schedule calls fire at each arrival, in an open loop: the arrival times follow from gap alone,
// not from how long requests take. The first arrival is at the start. It stops when ctx is done,
// when the next arrival would come after duration (when duration > 0), or after limit arrivals
// (when limit > 0). After the last arrival it waits for the end of duration, or for the slot of
// the next arrival after limit. It returns the number of arrivals and the time it stopped. When the loop falls behind (a slow
// fire), late arrivals fire at once.
func schedule(ctx context.Context, clk clock, gap func() time.Duration, duration time.Duration, limit int,
	fire func(n int)) (arrivals int, stopped time.Time) {
	start := clk.Now()
	next := start
	for limit <= 0 || arrivals < limit {
		if duration > 0 && next.Sub(start) >= duration {
			end := start.Add(duration)
			if clk.SleepUntil(ctx, end) != nil {
				return arrivals, clk.Now()
			}
			return arrivals, end
		}
		if clk.SleepUntil(ctx, next) != nil {
			return arrivals, clk.Now()
		}
		fire(arrivals)
		arrivals++
		next = next.Add(gap())
	}
	// The limit was reached: the run lasts until the slot of the arrival that is not made, so
	// that limit arrivals at a rate take limit/rate seconds.
	if clk.SleepUntil(ctx, next) != nil {
		return arrivals, clk.Now()
	}
	return arrivals, next
}
