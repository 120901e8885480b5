// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package downsample

import (
	"math"
	"math/rand/v2"
	"testing"
)

const (
	benchN         = 1_000_000
	benchThreshold = 5000
)

func benchSeries() (xs, ys []float64) {
	rng := rand.New(rand.NewPCG(42, 42))
	xs = make([]float64, benchN)
	ys = make([]float64, benchN)
	for i := range xs {
		xs[i] = 1.7e18 + float64(i)*1e6 // unix nanos, 1 ms apart
		ys[i] = math.Sin(float64(i)/5000) + rng.NormFloat64()*0.1
	}
	return xs, ys
}

// BenchmarkCopyBaseline copies the 1M-point series into fresh slices; it is
// the floor against which the downsampling benchmarks can be compared.
func BenchmarkCopyBaseline(b *testing.B) {
	xs, ys := benchSeries()
	b.ReportAllocs()
	for b.Loop() {
		cx := make([]float64, len(xs))
		cy := make([]float64, len(ys))
		copy(cx, xs)
		copy(cy, ys)
	}
}

func BenchmarkLTTB(b *testing.B) {
	xs, ys := benchSeries()
	b.ReportAllocs()
	for b.Loop() {
		LTTB(xs, ys, benchThreshold)
	}
}

func BenchmarkAppendLTTB(b *testing.B) {
	xs, ys := benchSeries()
	dx, dy := make([]float64, 0, benchThreshold), make([]float64, 0, benchThreshold)
	b.ReportAllocs()
	for b.Loop() {
		dx, dy = AppendLTTB(dx[:0], dy[:0], xs, ys, benchThreshold)
	}
}

func BenchmarkMinMax(b *testing.B) {
	xs, ys := benchSeries()
	b.ReportAllocs()
	for b.Loop() {
		MinMax(xs, ys, benchThreshold)
	}
}

func BenchmarkAppendMinMax(b *testing.B) {
	xs, ys := benchSeries()
	dx, dy := make([]float64, 0, benchThreshold), make([]float64, 0, benchThreshold)
	b.ReportAllocs()
	for b.Loop() {
		dx, dy = AppendMinMax(dx[:0], dy[:0], xs, ys, benchThreshold)
	}
}
