// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package downsample

import (
	"math"
	"slices"
)

// MinMax downsamples the series (xs, ys) by splitting it into threshold/2
// buckets of (almost) equal size and keeping the minimum and the maximum
// point of every bucket, in x order. It returns newly allocated slices.
//
// Bucket b covers the indices [floor(b*n/k), floor((b+1)*n/k)) where
// k = threshold/2 and n = min(len(xs), len(ys)). The minimum is the first
// occurrence of the smallest y in the bucket and the maximum the last
// occurrence of the largest y, so a bucket of two or more non-NaN points
// always contributes two distinct points. Unlike LTTB, the first and last
// input points are kept only if they are a bucket's minimum or maximum.
//
// If n <= threshold or threshold < 3, copies of the first n points are
// returned. Otherwise at most 2*(threshold/2) <= threshold points are
// returned, exactly that many when no bucket contains NaN. xs must be sorted
// in ascending order.
//
// NaN y values are treated as gaps: they are ignored when looking for the
// minimum and maximum; a bucket with a single non-NaN point contributes that
// point once; a bucket whose y values are all NaN contributes exactly one
// point (x of the bucket's first point, NaN) so that a plotted line shows a
// gap. Infinite values are ordinary extremes.
func MinMax(xs, ys []float64, threshold int) (outX, outY []float64) {
	n := min(len(xs), len(ys))
	if n == 0 {
		return nil, nil
	}
	size := n
	if threshold >= 3 && threshold < n {
		size = threshold / 2 * 2
	}
	return AppendMinMax(make([]float64, 0, size), make([]float64, 0, size), xs, ys, threshold)
}

// AppendMinMax is like MinMax but appends the selected points to dstX and dstY
// and returns the extended slices, in the manner of the built-in append.
// Passing buffers with enough spare capacity makes it allocation-free. dstX
// and dstY must not overlap xs or ys.
func AppendMinMax(dstX, dstY, xs, ys []float64, threshold int) (outX, outY []float64) {
	n := min(len(xs), len(ys))
	if threshold < 3 || n <= threshold {
		return append(dstX, xs[:n]...), append(dstY, ys[:n]...)
	}
	// n > threshold >= 2*k, so every bucket holds at least two points.
	xs, ys = xs[:n], ys[:n]
	k := threshold / 2
	dstX = slices.Grow(dstX, 2*k)
	dstY = slices.Grow(dstY, 2*k)

	q, r := n/k, n%k
	lo, frac := 0, 0
	for b := 0; b < k; b++ {
		hi := lo + q
		frac += r
		if frac >= k {
			frac -= k
			hi++
		}

		iMin, iMax := -1, -1
		for j := lo; j < hi; j++ {
			y := ys[j]
			if y != y {
				continue
			}
			if iMin < 0 {
				iMin, iMax = j, j
				continue
			}
			if y < ys[iMin] {
				iMin = j
			}
			if y >= ys[iMax] {
				iMax = j
			}
		}

		switch {
		case iMin < 0:
			dstX = append(dstX, xs[lo])
			dstY = append(dstY, math.NaN())
		case iMin == iMax:
			dstX = append(dstX, xs[iMin])
			dstY = append(dstY, ys[iMin])
		default:
			first, second := iMin, iMax
			if second < first {
				first, second = second, first
			}
			dstX = append(dstX, xs[first], xs[second])
			dstY = append(dstY, ys[first], ys[second])
		}
		lo = hi
	}
	return dstX, dstY
}
