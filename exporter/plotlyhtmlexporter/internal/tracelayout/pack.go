// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tracelayout

import (
	"math"
	"sort"
)

// Pack rearranges the trees of a laid-out forest (x, y from Layout; parents from
// EffectiveParents) into rows, so that many small traces fill a panel of the given aspect ratio
// (width/height) instead of one long strip. Trees keep their left-to-right order, their shapes,
// and a gap of 2 between neighbours; each row is as tall as its deepest tree plus 1. x and y are
// changed in place. Nothing happens when the forest already fits in one row at that aspect.
func Pack(x, y []float64, parents []int32, aspect float64) {
	n := min(len(x), len(y), len(parents))
	if n == 0 || aspect <= 0 || math.IsNaN(aspect) || math.IsInf(aspect, 0) {
		return
	}
	// Each node's root, found without recursion (parents is a forest: no cycles, in range).
	root := make([]int32, n)
	for i := range root {
		root[i] = -1
	}
	var stack []int32
	for i := range n {
		j := int32(i)
		for root[j] < 0 {
			p := parents[j]
			if p < 0 || int(p) >= n || p == j {
				root[j] = j
				break
			}
			stack = append(stack, j)
			j = p
		}
		r := root[j]
		for _, k := range stack {
			root[k] = r
		}
		stack = stack[:0]
	}
	type tree struct {
		root          int32
		minX, maxX    float64
		depth         float64
		shiftX, shift float64
	}
	index := map[int32]int{}
	var trees []tree
	for i := range n {
		r := root[i]
		k, ok := index[r]
		if !ok {
			k = len(trees)
			index[r] = k
			trees = append(trees, tree{root: r, minX: x[i], maxX: x[i]})
		}
		t := &trees[k]
		t.minX, t.maxX = min(t.minX, x[i]), max(t.maxX, x[i])
		t.depth = max(t.depth, -y[i])
	}
	// Trees left to right, as Layout placed them.
	order := make([]int, len(trees))
	for i := range order {
		order[i] = i
	}
	sortByMinX(order, func(i int) float64 { return trees[i].minX })
	total, deepest := 0.0, 0.0
	for _, t := range trees {
		total += t.maxX - t.minX + 2
		deepest = max(deepest, t.depth)
	}
	rowH := deepest + 2
	rows := math.Sqrt(total / (aspect * rowH))
	if rows <= 1 {
		return
	}
	rowW := math.Max(total/math.Floor(rows), 1)
	cursor, row := 0.0, 0.0
	for _, k := range order {
		t := &trees[k]
		w := t.maxX - t.minX
		if cursor > 0 && cursor+w > rowW {
			cursor, row = 0, row+1
		}
		t.shiftX = cursor - t.minX
		t.shift = -row * rowH
		cursor += w + 2
	}
	for i := range n {
		t := &trees[index[root[i]]]
		x[i] += t.shiftX
		y[i] += t.shift
	}
}

func sortByMinX(idx []int, key func(int) float64) {
	sort.SliceStable(idx, func(a, b int) bool { return key(idx[a]) < key(idx[b]) })
}
