// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package downsample reduces time series to a bounded number of points for
// plotting, so that dashboards stay small and fast to render while keeping
// the visual shape of the data.
//
// Two algorithms are provided:
//
//   - LTTB (Largest-Triangle-Three-Buckets, Sveinn Steinarsson 2013,
//     "Downsampling Time Series for Visual Representation"), which keeps the
//     points that contribute most to the perceived shape of a line chart.
//   - MinMax, which keeps the minimum and maximum of each bucket and is the
//     better choice for spiky data where every extreme must stay visible.
//
// Each algorithm comes in an allocating form (LTTB, MinMax) and an
// append-style form (AppendLTTB, AppendMinMax) that writes into caller-owned
// buffers, so repeated calls on large series do not allocate.
//
// Common conventions:
//
//   - xs must be sorted in ascending (non-decreasing) order. This is not
//     checked; unsorted input produces no panic but a meaningless selection.
//   - If xs and ys differ in length, only the first min(len(xs), len(ys))
//     points are used.
//   - If the number of points is at most threshold, or threshold < 3, the
//     input is returned unchanged (as a copy).
//   - NaN y values mark gaps (missing data). They never cause a panic; the
//     exact treatment is described on each function.
//   - Output points are always a subsequence of the input (apart from the
//     single NaN point that represents an all-NaN bucket, whose x is the x of
//     that bucket's first point), so x order is preserved.
//
// The implementation is written here rather than imported: no maintained Go
// LTTB library is available from the module proxy used by this project
// (github.com/dgryski/go-lttb is not served), the algorithm is only a few
// dozen lines, and it is tested against hand-computed results and a direct
// transcription of the reference algorithm.
package downsample
