// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package downsample

import (
	"math"
	"slices"
)

// LTTB downsamples the series (xs, ys) to threshold points with the
// Largest-Triangle-Three-Buckets algorithm and returns newly allocated slices.
//
// The first and last points are always kept. The remaining points are split
// into threshold-2 buckets of (almost) equal size, and from each bucket the
// point forming the largest triangle with the previously selected point and
// the average of the next bucket is kept. Bucket i covers the indices
// [1+floor(i*(n-2)/(threshold-2)), 1+floor((i+1)*(n-2)/(threshold-2))), as in
// the reference implementation, computed with exact integer arithmetic.
// Ties are resolved in favour of the earliest point.
//
// If n <= threshold or threshold < 3 (n being min(len(xs), len(ys))), copies
// of the first n points are returned; otherwise exactly threshold points are
// returned. xs must be sorted in ascending order.
//
// NaN y values are treated as gaps:
//   - they are skipped when computing the next bucket's average and when
//     computing triangle areas;
//   - the triangle's first vertex is the most recently selected point whose y
//     is not NaN; if there is none yet, it is placed at the x of the last
//     selected point and the y of the next bucket's average;
//   - if the next bucket has no non-NaN y, its average y is replaced by the
//     first vertex's y (the triangle degenerates to "distance from a
//     horizontal line"); if neither is known, the current bucket's mean is
//     used for both;
//   - a bucket whose y values are all NaN yields exactly one point
//     (x of the bucket's first point, NaN), so a plotted line shows a gap;
//   - a gap narrower than a bucket may disappear from the output.
//
// The first and last points are copied verbatim even if their y is NaN.
// Infinite y values do not cause panics, but the selection in buckets next to
// them is arbitrary (though deterministic).
func LTTB(xs, ys []float64, threshold int) (outX, outY []float64) {
	n := min(len(xs), len(ys))
	if n == 0 {
		return nil, nil
	}
	size := n
	if threshold >= 3 && threshold < n {
		size = threshold
	}
	return AppendLTTB(make([]float64, 0, size), make([]float64, 0, size), xs, ys, threshold)
}

// AppendLTTB is like LTTB but appends the selected points to dstX and dstY and
// returns the extended slices, in the manner of the built-in append. Passing
// buffers with enough spare capacity (for example dstX[:0] from a previous
// call) makes it allocation-free. dstX and dstY must not overlap xs or ys.
func AppendLTTB(dstX, dstY, xs, ys []float64, threshold int) (outX, outY []float64) {
	n := min(len(xs), len(ys))
	if threshold < 3 || n <= threshold {
		return append(dstX, xs[:n]...), append(dstY, ys[:n]...)
	}
	// From here on n > threshold >= 3, so every bucket holds at least one
	// point (bucket width (n-2)/(threshold-2) > 1).
	xs, ys = xs[:n], ys[:n]
	dstX = slices.Grow(dstX, threshold)
	dstY = slices.Grow(dstY, threshold)

	dstX = append(dstX, xs[0])
	dstY = append(dstY, ys[0])

	buckets := threshold - 2
	span := n - 2
	q, r := span/buckets, span%buckets

	// edge(i) = 1 + floor(i*span/buckets), advanced incrementally so that no
	// intermediate product can overflow. e0, e1, e2 are edge(i), edge(i+1),
	// edge(i+2); frac is (i+2)*r mod buckets.
	e0 := 1
	e1, frac := 1+q, r
	if frac >= buckets {
		frac -= buckets
		e1++
	}
	e2 := e1 + q
	frac += r
	if frac >= buckets {
		frac -= buckets
		e2++
	}

	last := 0 // index of the last selected point
	ax, ay := xs[0], ys[0]
	haveAnchor := !math.IsNaN(ay)

	for i := 0; i < buckets; i++ {
		lo, mid, hi := e0, e1, min(e2, n)

		// Average of the next bucket [mid, hi), over non-NaN points.
		var sx, sy, allX float64
		cnt := 0
		for j := mid; j < hi; j++ {
			allX += xs[j]
			if y := ys[j]; y == y {
				sx += xs[j]
				sy += y
				cnt++
			}
		}
		var avgX, avgY float64
		haveAvg := cnt > 0
		if haveAvg {
			avgX, avgY = sx/float64(cnt), sy/float64(cnt)
		} else {
			avgX = allX / float64(hi-mid)
		}

		px, py := ax, ay
		switch {
		case haveAnchor && !haveAvg:
			avgY = py
		case !haveAnchor && haveAvg:
			px, py = xs[last], avgY
		case !haveAnchor && !haveAvg:
			px = xs[last]
			py = bucketMean(ys[lo:mid])
			avgY = py
		}
		dx, dy := avgX-px, avgY-py

		best, bestArea := -1, -1.0
		for j := lo; j < mid; j++ {
			y := ys[j]
			if y != y {
				continue
			}
			// Twice the triangle area; the factor does not affect the choice.
			area := math.Abs((xs[j]-px)*dy - (y-py)*dx)
			if area > bestArea || best < 0 {
				best, bestArea = j, area
				if area != area {
					bestArea = -1 // a NaN area must not block later points
				}
			}
		}

		if best < 0 {
			// All-NaN bucket: one gap point.
			dstX = append(dstX, xs[lo])
			dstY = append(dstY, math.NaN())
			last = lo
		} else {
			dstX = append(dstX, xs[best])
			dstY = append(dstY, ys[best])
			last = best
			ax, ay, haveAnchor = xs[best], ys[best], true
		}

		e0, e1 = e1, e2
		e2 += q
		frac += r
		if frac >= buckets {
			frac -= buckets
			e2++
		}
	}

	dstX = append(dstX, xs[n-1])
	dstY = append(dstY, ys[n-1])
	return dstX, dstY
}

// bucketMean returns the mean of the non-NaN values in ys, or NaN if there are
// none.
func bucketMean(ys []float64) float64 {
	var s float64
	c := 0
	for _, y := range ys {
		if y == y {
			s += y
			c++
		}
	}
	if c == 0 {
		return math.NaN()
	}
	return s / float64(c)
}
