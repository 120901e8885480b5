// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package downsample

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func seq(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i)
	}
	return xs
}

// sameFloats reports whether a and b are equal element-wise, treating NaN as
// equal to NaN.
func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

func pick(src []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for i, j := range idx {
		out[i] = src[j]
	}
	return out
}

// handYs is the series used by the hand-computed examples below.
var handYs = []float64{0, 2, 8, 3, 1, 4, 9, 2, 5, 0}

func TestLTTBHandComputed(t *testing.T) {
	// n=10, threshold=4: two buckets, [1,5) and [5,9); the last point is 9.
	//
	// Bucket [1,5): anchor (0,0); next-bucket average over indices 5..8 is
	// (6.5, (4+9+2+5)/4=5). Twice the area |x*5 - y*6.5|:
	//   j=1: |5-13|=8  j=2: |10-52|=42  j=3: |15-19.5|=4.5  j=4: |20-6.5|=13.5
	// -> index 2.
	// Bucket [5,9): anchor (2,8); next "bucket" is the last point (9,0), so
	// dx=7, dy=-8. Twice the area |(x-2)*(-8) - (y-8)*7|:
	//   j=5: |-24+28|=4  j=6: |-32-7|=39  j=7: |-40+42|=2  j=8: |-48+21|=27
	// -> index 6.
	xs := seq(10)
	gotX, gotY := LTTB(xs, handYs, 4)
	want := []int{0, 2, 6, 9}
	if !sameFloats(gotX, pick(xs, want)) || !sameFloats(gotY, pick(handYs, want)) {
		t.Fatalf("LTTB = %v %v, want indices %v", gotX, gotY, want)
	}
}

func TestLTTBHandComputedNaN(t *testing.T) {
	// Same as above but index 2 is NaN: bucket [1,5) now compares
	// j=1: 8, j=3: 4.5, j=4: 13.5 -> index 4 (x=4,y=1).
	// Bucket [5,9): anchor (4,1), dx=5, dy=-1; twice the area
	// |(x-4)*(-1) - (y-1)*5|:
	//   j=5: |-1-15|=16  j=6: |-2-40|=42  j=7: |-3-5|=8  j=8: |-4-20|=24
	// -> index 6.
	ys := slices.Clone(handYs)
	ys[2] = math.NaN()
	gotX, gotY := LTTB(seq(10), ys, 4)
	if !sameFloats(gotX, []float64{0, 4, 6, 9}) || !sameFloats(gotY, []float64{0, 1, 9, 0}) {
		t.Fatalf("LTTB = %v %v", gotX, gotY)
	}

	// All-NaN second bucket [5,9): it yields a single gap point (5, NaN).
	// For bucket [1,5) the next average has no y, so it takes the anchor's
	// y=0 and x=6.5: twice the area is |y*6.5|, maximal at index 2 (y=8).
	ys = slices.Clone(handYs)
	for j := 5; j < 9; j++ {
		ys[j] = math.NaN()
	}
	gotX, gotY = LTTB(seq(10), ys, 4)
	if !sameFloats(gotX, []float64{0, 2, 5, 9}) || !sameFloats(gotY, []float64{0, 8, math.NaN(), 0}) {
		t.Fatalf("LTTB = %v %v", gotX, gotY)
	}

	// Leading NaN (no anchor yet) and trailing NaN: kept verbatim as the
	// first and last points; the middle is still chosen from real values.
	ys = slices.Clone(handYs)
	ys[0], ys[9] = math.NaN(), math.NaN()
	gotX, gotY = LTTB(seq(10), ys, 4)
	if len(gotX) != 4 || !math.IsNaN(gotY[0]) || !math.IsNaN(gotY[3]) || math.IsNaN(gotY[1]) || math.IsNaN(gotY[2]) {
		t.Fatalf("LTTB = %v %v", gotX, gotY)
	}

	// Everything NaN: every bucket is a gap point.
	ys = make([]float64, 10)
	for i := range ys {
		ys[i] = math.NaN()
	}
	gotX, gotY = LTTB(seq(10), ys, 4)
	if !sameFloats(gotX, []float64{0, 1, 5, 9}) {
		t.Fatalf("LTTB x = %v", gotX)
	}
	for _, y := range gotY {
		if !math.IsNaN(y) {
			t.Fatalf("LTTB y = %v, want all NaN", gotY)
		}
	}
}

func TestMinMaxHandComputed(t *testing.T) {
	xs := seq(10)
	// threshold 4 -> 2 buckets [0,5) and [5,10):
	//   [0,2,8,3,1]: min 0 at 0, max 8 at 2; [4,9,2,5,0]: max 9 at 6, min 0 at 9.
	gotX, gotY := MinMax(xs, handYs, 4)
	want := []int{0, 2, 6, 9}
	if !sameFloats(gotX, pick(xs, want)) || !sameFloats(gotY, pick(handYs, want)) {
		t.Fatalf("MinMax(4) = %v %v, want indices %v", gotX, gotY, want)
	}
	// threshold 5 -> still 2 buckets, same result (length 4 <= 5).
	gotX, _ = MinMax(xs, handYs, 5)
	if !sameFloats(gotX, pick(xs, want)) {
		t.Fatalf("MinMax(5) = %v, want indices %v", gotX, want)
	}
	// threshold 6 -> 3 buckets [0,3), [3,6), [6,10):
	//   [0,2,8]: 0,2; [3,1,4]: min at 4, max at 5; [9,2,5,0]: max at 6, min at 9.
	gotX, gotY = MinMax(xs, handYs, 6)
	want = []int{0, 2, 4, 5, 6, 9}
	if !sameFloats(gotX, pick(xs, want)) || !sameFloats(gotY, pick(handYs, want)) {
		t.Fatalf("MinMax(6) = %v %v, want indices %v", gotX, gotY, want)
	}
	// Constant bucket: first and last point of the bucket.
	gotX, _ = MinMax(xs, make([]float64, 10), 4)
	if !sameFloats(gotX, []float64{0, 4, 5, 9}) {
		t.Fatalf("MinMax(const) = %v", gotX)
	}
}

func TestMinMaxNaN(t *testing.T) {
	xs := seq(10)
	ys := slices.Clone(handYs)
	// Bucket [0,5) all NaN -> one gap point at x=0.
	// Bucket [5,10) has a single non-NaN value at 7 -> that point once.
	for j := range ys {
		if j != 7 {
			ys[j] = math.NaN()
		}
	}
	gotX, gotY := MinMax(xs, ys, 4)
	if !sameFloats(gotX, []float64{0, 7}) || !sameFloats(gotY, []float64{math.NaN(), 2}) {
		t.Fatalf("MinMax = %v %v", gotX, gotY)
	}
	// NaN ignored among real values.
	ys = slices.Clone(handYs)
	ys[2] = math.NaN() // old max of the first bucket
	gotX, _ = MinMax(xs, ys, 4)
	if !sameFloats(gotX, []float64{0, 3, 6, 9}) {
		t.Fatalf("MinMax = %v", gotX)
	}
}

// referenceLTTB is a direct transcription of Steinarsson's reference
// implementation (without NaN handling), with bucket edges computed in exact
// integer arithmetic. It returns the selected indices.
func referenceLTTB(xs, ys []float64, threshold int) []int {
	n := len(xs)
	out := []int{0}
	a := 0
	b := threshold - 2
	for i := 0; i < b; i++ {
		avgStart := (i+1)*(n-2)/b + 1
		avgEnd := min((i+2)*(n-2)/b+1, n)
		var avgX, avgY float64
		for j := avgStart; j < avgEnd; j++ {
			avgX += xs[j]
			avgY += ys[j]
		}
		avgX /= float64(avgEnd - avgStart)
		avgY /= float64(avgEnd - avgStart)
		rangeOffs := i*(n-2)/b + 1
		rangeTo := (i+1)*(n-2)/b + 1
		maxArea := -1.0
		next := -1
		for j := rangeOffs; j < rangeTo; j++ {
			area := math.Abs((xs[a]-avgX)*(ys[j]-ys[a])-(xs[a]-xs[j])*(avgY-ys[a])) * 0.5
			if area > maxArea {
				maxArea = area
				next = j
			}
		}
		out = append(out, next)
		a = next
	}
	return append(out, n-1)
}

func randomSeries(rng *rand.Rand, n int) (xs, ys []float64) {
	xs = make([]float64, n)
	ys = make([]float64, n)
	x := 0.0
	for i := range xs {
		x += float64(rng.IntN(3)) // duplicates allowed
		xs[i] = x
		ys[i] = math.Round(rng.NormFloat64()*100) / 4 // few distinct values: ties
	}
	return xs, ys
}

func TestLTTBMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 500; iter++ {
		n := 3 + rng.IntN(400)
		threshold := 3 + rng.IntN(n)
		xs, ys := randomSeries(rng, n)
		gotX, gotY := LTTB(xs, ys, threshold)
		if n <= threshold {
			if !sameFloats(gotX, xs) || !sameFloats(gotY, ys) {
				t.Fatalf("n=%d threshold=%d: not a copy", n, threshold)
			}
			continue
		}
		want := referenceLTTB(xs, ys, threshold)
		if !sameFloats(gotX, pick(xs, want)) || !sameFloats(gotY, pick(ys, want)) {
			t.Fatalf("n=%d threshold=%d: got %v, want indices %v", n, threshold, gotX, want)
		}
	}
}

func checkDownsampled(t *testing.T, name string, xs, ys, gotX, gotY []float64, threshold int, exact bool) {
	t.Helper()
	n := min(len(xs), len(ys))
	if len(gotX) != len(gotY) {
		t.Fatalf("%s: len(x)=%d len(y)=%d", name, len(gotX), len(gotY))
	}
	if threshold < 3 || n <= threshold {
		if !sameFloats(gotX, xs[:n]) || !sameFloats(gotY, ys[:n]) {
			t.Fatalf("%s: want unchanged copy", name)
		}
		return
	}
	if exact && len(gotX) != threshold {
		t.Fatalf("%s: len=%d, want %d", name, len(gotX), threshold)
	}
	if len(gotX) > threshold {
		t.Fatalf("%s: len=%d > threshold %d", name, len(gotX), threshold)
	}
	for i := 1; i < len(gotX); i++ {
		if gotX[i] < gotX[i-1] {
			t.Fatalf("%s: x not monotonic at %d: %v < %v", name, i, gotX[i], gotX[i-1])
		}
	}
}

func TestInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 300; iter++ {
		n := rng.IntN(2000)
		threshold := rng.IntN(n+10) - 3
		xs, ys := randomSeries(rng, n)
		for j := range ys {
			if rng.IntN(10) == 0 {
				ys[j] = math.NaN()
			}
		}
		lx, ly := LTTB(xs, ys, threshold)
		checkDownsampled(t, "LTTB", xs, ys, lx, ly, threshold, true)
		if threshold >= 3 && n > threshold {
			if lx[0] != xs[0] || lx[len(lx)-1] != xs[n-1] ||
				!sameFloats(ly[:1], ys[:1]) || !sameFloats(ly[len(ly)-1:], ys[n-1:]) {
				t.Fatalf("LTTB: first/last not preserved")
			}
		}
		mx, my := MinMax(xs, ys, threshold)
		checkDownsampled(t, "MinMax", xs, ys, mx, my, threshold, false)
	}
}

func TestNoNaNExactLengths(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	xs, ys := randomSeries(rng, 1000)
	for _, threshold := range []int{3, 4, 5, 10, 99, 100, 500, 999} {
		lx, _ := LTTB(xs, ys, threshold)
		if len(lx) != threshold {
			t.Errorf("LTTB(%d): len %d", threshold, len(lx))
		}
		mx, _ := MinMax(xs, ys, threshold)
		if len(mx) != threshold/2*2 {
			t.Errorf("MinMax(%d): len %d, want %d", threshold, len(mx), threshold/2*2)
		}
	}
}

func TestSpikeKept(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 5000
	xs := seq(n)
	for _, pos := range []int{0, 1, 2, 17, 1234, 2500, 4321, n - 2, n - 1} {
		for _, sign := range []float64{1, -1} {
			ys := make([]float64, n)
			for i := range ys {
				ys[i] = rng.Float64() // noise in [0,1)
			}
			ys[pos] = sign * 1000
			for _, threshold := range []int{3, 4, 10, 100, 1000} {
				_, ly := LTTB(xs, ys, threshold)
				if !slices.Contains(ly, sign*1000) {
					t.Errorf("LTTB(%d) lost spike at %d", threshold, pos)
				}
				_, my := MinMax(xs, ys, threshold)
				if !slices.Contains(my, sign*1000) {
					t.Errorf("MinMax(%d) lost spike at %d", threshold, pos)
				}
			}
		}
	}
}

func TestUnchangedAndEdgeCases(t *testing.T) {
	xs := seq(10)
	ys := slices.Clone(handYs)
	for _, threshold := range []int{-5, 0, 1, 2, 10, 11, math.MaxInt} {
		for name, f := range map[string]func([]float64, []float64, int) ([]float64, []float64){"LTTB": LTTB, "MinMax": MinMax} {
			gx, gy := f(xs, ys, threshold)
			if !sameFloats(gx, xs) || !sameFloats(gy, ys) {
				t.Fatalf("%s(%d): want input unchanged, got %v %v", name, threshold, gx, gy)
			}
			gx[0] = 42 // must be a copy
			if xs[0] != 0 {
				t.Fatalf("%s(%d) returned the input slice", name, threshold)
			}
		}
	}
	for _, f := range []func([]float64, []float64, int) ([]float64, []float64){LTTB, MinMax} {
		if gx, gy := f(nil, nil, 5); len(gx) != 0 || len(gy) != 0 {
			t.Fatalf("nil input: got %v %v", gx, gy)
		}
		if gx, gy := f([]float64{}, []float64{}, 0); len(gx) != 0 || len(gy) != 0 {
			t.Fatalf("empty input: got %v %v", gx, gy)
		}
		if gx, gy := f([]float64{1}, nil, 5); len(gx) != 0 || len(gy) != 0 {
			t.Fatalf("mismatched input: got %v %v", gx, gy)
		}
		// Mismatched lengths use the common prefix.
		gx, gy := f(xs, ys[:6], 100)
		if !sameFloats(gx, xs[:6]) || !sameFloats(gy, ys[:6]) {
			t.Fatalf("mismatched input: got %v %v", gx, gy)
		}
	}
}

func TestAppendReusesBuffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	xs, ys := randomSeries(rng, 10000)
	wantX, wantY := LTTB(xs, ys, 300)
	dx := []float64{-1, -2}
	dy := []float64{-3, -4}
	gx, gy := AppendLTTB(dx, dy, xs, ys, 300)
	if !sameFloats(gx[:2], dx) || !sameFloats(gy[:2], dy) || !sameFloats(gx[2:], wantX) || !sameFloats(gy[2:], wantY) {
		t.Fatal("AppendLTTB did not append")
	}
	bufX, bufY := make([]float64, 0, 300), make([]float64, 0, 300)
	allocs := testing.AllocsPerRun(20, func() {
		bufX, bufY = AppendLTTB(bufX[:0], bufY[:0], xs, ys, 300)
	})
	if allocs != 0 {
		t.Errorf("AppendLTTB allocs = %v, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(20, func() {
		bufX, bufY = AppendMinMax(bufX[:0], bufY[:0], xs, ys, 300)
	})
	if allocs != 0 {
		t.Errorf("AppendMinMax allocs = %v, want 0", allocs)
	}
	wantX, wantY = MinMax(xs, ys, 300)
	if !sameFloats(bufX, wantX) || !sameFloats(bufY, wantY) {
		t.Fatal("AppendMinMax differs from MinMax")
	}
}

// fuzzSeries decodes fuzz input into a series with non-decreasing x: each
// pair of bytes gives an x step in [0,3] and a y value, where 0x80 encodes NaN
// and 0x7f and 0x81 encode +Inf and -Inf.
func fuzzSeries(data []byte) (xs, ys []float64) {
	n := len(data) / 2
	xs = make([]float64, n)
	ys = make([]float64, n)
	x := 0.0
	for i := 0; i < n; i++ {
		x += float64(data[2*i] % 4)
		xs[i] = x
		switch b := data[2*i+1]; b {
		case 0x80:
			ys[i] = math.NaN()
		case 0x7f:
			ys[i] = math.Inf(1)
		case 0x81:
			ys[i] = math.Inf(-1)
		default:
			ys[i] = float64(int8(b))
		}
	}
	return xs, ys
}

func FuzzLTTB(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 1, 8, 1, 3, 1, 1, 1, 4, 1, 9, 1, 2, 1, 5, 1, 0}, 4)
	f.Add([]byte{1, 0x80, 1, 0x80, 1, 5, 0, 0x7f, 2, 0x81, 1, 0x80}, 3)
	f.Fuzz(func(t *testing.T, data []byte, threshold int) {
		xs, ys := fuzzSeries(data)
		lx, ly := LTTB(xs, ys, threshold)
		checkDownsampled(t, "LTTB", xs, ys, lx, ly, threshold, true)
		mx, my := MinMax(xs, ys, threshold)
		checkDownsampled(t, "MinMax", xs, ys, mx, my, threshold, false)
		ax, ay := AppendLTTB(nil, nil, xs, ys, threshold)
		if !sameFloats(ax, lx) || !sameFloats(ay, ly) {
			t.Fatal("AppendLTTB differs from LTTB")
		}
	})
}
