// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package embed

import (
	"math"
	"sync"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

const (
	// DefaultWindow is the window of [NewProjector] when it is given 0.
	DefaultWindow = 256
	// DefaultRefitEvery is the refit interval of [NewProjector] when it is
	// given 0.
	DefaultRefitEvery = 64
	// MinFitVectors is the fewest vectors a PCA is fitted on. Fewer than
	// three centred points span at most one direction.
	MinFitVectors = 3
	// maxWindow bounds the window, whatever NewProjector is given.
	maxWindow = 1 << 16
	// degenerateVar is the variance, relative to the first component's,
	// below which a component is taken as zero: its direction is
	// arbitrary (n vectors span at most n-1 directions once centred).
	degenerateVar = 1e-12
)

// Projector projects vectors to three dimensions with a principal
// components analysis fitted over a sliding window of the most recent
// vectors. It is safe for concurrent use.
//
// Fits happen inside [Projector.Add]: the first once the window holds
// MinFitVectors vectors, then whenever refitEvery vectors have been added
// since the last fit or the window has doubled since then (so the early
// fits, made on few vectors, are soon replaced). A fit runs without the
// lock held: other goroutines keep projecting with the previous fit
// meanwhile, and only one fit runs at a time. By default the goroutine
// whose Add makes a refit due runs it before returning, so results depend
// only on the sequence of calls; with [Projector.SetBackgroundFits] refits
// after the first run in a goroutine of their own instead.
//
// Points are comparable across fits: each fit is centred on its window's
// mean, and each component's sign is chosen to agree with the same
// component of the previous fit (the first fit makes each component's
// largest entry positive), so a refit on a slightly different window moves
// points only slightly instead of mirroring them.
//
// Memory is bounded by the window: window × dim × 4 bytes for the vectors,
// plus about 3 × window × min(window, dim) × 8 + window × dim × 8 bytes
// while a fit runs. A fit of a full window of 256 vectors of 4096 values takes
// about 0.2 s of one core, one of 2000 vectors of 1536 values about 1.6 s,
// by subspace iteration (see BenchmarkFitPCA and subspaceCheaper).
type Projector struct {
	window     int
	refitEvery int

	mu         sync.Mutex
	buf        [][]float32 // ring of the window's vectors; rows are never modified
	next       int         // where the next vector goes once buf is full
	dim        int         // length of the window's vectors; 0 when empty
	sinceFit   int         // vectors added since the last fit's snapshot
	fitLen     int         // window length the current fit was made on
	fitting    bool
	fit        *pcaFit
	fits       int
	gen        int // incremented by Reset, to discard a fit that outlived it
	background bool
	running    sync.WaitGroup // background fits

	// Pacing (SetFitPacing): a refit that refitEvery makes due waits until
	// minInterval has passed since the last fit ended, and any refit until
	// the time since then is at least lastDur × (1/maxShare − 1).
	now         func() time.Time
	minInterval time.Duration
	maxShare    float64 // 0: no cost limit
	lastEnd     time.Time
	lastDur     time.Duration
}

// pcaFit is one fitted projection.
type pcaFit struct {
	mean  []float64
	comps [3][]float64 // unit vectors; nil for a missing component
	vars  [3]float64   // variance along each component
}

// NewProjector returns a Projector over the last window vectors that
// refits after every refitEvery new vectors. Zero or negative values take
// DefaultWindow and DefaultRefitEvery; the window is at least
// MinFitVectors and at most 65536.
func NewProjector(window, refitEvery int) *Projector {
	if window <= 0 {
		window = DefaultWindow
	}
	window = min(max(window, MinFitVectors), maxWindow)
	if refitEvery <= 0 {
		refitEvery = DefaultRefitEvery
	}
	return &Projector{window: window, refitEvery: refitEvery, now: time.Now}
}

// SetFitPacing bounds the time spent fitting when vectors come fast. A
// refit made due by refitEvery new vectors waits until minInterval has
// passed since the last fit ended; and every refit after the first (that
// of a window which doubled too) waits until the time since the last fit
// ended is at least that fit's duration × (1/maxShare − 1), so that fits
// take at most maxShare of one core (0.01: 1%). Zero values leave either
// bound off; by default there is none, and fits depend only on the
// sequence of calls. Points between fits use the last fit, so a paced
// projection follows a changing workload up to an interval late.
func (p *Projector) SetFitPacing(minInterval time.Duration, maxShare float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.minInterval, p.maxShare = max(minInterval, 0), 0
	if maxShare > 0 && maxShare < 1 {
		p.maxShare = maxShare
	}
}

// SetBackgroundFits sets whether refits, once there is a first fit, run in
// a goroutine of their own, so that no Add waits for one: the Add that
// makes a refit due returns at once, projecting with the previous fit.
// [Projector.Wait] waits for a running one. The first fit, and fits made by
// [Projector.Refit], always run in the caller.
func (p *Projector) SetBackgroundFits(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.background = on
}

// Wait waits until no background fit is running.
func (p *Projector) Wait() { p.running.Wait() }

// Add adds v to the window (dropping the oldest vector beyond the window),
// refits when due, and returns v's projection under the current fit. It
// reports false, and adds nothing, when v is empty, holds a NaN or an
// infinity, or differs in length from the vectors in the window; it also
// reports false while there is no fit yet (fewer than MinFitVectors
// vectors). v is copied; the caller may reuse it.
func (p *Projector) Add(v []float32) (point [3]float64, ok bool) {
	if !finite(v) {
		return point, false
	}
	row := append([]float32(nil), v...)

	p.mu.Lock()
	if len(p.buf) == 0 {
		p.dim = len(v)
	} else if len(v) != p.dim {
		p.mu.Unlock()
		return point, false
	}
	if len(p.buf) < p.window {
		p.buf = append(p.buf, row)
	} else {
		p.buf[p.next] = row
		p.next = (p.next + 1) % p.window
	}
	p.sinceFit++
	if p.dueLocked() {
		if p.background && p.fit != nil {
			p.startFitLocked()
		} else {
			p.refitLocked()
		}
	}
	f := p.fit
	p.mu.Unlock()

	if f == nil {
		return point, false
	}
	return f.project(v), true
}

// Project returns v's projection under the current fit without adding it
// to the window. It reports false when there is no fit yet or v is not a
// finite vector of the window's length.
func (p *Projector) Project(v []float32) (point [3]float64, ok bool) {
	if !finite(v) {
		return point, false
	}
	p.mu.Lock()
	f := p.fit
	p.mu.Unlock()
	if f == nil || len(v) != len(f.mean) {
		return point, false
	}
	return f.project(v), true
}

// Refit fits the window now, in the caller, unless it holds fewer than
// MinFitVectors vectors or another fit is running, and reports whether it
// made a new fit.
func (p *Projector) Refit() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fitting || len(p.buf) < MinFitVectors {
		return false
	}
	before := p.fits
	p.refitLocked()
	return p.fits > before
}

// Len returns the number of vectors in the window.
func (p *Projector) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.buf)
}

// Fits returns the number of fits made so far.
func (p *Projector) Fits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fits
}

// Reset empties the window and drops the fit, for instance when the model
// whose vectors are added changes and with it their length or meaning. A
// fit running at the time is discarded.
func (p *Projector) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf, p.next, p.dim, p.sinceFit, p.fitLen, p.fit = nil, 0, 0, 0, 0, nil
	p.gen++
}

// dueLocked reports whether a fit is due.
func (p *Projector) dueLocked() bool {
	if p.fitting || len(p.buf) < MinFitVectors {
		return false
	}
	if p.fit == nil {
		return true
	}
	if len(p.buf) >= 2*p.fitLen {
		return p.pacedLocked(0)
	}
	return p.sinceFit >= p.refitEvery && p.pacedLocked(p.minInterval)
}

// pacedLocked reports whether at least wait, and the time that keeps
// fitting within maxShare, have passed since the last fit ended.
func (p *Projector) pacedLocked(wait time.Duration) bool {
	if p.maxShare > 0 {
		wait = max(wait, time.Duration(float64(p.lastDur)*(1/p.maxShare-1)))
	}
	return wait <= 0 || p.now().Sub(p.lastEnd) >= wait
}

// fitJob is a snapshot of the window to fit and what installing the
// result needs to know.
type fitJob struct {
	rows    [][]float32
	dim     int
	prev    *pcaFit
	counted int // sinceFit at the snapshot
	gen     int
	start   time.Time
}

// snapshotLocked marks a fit as running and returns its job.
func (p *Projector) snapshotLocked() fitJob {
	rows := make([][]float32, len(p.buf))
	copy(rows, p.buf) // rows are immutable, so sharing them is safe
	p.fitting = true
	return fitJob{rows: rows, dim: p.dim, prev: p.fit, counted: p.sinceFit, gen: p.gen, start: p.now()}
}

// installLocked ends the running fit and installs its result f, unless
// Reset was called meanwhile or the fit failed (f nil).
func (p *Projector) installLocked(j fitJob, f *pcaFit) {
	p.fitting = false
	if p.gen != j.gen {
		return
	}
	p.lastEnd = p.now()
	p.lastDur = p.lastEnd.Sub(j.start)
	p.sinceFit = max(0, p.sinceFit-j.counted)
	if f != nil {
		p.fit, p.fitLen = f, len(j.rows)
		p.fits++
	}
}

// refitLocked fits a snapshot of the window with p.mu released for the
// duration of the fit, and installs the result. It is called, and returns,
// with p.mu held.
func (p *Projector) refitLocked() {
	j := p.snapshotLocked()
	p.mu.Unlock()
	f := fitPCA(j.rows, j.dim, j.prev)
	p.mu.Lock()
	p.installLocked(j, f)
}

// startFitLocked starts fitting a snapshot of the window in a goroutine.
func (p *Projector) startFitLocked() {
	j := p.snapshotLocked()
	p.running.Add(1)
	go func() {
		defer p.running.Done()
		f := fitPCA(j.rows, j.dim, j.prev)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.installLocked(j, f)
	}()
}

// fitPCA fits the top three principal components of rows (each of length
// dim), with signs aligned to prev. It returns nil if the decomposition
// fails.
//
// With no more dimensions than vectors it uses stat.PC, a thin SVD of the
// centred n × d data. With more dimensions than vectors (a window of 256
// vectors of 4096 values) it uses the same decomposition through the n × n
// Gram matrix G = X Xᵀ of the centred data X = U S Vᵀ: G = U S² Uᵀ, so the
// SVD of G (mat.SVD; G is symmetric positive semi-definite) gives U and
// S², and each component is v_i = Xᵀ u_i / s_i. That costs O(n² d) instead
// of the SVD of a wide matrix: at 256 × 4096, 1.6 times faster in a
// quarter of the memory.
func fitPCA(rows [][]float32, dim int, prev *pcaFit) *pcaFit {
	n := len(rows)
	x, mean := centred(rows, dim)
	var comps [][]float64
	var vars []float64
	switch {
	case subspaceCheaper(n, dim):
		comps, vars = pcaSubspace(x, prev)
	case dim <= n:
		comps, vars = pcaDirect(x)
	default:
		comps, vars = pcaGram(x)
	}
	if vars == nil {
		return nil
	}
	f := &pcaFit{mean: mean}
	if prev != nil && len(prev.mean) != dim {
		prev = nil
	}
	for c := range comps {
		comp := comps[c]
		if comp == nil || !(vars[c] > degenerateVar*vars[0]) || math.IsInf(vars[c], 0) || !finite64(comp) {
			continue // a direction the window does not determine
		}
		if flip(comp, prev, c) {
			for j := range comp {
				comp[j] = -comp[j]
			}
		}
		f.comps[c], f.vars[c] = comp, vars[c]
	}
	return f
}

// centred returns rows (each of length dim) as an n × dim matrix with each
// column's mean subtracted, and those means.
func centred(rows [][]float32, dim int) (x *mat.Dense, mean []float64) {
	mean = make([]float64, dim)
	for _, r := range rows {
		for j, v := range r {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(len(rows))
	}
	x = mat.NewDense(len(rows), dim, nil)
	for i, r := range rows {
		dst := x.RawRowView(i)
		for j, v := range r {
			dst[j] = float64(v) - mean[j]
		}
	}
	return x, mean
}

// subspaceCheaper reports whether subspace iteration, at its most passes,
// costs fewer flops than the exact decomposition fitPCA would use: the SVD
// of the n × d window (about 4nd² + 20d³ in gonum, d ≤ n) or of its Gram
// matrix (n²d + 20n³, d > n). A window of 2000 prompts of a 1536-wide model
// takes a minute by SVD on one core and about 1.6 s by subspace iteration;
// a window of 256 prompts of a 4096-wide model is cheaper through the Gram
// matrix.
func subspaceCheaper(n, d int) bool {
	fn, fd := float64(n), float64(d)
	exact := 4*fn*fd*fd + 20*fd*fd*fd
	if d > n {
		exact = fn*fn*fd + 20*fn*fn*fn
	}
	return 4*subspaceBlock*subspaceMaxPasses*fn*fd < exact
}

// Subspace iteration: block size (3 plus oversampling, which speeds
// convergence when the third and fourth variances are close), passes, and
// the change of the leading variances below which it stops early.
const (
	subspaceBlock     = 8
	subspaceMaxPasses = 40
	subspaceTol       = 1e-10
)

// pcaSubspace returns the three leading components of the centred rows of x
// and their variances by block subspace iteration (Golub & Van Loan,
// "Matrix Computations", 4th ed., §8.2.4, orthogonal iteration; with a
// Rayleigh–Ritz step, §8.2.6): Q ← orth(Xᵀ X Q) until the Ritz values of
// the covariance on span(Q) settle, then the eigenvectors of QᵀXᵀXQ,
// mapped back through Q, are the components. It starts from the previous
// fit's components when their width matches (a refit on a slightly moved
// window then settles in a few passes), else from a fixed pseudo-random
// block, so a fit depends only on its window and the previous fit. vars is
// nil if a factorization fails.
func pcaSubspace(x *mat.Dense, prev *pcaFit) (comps [][]float64, vars []float64) {
	n, d := x.Dims()
	k := min(subspaceBlock, n, d)
	q := mat.NewDense(d, k, nil)
	state := uint64(0x9E3779B97F4A7C15) // xorshift64: a fixed start, no global random state
	for j := range k {
		for i := range d {
			state ^= state << 13
			state ^= state >> 7
			state ^= state << 17
			q.Set(i, j, float64(state>>11)/float64(1<<52)-1)
		}
	}
	if prev != nil && len(prev.mean) == d {
		for c, comp := range prev.comps {
			if comp != nil && c < k {
				q.SetCol(c, comp)
			}
		}
	}
	y := mat.NewDense(n, k, nil)
	var b mat.SymDense
	var eig mat.EigenSym
	last := [3]float64{-1, -1, -1}
	for pass := range subspaceMaxPasses {
		orthonormalize(q)
		y.Mul(x, q)
		b.SymOuterK(1, y.T()) // Qᵀ Xᵀ X Q
		final := pass == subspaceMaxPasses-1
		if !eig.Factorize(&b, true) {
			return nil, nil
		}
		vals := eig.Values(nil) // ascending
		var top [3]float64
		settled := true
		for c := range min(3, k) {
			top[c] = vals[k-1-c]
			settled = settled && math.Abs(top[c]-last[c]) <= subspaceTol*math.Max(vals[k-1], math.SmallestNonzeroFloat64)
		}
		last = top
		if settled || final {
			var w, v mat.Dense
			eig.VectorsTo(&w)
			v.Mul(q, &w) // d × k, columns in ascending order of variance
			for c := range min(3, k) {
				comps = append(comps, mat.Col(nil, k-1-c, &v))
				vars = append(vars, math.Max(top[c], 0)/float64(max(n-1, 1)))
			}
			return comps, vars
		}
		q.Mul(x.T(), y) // Xᵀ X Q
	}
	return nil, nil // not reached: the last pass returns
}

// orthonormalize makes q's columns orthonormal by modified Gram–Schmidt,
// run twice (enough for orthogonality to working precision). A column with
// nothing left after the ones before it (a window of rank below the block
// size) becomes zero, and its Ritz value zero.
func orthonormalize(q *mat.Dense) {
	_, k := q.Dims()
	cols := make([][]float64, k)
	for j := range k {
		cols[j] = mat.Col(nil, j, q)
	}
	for range 2 {
		for j := range k {
			before := floats.Norm(cols[j], 2)
			for i := range j {
				floats.AddScaled(cols[j], -floats.Dot(cols[i], cols[j]), cols[i])
			}
			norm := floats.Norm(cols[j], 2)
			if norm <= 1e-10*before || norm == 0 {
				for i := range cols[j] {
					cols[j][i] = 0
				}
				continue
			}
			floats.Scale(1/norm, cols[j])
		}
	}
	for j := range k {
		q.SetCol(j, cols[j])
	}
}

// pcaDirect returns up to three leading components of the centred rows of
// x, and their variances, by stat.PC. vars is nil if the SVD failed.
func pcaDirect(x *mat.Dense) (comps [][]float64, vars []float64) {
	var pc stat.PC
	if !pc.PrincipalComponents(x, nil) {
		return nil, nil
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	vars = pc.VarsTo(nil)
	k := min(3, len(vars))
	for c := range k {
		comps = append(comps, mat.Col(nil, c, &vecs))
	}
	return comps, vars[:k]
}

// pcaGram is pcaDirect through the Gram matrix, for x wider than tall.
func pcaGram(x *mat.Dense) (comps [][]float64, vars []float64) {
	n, _ := x.Dims()
	var g mat.SymDense
	g.SymOuterK(1, x)
	var svd mat.SVD
	if !svd.Factorize(&g, mat.SVDThin) {
		return nil, nil
	}
	lambda := svd.Values(nil) // eigenvalues of G, s_i², descending
	var u mat.Dense
	svd.UTo(&u)
	k := min(3, len(lambda))
	vars = make([]float64, k)
	for c := range k {
		vars[c] = lambda[c] / float64(n-1)
		if !(lambda[c] > 0) {
			comps = append(comps, nil)
			continue
		}
		var v mat.VecDense
		v.MulVec(x.T(), u.ColView(c))
		if norm := mat.Norm(&v, 2); norm > 0 {
			v.ScaleVec(1/norm, &v) // = 1/s_i, up to rounding
		}
		comps = append(comps, mat.Col(nil, 0, &v))
	}
	return comps, vars
}

// flip reports whether comp, the c-th component of a new fit, should be
// negated: when it points away from the previous fit's c-th component, or,
// with no previous component, when its largest entry is negative.
func flip(comp []float64, prev *pcaFit, c int) bool {
	if prev != nil && prev.comps[c] != nil {
		var dot float64
		for j, x := range comp {
			dot += x * prev.comps[c][j]
		}
		return dot < 0
	}
	best := 0
	for j, x := range comp {
		if math.Abs(x) > math.Abs(comp[best]) {
			best = j
		}
	}
	return comp[best] < 0
}

// project returns the coordinates of v - mean along the components; a
// missing component gives 0. len(v) must equal len(f.mean).
func (f *pcaFit) project(v []float32) (pt [3]float64) {
	for c, comp := range f.comps {
		if comp == nil {
			continue
		}
		var s float64
		for j, x := range v {
			s += (float64(x) - f.mean[j]) * comp[j]
		}
		pt[c] = s
	}
	return pt
}

// finite reports whether v is non-empty and holds no NaN or infinity.
func finite(v []float32) bool {
	if len(v) == 0 {
		return false
	}
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

func finite64(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
