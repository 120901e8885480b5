// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package embed

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blob returns n vectors of length dim: mean + Σ_c a_c·dirs[c] with
// a_c ~ N(0, sd[c]²), plus N(0, noise²) in every coordinate.
func blob(rng *rand.Rand, n, dim int, mean []float64, dirs [][]float64, sd []float64, noise float64) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		v := make([]float32, dim)
		a := make([]float64, len(dirs))
		for c := range dirs {
			a[c] = rng.NormFloat64() * sd[c]
		}
		for j := range v {
			x := rng.NormFloat64() * noise
			if mean != nil {
				x += mean[j]
			}
			for c, d := range dirs {
				x += a[c] * d[j]
			}
			v[j] = float32(x)
		}
		out[i] = v
	}
	return out
}

// unitVec returns a random unit vector of length dim.
func unitVec(rng *rand.Rand, dim int) []float64 {
	v := make([]float64, dim)
	var n float64
	for j := range v {
		v[j] = rng.NormFloat64()
		n += v[j] * v[j]
	}
	for j := range v {
		v[j] /= math.Sqrt(n)
	}
	return v
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// orthonormal returns three orthonormal random vectors of length dim.
func orthonormal(rng *rand.Rand, dim int) [][]float64 {
	var out [][]float64
	for len(out) < 3 {
		v := unitVec(rng, dim)
		for _, u := range out {
			d := dot(v, u)
			for j := range v {
				v[j] -= d * u[j]
			}
		}
		n := math.Sqrt(dot(v, v))
		for j := range v {
			v[j] /= n
		}
		out = append(out, v)
	}
	return out
}

func TestProjectorFindsDominantDirection(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const dim = 32
	dirs := orthonormal(rng, dim)
	mean := make([]float64, dim)
	for j := range mean {
		mean[j] = 3
	}
	vecs := blob(rng, 200, dim, mean, dirs, []float64{10, 4, 2}, 0.05)
	p := NewProjector(200, 50)
	for _, v := range vecs {
		p.Add(v)
	}
	require.True(t, p.Refit())
	f := p.fit
	for c := range 3 {
		assert.Greater(t, math.Abs(dot(f.comps[c], dirs[c])), 0.99, "component %d is not the planted direction", c)
	}
	assert.Greater(t, f.vars[0], f.vars[1])
	assert.Greater(t, f.vars[1], f.vars[2])
	assert.InDelta(t, 100, f.vars[0], 25, "variance along the dominant direction")

	// mean + 5·dirs[0] lands at ±5 on the first axis and ~0 on the others.
	probe := make([]float32, dim)
	for j := range probe {
		probe[j] = float32(f.mean[j] + 5*dirs[0][j])
	}
	pt, ok := p.Project(probe)
	require.True(t, ok)
	assert.InDelta(t, 5, math.Abs(pt[0]), 0.25)
	assert.InDelta(t, 0, pt[1], 0.25)
	assert.InDelta(t, 0, pt[2], 0.25)
}

func TestProjectorSignStability(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const dim = 16
	dirs := orthonormal(rng, dim)
	vecs := blob(rng, 120, dim, nil, dirs, []float64{8, 4, 2}, 0.1)

	// Fit directly: a refit on a slightly different window follows the
	// previous fit's signs, whichever they were.
	f1 := fitPCA(vecs[:100], dim, nil)
	require.NotNil(t, f1)
	mirrored := &pcaFit{mean: f1.mean}
	for c, comp := range f1.comps {
		mirrored.comps[c] = make([]float64, dim)
		for j, x := range comp {
			mirrored.comps[c][j] = -x
		}
	}
	for _, prev := range []*pcaFit{f1, mirrored} {
		f2 := fitPCA(vecs[10:110], dim, prev)
		require.NotNil(t, f2)
		for c := range 3 {
			assert.Greater(t, dot(f2.comps[c], prev.comps[c]), 0.95, "component %d flipped", c)
		}
	}

	// Through the Projector: a fixed probe barely moves across refits.
	p := NewProjector(100, 10)
	probe := vecs[0]
	var last [3]float64
	fits := 0
	for i, v := range vecs {
		p.Add(v)
		if i < 99 {
			continue
		}
		pt, ok := p.Project(probe)
		require.True(t, ok)
		if p.Fits() != fits && fits > 0 {
			for c := range 3 {
				assert.Less(t, math.Abs(pt[c]-last[c]), 0.5, "axis %d jumped from %.3f to %.3f at a refit", c, last[c], pt[c])
				assert.Equal(t, pt[c] > 0, last[c] > 0, "axis %d changed sign", c)
			}
		}
		fits, last = p.Fits(), pt
	}
	assert.GreaterOrEqual(t, p.Fits(), 4)
}

func TestProjectorWindowSlides(t *testing.T) {
	p := NewProjector(5, 1)
	var vecs [][]float32
	for i := range 8 {
		v := []float32{float32(i), float32(i * i), float32(i % 3), 1}
		vecs = append(vecs, v)
		_, ok := p.Add(v)
		assert.Equal(t, i >= MinFitVectors-1, ok, "add %d", i)
	}
	assert.Equal(t, 5, p.Len())
	// The fit (made after the last Add) is centred on the last 5 vectors.
	want := make([]float64, 4)
	for _, v := range vecs[3:] {
		for j, x := range v {
			want[j] += float64(x) / 5
		}
	}
	assert.InDeltaSlice(t, want, p.fit.mean, 1e-9)
	// The caller's slice is copied.
	vecs[7][0] = 1000
	assert.Equal(t, float32(7), p.buf[(p.next+4)%5][0])
}

func TestProjectorFirstFitAndRefitSchedule(t *testing.T) {
	p := NewProjector(1000, 100)
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range 2 {
		_, ok := p.Add([]float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), 1})
		assert.False(t, ok, "no fit before %d vectors (add %d)", MinFitVectors, i)
	}
	fitsAt := []int{}
	for i := 2; i < 250; i++ {
		before := p.Fits()
		_, ok := p.Add([]float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), 1})
		require.True(t, ok)
		if p.Fits() > before {
			fitsAt = append(fitsAt, i+1)
		}
	}
	// Doubling while the window fills, then every 100.
	assert.Equal(t, []int{3, 6, 12, 24, 48, 96, 192}, fitsAt)
}

func TestProjectorRejectsNonFinite(t *testing.T) {
	p := NewProjector(10, 1)
	for i := range 5 {
		_, ok := p.Add([]float32{float32(i), float32(2 * i), float32(i % 2)})
		require.Equal(t, i >= 2, ok)
	}
	before := p.fit
	for _, bad := range [][]float32{
		{float32(math.NaN()), 1, 2},
		{1, float32(math.Inf(1)), 2},
		{1, 2, float32(math.Inf(-1))},
		{},
		nil,
	} {
		_, ok := p.Add(bad)
		assert.False(t, ok, "%v", bad)
		_, ok = p.Project(bad)
		assert.False(t, ok, "%v", bad)
	}
	assert.Equal(t, 5, p.Len())
	assert.Same(t, before, p.fit, "rejected vectors must not trigger a fit")
	pt, ok := p.Add([]float32{1, 1, 1})
	require.True(t, ok)
	for _, x := range pt {
		assert.False(t, math.IsNaN(x) || math.IsInf(x, 0))
	}
}

func TestProjectorDimsMismatch(t *testing.T) {
	p := NewProjector(10, 1)
	for i := range 4 {
		p.Add([]float32{float32(i), float32(i * i), 0})
	}
	_, ok := p.Add([]float32{1, 2, 3, 4})
	assert.False(t, ok)
	_, ok = p.Project([]float32{1, 2})
	assert.False(t, ok)
	assert.Equal(t, 4, p.Len())

	p.Reset()
	assert.Equal(t, 0, p.Len())
	_, ok = p.Project([]float32{1, 2, 3})
	assert.False(t, ok, "no fit after Reset")
	for i := range 3 {
		_, ok = p.Add([]float32{float32(i), 1, float32(-i), 2})
	}
	assert.True(t, ok, "a new length is accepted after Reset")
}

func TestProjectorFewDimensionsPad(t *testing.T) {
	p := NewProjector(10, 1)
	var pt [3]float64
	var ok bool
	for i := range 6 {
		pt, ok = p.Add([]float32{float32(i), float32(i%2) * 3})
	}
	require.True(t, ok)
	assert.Equal(t, 0.0, pt[2], "a 2-D vector has no third component")
	assert.NotEqual(t, 0.0, pt[0])

	// Three points span two directions once centred: the third is zero.
	q := NewProjector(10, 1)
	q.Add([]float32{0, 0, 0, 0})
	q.Add([]float32{1, 0, 0, 0})
	pt, ok = q.Add([]float32{0, 1, 0, 0})
	require.True(t, ok)
	assert.Nil(t, q.fit.comps[2])
	assert.Equal(t, 0.0, pt[2])

	// Identical vectors: no direction at all, every point at the origin.
	r := NewProjector(10, 1)
	for range 4 {
		pt, ok = r.Add([]float32{1, 2, 3})
	}
	require.True(t, ok)
	assert.Equal(t, [3]float64{}, pt)
}

func TestProjectorDefaults(t *testing.T) {
	p := NewProjector(0, 0)
	assert.Equal(t, DefaultWindow, p.window)
	assert.Equal(t, DefaultRefitEvery, p.refitEvery)
	assert.Equal(t, MinFitVectors, NewProjector(1, 1).window)
	assert.Equal(t, maxWindow, NewProjector(1<<30, 1).window)
	assert.False(t, p.Refit(), "nothing to fit")
}

func TestProjectorConcurrent(t *testing.T) {
	for _, bg := range []bool{false, true} {
		testProjectorConcurrent(t, bg)
	}
}

func testProjectorConcurrent(t *testing.T, background bool) {
	p := NewProjector(64, 8)
	p.SetBackgroundFits(background)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for i := range 200 {
				v := make([]float32, 24)
				for j := range v {
					v[j] = float32(rng.NormFloat64())
				}
				if pt, ok := p.Add(v); ok {
					for _, x := range pt {
						if math.IsNaN(x) {
							t.Errorf("NaN point")
						}
					}
				}
				if i%50 == 0 {
					p.Refit()
					p.Project(v)
				}
				if g == 0 && i == 100 {
					p.Reset()
				}
			}
		}()
	}
	wg.Wait()
	p.Wait()
	assert.LessOrEqual(t, p.Len(), 64)
}

func TestPCAGramMatchesStatPC(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	const n, dim = 40, 120 // wider than tall: fitPCA takes the Gram path
	dirs := orthonormal(rng, dim)
	vecs := blob(rng, n, dim, nil, dirs, []float64{6, 3, 1.5}, 0.2)
	x, _ := centred(vecs, dim)
	dc, dv := pcaDirect(x)
	gc, gv := pcaGram(x)
	require.Len(t, dc, 3)
	require.Len(t, gc, 3)
	for c := range 3 {
		assert.InEpsilon(t, dv[c], gv[c], 1e-9, "variance %d", c)
		assert.InDelta(t, 1, math.Abs(dot(dc[c], gc[c])), 1e-9, "component %d", c)
		assert.InDelta(t, 1, dot(gc[c], gc[c]), 1e-12, "unit length")
	}
	f := fitPCA(vecs, dim, nil)
	require.NotNil(t, f)
	for c := range 3 {
		assert.Greater(t, math.Abs(dot(f.comps[c], dirs[c])), 0.95)
	}
}

func TestProjectorBackgroundFits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const dim = 20
	dirs := orthonormal(rng, dim)
	vecs := blob(rng, 400, dim, nil, dirs, []float64{5, 2, 1}, 0.1)
	p := NewProjector(100, 25)
	p.SetBackgroundFits(true)
	_, ok := p.Add(vecs[0])
	assert.False(t, ok)
	p.Add(vecs[1])
	_, ok = p.Add(vecs[2])
	assert.True(t, ok, "the first fit runs in the caller")
	for i, v := range vecs[3:] {
		_, ok := p.Add(v)
		require.True(t, ok)
		if i%50 == 0 {
			// Let the fit in flight finish now and then: on a busy machine the loop can
			// otherwise outrun every background fit but one made on the first few vectors.
			p.Wait()
		}
	}
	p.Wait()
	assert.Greater(t, p.Fits(), 1, "refits ran in the background")
	assert.False(t, p.fitting)
	assert.Greater(t, math.Abs(dot(p.fit.comps[0], dirs[0])), 0.99)

	// A Reset during a background fit discards it.
	p.Reset()
	p.Wait()
	_, ok = p.Project(vecs[0])
	assert.False(t, ok)
}

// FuzzProjectorCategorizer feeds arbitrary vectors (any float bits, any
// lengths) through a Projector and a Categorizer: nothing may panic, and
// every point returned must be finite.
func FuzzProjectorCategorizer(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}, uint8(2))
	f.Add([]byte{0, 0, 0xc0, 0x7f, 0xff, 0xff, 0x7f, 0x7f, 1, 2, 3, 4}, uint8(3))
	f.Add([]byte{0xff, 0xff, 0x7f, 0x7f, 0xff, 0xff, 0x7f, 0xff, 0, 0, 0, 0, 1, 0, 0, 0}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, width uint8) {
		w := int(width%8) + 1
		p := NewProjector(8, 2)
		c := NewCategorizer(nil, 3)
		for off := 0; off+4*w <= len(data); off += 4 * w {
			v := make([]float32, w)
			for j := range v {
				b := data[off+4*j:]
				v[j] = math.Float32frombits(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
			}
			pt, ok := p.Add(v)
			if ok {
				for _, x := range pt {
					if math.IsNaN(x) {
						t.Fatalf("NaN point from %v", v)
					}
				}
			}
			_ = c.Category("", pt)
		}
	})
}

// Fits paced to 10 s apart and 1% of a core, on a fixed clock moved by hand, with each fit taken
// to last 10 ms: the doubling fits wait 990 ms after the last, the refitEvery ones 10 s.
func TestProjectorFitPacing(t *testing.T) {
	p := NewProjector(1000, 10)
	now := time.Unix(0, 0)
	p.now = func() time.Time { return now }
	p.SetFitPacing(10*time.Second, 0.01)
	rng := rand.New(rand.NewPCG(4, 4))
	add := func() {
		_, _ = p.Add([]float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), 1})
		p.mu.Lock()
		p.lastDur = 10 * time.Millisecond // what the last fit took, on the fake clock
		p.mu.Unlock()
	}
	for range 3 {
		add()
	}
	require.Equal(t, 1, p.Fits(), "the first fit is never held back")
	for range 3 {
		add()
	}
	assert.Equal(t, 1, p.Fits(), "the window doubled, but less than 990 ms after a 10 ms fit")
	now = now.Add(990 * time.Millisecond)
	add()
	assert.Equal(t, 2, p.Fits(), "doubled, and 990 ms since the last fit")
	for range 30 {
		add()
	}
	assert.Equal(t, 2, p.Fits(), "the window doubled again, but no time passed")
	now = now.Add(time.Second)
	add()
	assert.Equal(t, 3, p.Fits(), "doubled (38 >= 14), and 1 s since")
	for range 20 {
		add()
	}
	now = now.Add(5 * time.Second)
	add()
	assert.Equal(t, 3, p.Fits(), "21 new vectors (>= refitEvery) but only 5 s since the last fit")
	now = now.Add(5 * time.Second)
	add()
	assert.Equal(t, 4, p.Fits(), "10 s since the last fit")
}

// Subspace iteration (the path of large windows) finds what stat.PC's full SVD finds: the same
// variances and, up to sign, the same components; from a previous fit it settles too.
func TestPCASubspaceMatchesStatPC(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	const n, dim = 400, 200
	dirs := orthonormal(rng, dim)
	vecs := blob(rng, n, dim, nil, dirs, []float64{6, 3, 1.5}, 0.2)
	x, _ := centred(vecs, dim)
	dc, dv := pcaDirect(x)
	sc, sv := pcaSubspace(x, nil)
	require.Len(t, sc, 3)
	for c := range 3 {
		assert.InEpsilon(t, dv[c], sv[c], 1e-8, "variance %d", c)
		assert.InDelta(t, 1, math.Abs(dot(dc[c], sc[c])), 1e-8, "component %d", c)
		assert.InDelta(t, 1, dot(sc[c], sc[c]), 1e-10, "unit length")
	}
	f := fitPCA(vecs, dim, nil) // min(n, dim) > subspaceMinSize: the subspace path
	require.NotNil(t, f)
	for c := range 3 {
		assert.InDelta(t, 1, math.Abs(dot(f.comps[c], dc[c])), 1e-8)
	}
	// A refit of a slightly different window starts from f and keeps its signs.
	vecs2 := append(vecs[10:], blob(rng, 10, dim, nil, dirs, []float64{6, 3, 1.5}, 0.2)...)
	g := fitPCA(vecs2, dim, f)
	require.NotNil(t, g)
	for c := range 3 {
		assert.Greater(t, dot(f.comps[c], g.comps[c]), 0.99, "component %d kept its direction and sign", c)
	}
}

// A window of few distinct prompts (a benchmark repeating its 5 prompts) has rank 4 once
// centred, below the block size; one prompt repeated has rank 0.
func TestPCASubspaceLowRank(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const n, dim = 300, 200
	distinct := blob(rng, 5, dim, nil, orthonormal(rng, dim), []float64{4, 2, 1}, 0.3)
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = distinct[i%5]
	}
	x, _ := centred(vecs, dim)
	dc, dv := pcaDirect(x)
	sc, sv := pcaSubspace(x, nil)
	require.Len(t, sc, 3)
	for c := range 3 {
		assert.InEpsilon(t, dv[c], sv[c], 1e-8, "variance %d", c)
		assert.InDelta(t, 1, math.Abs(dot(dc[c], sc[c])), 1e-8, "component %d", c)
	}
	for i := range vecs {
		vecs[i] = distinct[0]
	}
	f := fitPCA(vecs, dim, nil)
	require.NotNil(t, f)
	for c := range 3 {
		assert.Nil(t, f.comps[c], "no direction in a window of one point")
	}
}
