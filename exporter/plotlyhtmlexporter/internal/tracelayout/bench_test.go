// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tracelayout

import (
	"math/rand/v2"
	"testing"
)

// benchTraces builds about n spans grouped in traces of 10-50 spans. Within a
// trace, each span's parent is a random earlier span (biased to recent ones,
// giving depths of roughly 3-15) and keys are start times. Span indices are
// shuffled, as spans arrive from the pipeline in no particular order.
func benchTraces(n int) ([]int32, []int64) {
	rng := rand.New(rand.NewPCG(99, 1))
	parents := make([]int32, 0, n)
	order := make([]int64, 0, n)
	var start int64
	for len(parents) < n {
		size := min(10+rng.IntN(41), n-len(parents))
		base := int32(len(parents))
		start += 1e9
		for i := int32(0); i < int32(size); i++ {
			if i == 0 {
				parents = append(parents, -1)
			} else {
				parents = append(parents, base+i-1-int32(rng.IntN(int(min(i, 5)))))
			}
			order = append(order, start+int64(i)*1000+int64(rng.IntN(3000)))
		}
	}
	perm := rng.Perm(n)
	sp := make([]int32, n)
	so := make([]int64, n)
	for i, p := range parents {
		if p >= 0 {
			p = int32(perm[p])
		}
		sp[perm[i]] = p
		so[perm[i]] = order[i]
	}
	return sp, so
}

func BenchmarkLayout100k(b *testing.B) {
	parents, order := benchTraces(100_000)
	b.ReportAllocs()
	for b.Loop() {
		Layout(parents, order)
	}
}

func BenchmarkLayoutChain100k(b *testing.B) {
	parents := make([]int32, 100_000)
	for i := range parents {
		parents[i] = int32(i - 1)
	}
	b.ReportAllocs()
	for b.Loop() {
		Layout(parents, nil)
	}
}

func BenchmarkEffectiveParents100k(b *testing.B) {
	parents, order := benchTraces(100_000)
	b.ReportAllocs()
	for b.Loop() {
		EffectiveParents(parents, order)
	}
}
