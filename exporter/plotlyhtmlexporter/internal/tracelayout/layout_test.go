// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tracelayout

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

const eps = 1e-6

func near(a, b float64) bool { return math.Abs(a-b) <= eps }

func expectXY(t *testing.T, parents []int32, order []int64, wantX, wantY []float64) {
	t.Helper()
	x, y := Layout(parents, order)
	for i := range wantX {
		if !near(x[i], wantX[i]) || !near(y[i], wantY[i]) {
			t.Fatalf("Layout(%v, %v):\n x=%v\n y=%v\nwant\n x=%v\n y=%v", parents, order, x, y, wantX, wantY)
		}
	}
	checkLayout(t, parents, order, x, y)
}

func TestRootWithThreeLeaves(t *testing.T) {
	expectXY(t, []int32{-1, 0, 0, 0}, nil,
		[]float64{1, 0, 1, 2},
		[]float64{0, -1, -1, -1})
}

func TestSmallTrees(t *testing.T) {
	// Single node.
	expectXY(t, []int32{-1}, nil, []float64{0}, []float64{0})

	// r(0) -> a(1), b(2); a -> a1(3), a2(4).
	expectXY(t, []int32{-1, 0, 0, 1, 1}, nil,
		[]float64{1, 0.5, 1.5, 0, 1},
		[]float64{0, -1, -1, -2, -2})

	// Subtree separation with spreading of the middle sibling:
	// r(0) -> A(1), B(2), C(3); A -> 4,5,6; C -> 7,8,9.
	// C's children would collide with A's at depth 2, so C moves right by 1
	// and the leaf B is moved by half of that to stay centred between them.
	expectXY(t, []int32{-1, 0, 0, 0, 1, 1, 1, 3, 3, 3}, nil,
		[]float64{2.5, 1, 2.5, 4, 0, 1, 2, 3, 4, 5},
		[]float64{0, -1, -1, -1, -2, -2, -2, -2, -2, -2})

	// Chain: every node straight below its parent.
	expectXY(t, []int32{-1, 0, 1, 2}, nil,
		[]float64{0, 0, 0, 0},
		[]float64{0, -1, -2, -3})
}

func TestDeepLeftShallowRight(t *testing.T) {
	// r(0) -> L(1), R(2); L -> L1(3); L1 -> L2(4); R -> R1(5), R2(6).
	// Unshifted, R sits at 1 with children at 0.5 and 1.5, only 0.5 from
	// L1 at depth 2, so R's subtree moves right by 0.5.
	expectXY(t, []int32{-1, 0, 0, 1, 3, 2, 2}, nil,
		[]float64{0.75, 0, 1.5, 0, 0, 1, 2},
		[]float64{0, -1, -1, -2, -3, -2, -2})
}

func TestForestSideBySide(t *testing.T) {
	// Two traces, each a root with two children; the second trace's root has
	// the smaller key, so it is placed first.
	parents := []int32{-1, 0, 0, -1, 3, 3}
	order := []int64{100, 101, 102, 50, 51, 52}
	expectXY(t, parents, order,
		[]float64{3.5, 3, 4, 0.5, 0, 1},
		[]float64{0, -1, -1, 0, -1, -1})

	// Without keys, index order decides.
	expectXY(t, parents, nil,
		[]float64{0.5, 0, 1, 3.5, 3, 4},
		[]float64{0, -1, -1, 0, -1, -1})

	// Roots of different widths: a lone node, then a root with 3 children.
	expectXY(t, []int32{-1, -1, 1, 1, 1}, nil,
		[]float64{0, 3, 2, 3, 4},
		[]float64{0, 0, -1, -1, -1})
}

func TestSiblingsOrderedByKey(t *testing.T) {
	// Children 1..4 of root 0, keys reversed; 2 and 3 tie, index breaks it.
	parents := []int32{-1, 0, 0, 0, 0}
	order := []int64{0, 40, 30, 30, 10}
	// Left to right: 4 (10), 2 (30), 3 (30), 1 (40).
	expectXY(t, parents, order,
		[]float64{1.5, 3, 1, 2, 0},
		[]float64{0, -1, -1, -1, -1})

	// Short order slice: missing keys are 0, so node 3 and 4 (key 0) come
	// before 1 and 2 (keys 5, 6).
	expectXY(t, parents, []int64{0, 5, 6},
		[]float64{1.5, 2, 3, 0, 1},
		[]float64{0, -1, -1, -1, -1})
}

func TestMalformedParents(t *testing.T) {
	cases := []struct {
		name    string
		parents []int32
		order   []int64
		want    []int32 // effective parents
	}{
		{"empty", nil, nil, []int32{}},
		{"self", []int32{0, 0, 2}, nil, []int32{-1, 0, -1}},
		{"out of range", []int32{-1, 7, -3, math.MaxInt32, math.MinInt32}, nil, []int32{-1, -1, -1, -1, -1}},
		// 0 -> 1 -> 2 -> 0: node 0 has the smallest (key, index) and becomes the root.
		{"cycle", []int32{1, 2, 0}, nil, []int32{-1, 2, 0}},
		// Same cycle, node 2 has the smallest key.
		{"cycle by key", []int32{1, 2, 0}, []int64{5, 6, 1}, []int32{1, 2, -1}},
		// A tail (3 -> 4 -> 0) leading into the cycle 0 -> 1 -> 2 -> 0.
		{"cycle with tail", []int32{1, 2, 0, 4, 0}, nil, []int32{-1, 2, 0, 4, 0}},
		// Two-cycles and a valid tree in one array.
		{"mixed", []int32{1, 0, -1, 2, 5, 4, 99}, nil, []int32{-1, 0, -1, 2, -1, 4, -1}},
	}
	for _, tc := range cases {
		got := EffectiveParents(tc.parents, tc.order)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: EffectiveParents = %v, want %v", tc.name, got, tc.want)
		}
		x, y := Layout(tc.parents, tc.order)
		if len(x) != len(tc.parents) || len(y) != len(tc.parents) {
			t.Fatalf("%s: lengths %d %d", tc.name, len(x), len(y))
		}
		checkLayout(t, tc.parents, tc.order, x, y)
	}
}

func TestBigCycle(t *testing.T) {
	const n = 100_000
	parents := make([]int32, n)
	for i := range parents {
		parents[i] = int32((i + 1) % n)
	}
	x, y := Layout(parents, nil)
	// Node 0 becomes the root; the rest hangs below it as a chain n-1, n-2, ...
	if y[0] != 0 || y[n-1] != -1 || y[1] != -(n-1) {
		t.Fatalf("y[0]=%v y[n-1]=%v y[1]=%v", y[0], y[n-1], y[1])
	}
	checkLayout(t, parents, nil, x, y)
}

func TestDeepChain(t *testing.T) {
	const n = 200_000
	for _, reversed := range []bool{false, true} {
		parents := make([]int32, n)
		for i := range parents {
			if reversed {
				parents[i] = int32(i + 1) // the last node is the root (n is out of range)
			} else {
				parents[i] = int32(i - 1)
			}
		}
		x, y := Layout(parents, nil)
		for i := range x {
			d := float64(i)
			if reversed {
				d = float64(n - 1 - i)
			}
			if x[i] != 0 || y[i] != -d {
				t.Fatalf("reversed=%v node %d at (%v,%v)", reversed, i, x[i], y[i])
			}
		}
	}
}

func TestDeepCaterpillarAndStar(t *testing.T) {
	// A chain of 100k nodes with a leaf hanging off each chain node (alternately
	// left and right by key), and a star with 200k leaves.
	const n = 100_000
	parents := make([]int32, 0, 2*n)
	order := make([]int64, 0, 2*n)
	parents = append(parents, -1)
	order = append(order, 0)
	for i := 1; i < n; i++ {
		chainParent := int32(2 * (i - 1))
		parents = append(parents, chainParent, chainParent) // next chain node, leaf
		if i%2 == 0 {
			order = append(order, 1, 2)
		} else {
			order = append(order, 2, 1)
		}
	}
	x, y := Layout(parents, order)
	checkLayout(t, parents, order, x, y)

	star := make([]int32, 2*n)
	for i := 1; i < len(star); i++ {
		star[i] = 0
	}
	star[0] = -1
	x, y = Layout(star, nil)
	if !near(x[0], float64(len(star)-2)/2) || x[len(star)-1] != float64(len(star)-2) {
		t.Fatalf("star: root at %v, last leaf at %v", x[0], x[len(star)-1])
	}
	checkLayout(t, star, nil, x, y)
}

// randomTree returns parents and keys for n nodes. kind selects the shape.
func randomTree(rng *rand.Rand, n, kind int) ([]int32, []int64) {
	parents := make([]int32, n)
	order := make([]int64, n)
	for i := range parents {
		switch {
		case i == 0:
			parents[i] = -1
		case kind == 0: // uniform random recursive tree: shallow, bushy
			parents[i] = int32(rng.IntN(i))
		case kind == 1: // deep: parent among the last few nodes
			parents[i] = int32(max(0, i-1-rng.IntN(4)))
		case kind == 2: // forest of traces of 1..60 spans
			if rng.IntN(30) == 0 {
				parents[i] = -1
			} else {
				parents[i] = int32(i - 1 - rng.IntN(min(i, 8)))
			}
		default: // arbitrary garbage: cycles, self loops, out of range
			parents[i] = int32(rng.IntN(n+n/10) - n/20)
		}
		order[i] = int64(rng.IntN(50))
	}
	if kind != 3 {
		// Shuffle indices so that parents do not always precede children.
		perm := rng.Perm(n)
		shuffled := make([]int32, n)
		keys := make([]int64, n)
		for i, p := range parents {
			np := int32(-1)
			if p >= 0 {
				np = int32(perm[p])
			}
			shuffled[perm[i]] = np
			keys[perm[i]] = order[i]
		}
		parents, order = shuffled, keys
	}
	return parents, order
}

func TestRandomTreesInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(2024, 7))
	for kind := 0; kind < 4; kind++ {
		for iter := 0; iter < 5; iter++ {
			parents, order := randomTree(rng, 10_000, kind)
			x, y := Layout(parents, order)
			checkLayout(t, parents, order, x, y)
		}
	}
	// Many small trees.
	for iter := 0; iter < 2000; iter++ {
		parents, order := randomTree(rng, 1+rng.IntN(40), iter%4)
		x, y := Layout(parents, order)
		checkLayout(t, parents, order, x, y)
	}
}

func TestDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	parents, order := randomTree(rng, 5000, 2)
	x1, y1 := Layout(parents, order)
	x2, y2 := Layout(parents, order)
	if !slices.Equal(x1, x2) || !slices.Equal(y1, y2) {
		t.Fatal("layout is not deterministic")
	}
}

func TestIndexParents(t *testing.T) {
	ids := []string{"a", "b", "c", "b", ""}
	parentIDs := []string{"", "a", "b", "zz", "c"}
	got := IndexParents(ids, parentIDs)
	want := []int32{-1, 0, 1, -1, 2}
	if !slices.Equal(got, want) {
		t.Fatalf("IndexParents = %v, want %v", got, want)
	}
	// Short parentIDs, array keys (like span IDs), zero ID means no parent.
	type spanID [8]byte
	got = IndexParents([]spanID{{1}, {2}, {3}}, []spanID{{}, {1}})
	if !slices.Equal(got, []int32{-1, 0, -1}) {
		t.Fatalf("IndexParents = %v", got)
	}
	if got := IndexParents[string](nil, nil); len(got) != 0 {
		t.Fatalf("IndexParents(nil) = %v", got)
	}
}

// checkLayout verifies every documented property of Layout's output.
func checkLayout(t testing.TB, parents []int32, order []int64, x, y []float64) {
	t.Helper()
	n := len(parents)
	if len(x) != n || len(y) != n {
		t.Fatalf("lengths: x %d y %d, want %d", len(x), len(y), n)
	}
	if n == 0 {
		return
	}
	key := orderKeys(order, n)
	eff := EffectiveParents(parents, order)

	// eff must be a forest consistent with the input.
	for i, p := range eff {
		if p >= 0 && p != parents[i] {
			t.Fatalf("node %d: effective parent %d, input %d", i, p, parents[i])
		}
	}
	depth := make([]int, n)
	for i := range depth {
		depth[i] = -1
	}
	var path []int32
	for i := range eff {
		path = path[:0]
		v := int32(i)
		for v >= 0 && depth[v] < 0 {
			path = append(path, v)
			if len(path) > n {
				t.Fatal("effective parents contain a cycle")
			}
			v = eff[v]
		}
		d := -1
		if v >= 0 {
			d = depth[v]
		}
		for k := len(path) - 1; k >= 0; k-- {
			d++
			depth[path[k]] = d
		}
	}

	children := make([][]int32, n)
	var roots []int32
	for i, p := range eff {
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) {
			t.Fatalf("node %d: x=%v", i, x[i])
		}
		if y[i] != -float64(depth[i]) {
			t.Fatalf("node %d: y=%v, depth %d", i, y[i], depth[i])
		}
		if p >= 0 {
			children[p] = append(children[p], int32(i))
		} else {
			roots = append(roots, int32(i))
		}
	}
	byKey := func(a, b int32) int {
		if key[a] != key[b] {
			if key[a] < key[b] {
				return -1
			}
			return 1
		}
		return int(a - b)
	}
	for v, cs := range children {
		if len(cs) == 0 {
			continue
		}
		slices.SortFunc(cs, byKey)
		for k := 1; k < len(cs); k++ {
			if x[cs[k]]-x[cs[k-1]] < 1-eps {
				t.Fatalf("siblings %d, %d of %d out of order or too close: %v, %v", cs[k-1], cs[k], v, x[cs[k-1]], x[cs[k]])
			}
		}
		if mid := (x[cs[0]] + x[cs[len(cs)-1]]) / 2; !near(x[v], mid) {
			t.Fatalf("node %d at %v, not centred over children (%v)", v, x[v], mid)
		}
	}

	if n <= 3000 {
		checkCompact(t, children, x)
	}

	// Same-depth spacing over the whole forest.
	type pt struct {
		d int
		x float64
	}
	pts := make([]pt, n)
	for i := range pts {
		pts[i] = pt{depth[i], x[i]}
	}
	slices.SortFunc(pts, func(a, b pt) int {
		if a.d != b.d {
			return a.d - b.d
		}
		switch {
		case a.x < b.x:
			return -1
		case a.x > b.x:
			return 1
		}
		return 0
	})
	for k := 1; k < n; k++ {
		if pts[k].d == pts[k-1].d && pts[k].x-pts[k-1].x < 1-eps {
			t.Fatalf("depth %d: nodes at %v and %v", pts[k].d, pts[k-1].x, pts[k].x)
		}
	}

	// Trees side by side in key order: bounding boxes 2 apart, first at 0.
	rootOf := make([]int32, n)
	for i := range rootOf {
		rootOf[i] = -1
	}
	for i := range eff {
		path = path[:0]
		v := int32(i)
		for rootOf[v] < 0 && eff[v] >= 0 {
			path = append(path, v)
			v = eff[v]
		}
		r := v
		if rootOf[v] >= 0 {
			r = rootOf[v]
		}
		rootOf[v] = r
		for _, u := range path {
			rootOf[u] = r
		}
	}
	lo := make(map[int32]float64, len(roots))
	hi := make(map[int32]float64, len(roots))
	for i, r := range rootOf {
		if l, ok := lo[r]; !ok || x[i] < l {
			lo[r] = x[i]
		}
		if h, ok := hi[r]; !ok || x[i] > h {
			hi[r] = x[i]
		}
	}
	slices.SortFunc(roots, byKey)
	if !near(lo[roots[0]], 0) {
		t.Fatalf("first tree starts at %v", lo[roots[0]])
	}
	for k := 1; k < len(roots); k++ {
		if !near(lo[roots[k]], hi[roots[k-1]]+2) {
			t.Fatalf("tree %d spans [%v,%v], next tree %d starts at %v", roots[k-1], lo[roots[k-1]], hi[roots[k-1]], roots[k], lo[roots[k]])
		}
	}
}

// fuzzForest decodes fuzz input: each byte pair gives a parent and a key.
// A first byte below 0x80 is an absolute parent index minus 2 (so -2, -1,
// self and out-of-range indices occur); from 0x80 up it is a distance back
// from the node, giving deep chains. The second byte modulo 8 is the key.
func fuzzForest(data []byte) ([]int32, []int64) {
	n := len(data) / 2
	parents := make([]int32, n)
	order := make([]int64, n)
	for i := 0; i < n; i++ {
		b := data[2*i]
		if b < 0x80 {
			parents[i] = int32(b) - 2
		} else {
			parents[i] = int32(i) - 1 - int32(b-0x80)
		}
		order[i] = int64(data[2*i+1] % 8)
	}
	return parents, order
}

func FuzzLayout(f *testing.F) {
	f.Add([]byte{0x01, 0, 0x02, 0, 0x02, 0, 0x02, 0})
	f.Add([]byte{0x03, 0, 0x04, 1, 0x02, 2, 0x80, 0, 0x81, 5})
	f.Fuzz(func(t *testing.T, data []byte) {
		parents, order := fuzzForest(data)
		x, y := Layout(parents, order)
		checkLayout(t, parents, order, x, y)
		// Also with a short key slice.
		x, y = Layout(parents, order[:len(order)/2])
		checkLayout(t, parents, order[:len(order)/2], x, y)
	})
}

// checkCompact verifies that subtrees are packed tightly: for every node with
// two or more children, the last child's subtree comes exactly 1 unit close
// to the subtrees of its left siblings at some depth (it was moved only as
// far right as needed). children must be sorted left to right. The check costs
// O(n * depth).
func checkCompact(t testing.TB, children [][]int32, x []float64) {
	t.Helper()
	// extent appends, per relative depth below the subtree root v, the min or
	// max x of v's subtree to ext (combining with existing entries).
	extent := func(v int32, ext []float64, useMax bool) []float64 {
		type item struct {
			v int32
			d int
		}
		stack := []item{{v, 0}}
		for len(stack) > 0 {
			it := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if it.d == len(ext) {
				ext = append(ext, x[it.v])
			} else if useMax {
				ext[it.d] = max(ext[it.d], x[it.v])
			} else {
				ext[it.d] = min(ext[it.d], x[it.v])
			}
			for _, c := range children[it.v] {
				stack = append(stack, item{c, it.d + 1})
			}
		}
		return ext
	}
	for v, cs := range children {
		if len(cs) < 2 {
			continue
		}
		var right []float64
		for _, c := range cs[:len(cs)-1] {
			right = extent(c, right, true)
		}
		left := extent(cs[len(cs)-1], nil, false)
		gap := math.Inf(1)
		for d := 0; d < min(len(left), len(right)); d++ {
			gap = min(gap, left[d]-right[d])
		}
		if !near(gap, 1) {
			t.Fatalf("node %d: last child's subtree is %v (not 1) from its left siblings", v, gap)
		}
	}
}
