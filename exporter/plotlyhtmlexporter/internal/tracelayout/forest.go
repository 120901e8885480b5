// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tracelayout

import (
	"cmp"
	"math"
	"slices"

	"github.com/llamatelemetry/otelcol-llt/pkg/spantree"
)

// maxNodes is the largest input Layout and EffectiveParents handle; indices
// are stored as int32 internally.
const maxNodes = math.MaxInt32

// IndexParents converts ID-based parent links into the index-based parent
// array expected by Layout: result[i] is the index j with ids[j] ==
// parentIDs[i], or -1 if parentIDs[i] is the zero value of K, is missing
// (parentIDs shorter than ids) or does not occur in ids. If an ID occurs
// several times in ids, its first occurrence is used. The result has
// len(ids) entries.
func IndexParents[K comparable](ids, parentIDs []K) []int32 {
	out := make([]int32, len(ids))
	if len(ids) > maxNodes {
		for i := range out {
			out[i] = -1
		}
		return out
	}
	index := make(map[K]int32, len(ids))
	for i, id := range ids {
		if _, dup := index[id]; !dup {
			index[id] = int32(i)
		}
	}
	var zero K
	for i := range out {
		out[i] = -1
		if i >= len(parentIDs) || parentIDs[i] == zero {
			continue
		}
		if j, ok := index[parentIDs[i]]; ok {
			out[i] = j
		}
	}
	return out
}

// EffectiveParents returns the parent array that Layout actually lays out: a
// copy of parents in which every node whose parent is negative, out of range
// or itself becomes a root (-1), and in which every cycle is broken by making
// the node of the cycle with the smallest (order, index) a root. order has the
// same meaning as for Layout. The result is a forest and has len(parents)
// entries; callers can use it to draw exactly the edges of the layout.
func EffectiveParents(parents []int32, order []int64) []int32 {
	n := len(parents)
	eff := make([]int32, n)
	if n > maxNodes {
		for i := range eff {
			eff[i] = -1
		}
		return eff
	}
	key := orderKeys(order, n)
	for i, p := range parents {
		if p < 0 || int(p) >= n || int(p) == i {
			p = -1
		}
		eff[i] = p
	}

	spantree.BreakCycles(eff, func(a, b int32) bool { return less(key, a, b) })
	return eff
}

// orderKeys returns order extended with zeros to n entries.
func orderKeys(order []int64, n int) []int64 {
	if len(order) >= n {
		return order[:n]
	}
	key := make([]int64, n)
	copy(key, order)
	return key
}

// less orders nodes by (key, index).
func less(key []int64, a, b int32) bool {
	if key[a] != key[b] {
		return key[a] < key[b]
	}
	return a < b
}

// forest is a rooted forest in compressed sparse row form.
type forest struct {
	parent     []int32 // effective parent, -1 for roots
	childStart []int32 // children of v are children[childStart[v]:childStart[v+1]]
	children   []int32 // sorted by (key, index) within each node
	rank       []int32 // position of a node among its siblings (or among the roots)
	roots      []int32 // sorted by (key, index)
}

func newForest(parents []int32, order []int64) *forest {
	n := len(parents)
	key := orderKeys(order, n)
	f := &forest{
		parent:     EffectiveParents(parents, order),
		childStart: make([]int32, n+1),
		children:   make([]int32, 0, n),
		rank:       make([]int32, n),
	}
	// Count children, prefix-sum into start offsets, then fill in index order.
	for _, p := range f.parent {
		if p >= 0 {
			f.childStart[p+1]++
		}
	}
	for v := 0; v < n; v++ {
		f.childStart[v+1] += f.childStart[v]
	}
	f.children = f.children[:f.childStart[n]]
	next := make([]int32, n)
	copy(next, f.childStart[:n])
	for v, p := range f.parent {
		if p >= 0 {
			f.children[next[p]] = int32(v)
			next[p]++
		} else {
			f.roots = append(f.roots, int32(v))
		}
	}

	compare := func(a, b int32) int {
		if c := cmp.Compare(key[a], key[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	sortGroup := func(s []int32) {
		if !slices.IsSortedFunc(s, compare) {
			slices.SortFunc(s, compare)
		}
		for r, v := range s {
			f.rank[v] = int32(r)
		}
	}
	for v := 0; v < n; v++ {
		if c0, c1 := f.childStart[v], f.childStart[v+1]; c1-c0 > 0 {
			sortGroup(f.children[c0:c1])
		}
	}
	sortGroup(f.roots)
	return f
}

func (f *forest) hasChildren(v int32) bool { return f.childStart[v] != f.childStart[v+1] }
func (f *forest) firstChild(v int32) int32 { return f.children[f.childStart[v]] }
func (f *forest) lastChild(v int32) int32  { return f.children[f.childStart[v+1]-1] }

// leftSibling returns the sibling immediately left of v, or -1.
func (f *forest) leftSibling(v int32) int32 {
	p := f.parent[v]
	if p < 0 || f.rank[v] == 0 {
		return -1
	}
	return f.children[f.childStart[p]+f.rank[v]-1]
}

// leftmostSibling returns the first child of v's parent (v itself if it is
// the first child); v must not be a root.
func (f *forest) leftmostSibling(v int32) int32 {
	return f.children[f.childStart[f.parent[v]]]
}
