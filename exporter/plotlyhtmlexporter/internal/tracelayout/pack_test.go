// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tracelayout

import (
	"math"
	"testing"
)

func TestPackWrapsManySmallTrees(t *testing.T) {
	// 100 traces of a root with three children.
	var parents []int32
	for tr := range 100 {
		r := int32(tr * 4)
		parents = append(parents, -1, r, r, r)
	}
	order := make([]int64, len(parents))
	for i := range order {
		order[i] = int64(i)
	}
	x, y := Layout(parents, order)
	eff := EffectiveParents(parents, order)
	before := append([]float64(nil), x...)
	Pack(x, y, eff, 2.5)
	minX, maxX, minY := math.Inf(1), math.Inf(-1), 0.0
	for i := range x {
		minX, maxX, minY = min(minX, x[i]), max(maxX, x[i]), min(minY, y[i])
	}
	w, h := maxX-minX, -minY+1
	if w/h > 6 || w/h < 0.6 {
		t.Fatalf("packed forest is %.0f x %.0f (aspect %.1f), want about 2.5", w, h, w/h)
	}
	// Shapes are kept: every child sits one row below its parent, at the same offset as before.
	for i, p := range eff {
		if p < 0 {
			continue
		}
		if y[i] != y[p]-1 {
			t.Fatalf("node %d: y %v, parent y %v", i, y[i], y[p])
		}
		if x[i]-x[p] != before[i]-before[p] {
			t.Fatalf("node %d moved relative to its parent", i)
		}
	}
	// No two nodes share a position.
	seen := map[[2]float64]int{}
	for i := range x {
		k := [2]float64{x[i], y[i]}
		if j, ok := seen[k]; ok {
			t.Fatalf("nodes %d and %d overlap at %v", i, j, k)
		}
		seen[k] = i
	}
}

func TestPackLeavesOneWideTreeAlone(t *testing.T) {
	parents := []int32{-1, 0, 0, 1, 1, 2, 2}
	x, y := Layout(parents, nil)
	x0 := append([]float64(nil), x...)
	Pack(x, y, EffectiveParents(parents, nil), 2.5)
	for i := range x {
		if x[i] != x0[i] {
			t.Fatalf("a forest that fits one row was moved: %v -> %v", x0, x)
		}
	}
}

func TestPackOddInput(t *testing.T) {
	Pack(nil, nil, nil, 1)
	Pack([]float64{0, 1}, []float64{0, 0}, []int32{5, -3}, 1) // out of range: roots
	Pack([]float64{0}, []float64{0}, []int32{-1}, math.NaN())
}
