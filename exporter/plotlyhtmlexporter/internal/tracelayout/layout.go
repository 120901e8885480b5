// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tracelayout

import "math"

const (
	// nodeDistance is the minimum horizontal distance between two nodes at
	// the same depth of one tree.
	nodeDistance = 1.0
	// treeGap is the empty space left between the bounding boxes of two
	// adjacent trees, so the closest nodes of neighbouring trees are
	// nodeDistance+treeGap apart.
	treeGap = 1.0
)

// Layout computes tidy-tree coordinates for the forest described by parents
// and returns one (x, y) pair per node, each slice having len(parents)
// entries.
//
// parents[i] is the index of node i's parent. A negative or out-of-range
// value or i itself makes node i a root; cycles are broken as described on
// EffectiveParents. order[i] is node i's sort key (for example its start
// time): siblings, and the trees of the forest, are placed left to right by
// increasing key, ties broken by index. order may be shorter than parents
// (even nil); missing keys are 0.
//
// A node at depth d gets y = -d (roots at 0). x comes from the Buchheim,
// Jünger and Leipert tidy-tree algorithm: nodes at the same depth are at
// least 1 apart, each parent is centred between its first and last child,
// and the siblings of a node appear in key order. The first tree's leftmost
// node is at x = 0, and each further tree starts 2 units right of the
// previous tree's rightmost node. The result is deterministic, and the
// running time is linear apart from sorting siblings by key.
//
// Inputs with more than math.MaxInt32 nodes are not laid out: all
// coordinates are 0.
func Layout(parents []int32, order []int64) (x, y []float64) {
	n := len(parents)
	x = make([]float64, n)
	y = make([]float64, n)
	if n == 0 || n > maxNodes {
		return x, y
	}
	f := newForest(parents, order)
	w := &walker{
		f:        f,
		prelim:   make([]float64, n),
		mod:      make([]float64, n),
		shift:    make([]float64, n),
		change:   make([]float64, n),
		thread:   make([]int32, n),
		ancestor: make([]int32, n),
		defAnc:   make([]int32, n),
	}
	for i := range w.thread {
		w.thread[i] = -1
		w.ancestor[i] = int32(i)
	}

	// pre holds each tree in preorder with children visited right to left;
	// read backwards it is a left-to-right postorder of the same tree.
	pre := make([]int32, 0, n)
	stack := make([]int32, 0, 64)
	cursor := 0.0
	for t, root := range f.roots {
		start := len(pre)
		stack = append(stack[:0], root)
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			pre = append(pre, v)
			stack = append(stack, f.children[f.childStart[v]:f.childStart[v+1]]...)
		}
		tree := pre[start:]

		// First walk: bottom-up, left to right.
		for k := len(tree) - 1; k >= 0; k-- {
			w.firstWalk(tree[k])
		}

		// Second walk: top-down. The accumulated modifier of v's ancestors
		// is kept in w.shift, which the first walk no longer needs.
		acc := w.shift
		minX, maxX := math.Inf(1), math.Inf(-1)
		for _, v := range tree {
			m := 0.0
			if p := f.parent[v]; p >= 0 {
				m = acc[p]
				y[v] = y[p] - 1
			}
			xv := w.prelim[v] + m
			x[v] = xv
			acc[v] = m + w.mod[v]
			minX = min(minX, xv)
			maxX = max(maxX, xv)
		}

		// Place the tree to the right of the previous one.
		if t == 0 {
			cursor = 0
		}
		off := cursor - minX
		for _, v := range tree {
			x[v] += off
		}
		cursor = maxX + off + nodeDistance + treeGap
	}
	return x, y
}

// walker holds the per-node state of the Buchheim–Jünger–Leipert algorithm.
type walker struct {
	f        *forest
	prelim   []float64 // preliminary x relative to the parent's subtree
	mod      []float64 // modifier applied to the whole subtree below a node
	shift    []float64 // pending shift of a subtree (executeShifts)
	change   []float64 // pending change of shift per sibling (executeShifts)
	thread   []int32   // contour thread for nodes without children, or -1
	ancestor []int32   // candidate greatest distinct ancestor
	defAnc   []int32   // per parent: default ancestor while placing its children
}

// firstWalk computes prelim and mod of v, whose children (if any) have all
// been processed, and then separates v's subtree from its left siblings.
func (w *walker) firstWalk(v int32) {
	f := w.f
	left := f.leftSibling(v)
	if !f.hasChildren(v) {
		if left >= 0 {
			w.prelim[v] = w.prelim[left] + nodeDistance
		}
	} else {
		w.executeShifts(v)
		mid := (w.prelim[f.firstChild(v)] + w.prelim[f.lastChild(v)]) / 2
		if left >= 0 {
			w.prelim[v] = w.prelim[left] + nodeDistance
			w.mod[v] = w.prelim[v] - mid
		} else {
			w.prelim[v] = mid
		}
	}
	if p := f.parent[v]; p >= 0 {
		if left < 0 {
			w.defAnc[p] = v
		} else {
			w.defAnc[p] = w.apportion(v, left, w.defAnc[p])
		}
	}
}

// nextLeft returns the successor of v on the left contour of its subtree.
func (w *walker) nextLeft(v int32) int32 {
	if w.f.hasChildren(v) {
		return w.f.firstChild(v)
	}
	return w.thread[v]
}

// nextRight returns the successor of v on the right contour of its subtree.
func (w *walker) nextRight(v int32) int32 {
	if w.f.hasChildren(v) {
		return w.f.lastChild(v)
	}
	return w.thread[v]
}

// apportion moves v's subtree right until it is at least nodeDistance away
// from the subtrees of its left siblings at every depth, spreading the shift
// over the siblings in between, and returns the new default ancestor.
func (w *walker) apportion(v, left, defaultAncestor int32) int32 {
	// i = inside, o = outside, p = plus (v's subtree), m = minus (left forest).
	vip, vop := v, v
	vim := left
	vom := w.f.leftmostSibling(v)
	sip, sop := w.mod[vip], w.mod[vop]
	sim, som := w.mod[vim], w.mod[vom]
	for {
		nim, nip := w.nextRight(vim), w.nextLeft(vip)
		if nim < 0 || nip < 0 {
			break
		}
		nom, nop := w.nextLeft(vom), w.nextRight(vop)
		if nom < 0 || nop < 0 {
			break // cannot happen for a consistent contour; never index -1
		}
		vim, vip, vom, vop = nim, nip, nom, nop
		w.ancestor[vop] = v
		shift := (w.prelim[vim] + sim) - (w.prelim[vip] + sip) + nodeDistance
		if shift > 0 {
			w.moveSubtree(w.greatestAncestor(vim, v, defaultAncestor), v, shift)
			sip += shift
			sop += shift
		}
		sim += w.mod[vim]
		sip += w.mod[vip]
		som += w.mod[vom]
		sop += w.mod[vop]
	}
	if nr := w.nextRight(vim); nr >= 0 && w.nextRight(vop) < 0 {
		w.thread[vop] = nr
		w.mod[vop] += sim - sop
	}
	if nl := w.nextLeft(vip); nl >= 0 && w.nextLeft(vom) < 0 {
		w.thread[vom] = nl
		w.mod[vom] += sip - som
		defaultAncestor = v
	}
	return defaultAncestor
}

// greatestAncestor returns the ancestor of vim that is a sibling of v, using
// the ancestor pointer if it is valid and defaultAncestor otherwise.
func (w *walker) greatestAncestor(vim, v, defaultAncestor int32) int32 {
	if a := w.ancestor[vim]; w.f.parent[a] == w.f.parent[v] {
		return a
	}
	return defaultAncestor
}

// moveSubtree shifts the subtree of wp right by shift and records that the
// subtrees strictly between wm and wp are to be spread evenly.
func (w *walker) moveSubtree(wm, wp int32, shift float64) {
	subtrees := float64(w.f.rank[wp] - w.f.rank[wm])
	if subtrees <= 0 {
		subtrees = 1 // cannot happen: wm is a left sibling of wp
	}
	w.change[wp] -= shift / subtrees
	w.shift[wp] += shift
	w.change[wm] += shift / subtrees
	w.prelim[wp] += shift
	w.mod[wp] += shift
}

// executeShifts applies the shifts recorded by moveSubtree to v's children.
func (w *walker) executeShifts(v int32) {
	f := w.f
	var shift, change float64
	for k := f.childStart[v+1] - 1; k >= f.childStart[v]; k-- {
		c := f.children[k]
		w.prelim[c] += shift
		w.mod[c] += shift
		change += w.change[c]
		shift += w.shift[c] + change
	}
}
