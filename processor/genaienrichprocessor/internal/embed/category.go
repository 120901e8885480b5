// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package embed

import (
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"sync"
)

const (
	// DefaultClusters is the number of clusters when NewCategorizer is
	// given k <= 0.
	DefaultClusters = 4
	// MaxClusters bounds k.
	MaxClusters = 64
	// ClusterWindow is the number of recent points the clustering is
	// fitted on.
	ClusterWindow = 512
	// ClusterRefitEvery is the number of new points after which the
	// clustering is refitted (it is also refitted while the window is
	// filling, each time it has doubled).
	ClusterRefitEvery = 64
	// kmeansSeed seeds the k-means++ initialisation, so that the same
	// window always gives the same clusters.
	kmeansSeed = 0x6c6c742d656d6264 // "llt-embd"
	// kmeansStarts is the number of k-means++ starts of each fit.
	kmeansStarts = 3
	// kmeansMaxIter bounds Lloyd's iterations.
	kmeansMaxIter = 50
)

// Rule names the category of texts its regular expression matches.
type Rule struct {
	// Name is the category, such as "code".
	Name string
	// Match is tried with MatchString: a match anywhere in the text
	// counts (anchor it with ^ and $ to require the whole text).
	Match *regexp.Regexp
}

// Categorizer names the category of a text and its projected point: the
// name of the first [Rule] whose expression matches the text, else
// "cluster-<i>", the cluster of the point in a k-means clustering of the
// recent points that no rule matched. It is safe for concurrent use.
//
// The clustering is deterministic: the same sequence of calls gives the
// same names. It is refitted on the last ClusterWindow points every
// ClusterRefitEvery points, from the previous centroids and from k-means++
// starts with a fixed seed, keeping the tightest result; after each refit
// the new centroids are matched to the previous ones (closest pairs first)
// so that a cluster keeps its number while it drifts slowly. The first fit
// numbers clusters by their first coordinate, which is the projection's
// dominant axis. Until k points have been seen there are no clusters, and
// the category of a text no rule matches is "" (no category).
type Categorizer struct {
	rules []Rule
	k     int

	mu        sync.Mutex
	pts       [][3]float64 // ring of recent points
	next      int
	sinceFit  int
	fitLen    int
	centroids [][3]float64 // nil until the first fit
	fits      int
}

// NewCategorizer returns a Categorizer that tries rules in order and
// otherwise clusters points into k clusters (DefaultClusters if k <= 0, at
// most MaxClusters). Rules with a nil Match or an empty Name are ignored.
func NewCategorizer(rules []Rule, k int) *Categorizer {
	if k <= 0 {
		k = DefaultClusters
	}
	k = min(k, MaxClusters)
	c := &Categorizer{k: k}
	for _, r := range rules {
		if r.Match != nil && r.Name != "" {
			c.rules = append(c.rules, r)
		}
	}
	return c
}

// Category returns the category of text, whose projected point is point:
// [Categorizer.Match] if a rule matches, else [Categorizer.Cluster].
func (c *Categorizer) Category(text string, point [3]float64) string {
	if name, ok := c.Match(text); ok {
		return name
	}
	return c.Cluster(point)
}

// Match returns the name of the first rule that matches text.
func (c *Categorizer) Match(text string) (string, bool) {
	for _, r := range c.rules {
		if r.Match.MatchString(text) {
			return r.Name, true
		}
	}
	return "", false
}

// Cluster adds point to the clustering window, refits when due, and
// returns "cluster-<i>" for the cluster the point falls in. It returns ""
// for a point with a NaN or infinite coordinate (which is not added) and
// until the window holds k points.
func (c *Categorizer) Cluster(point [3]float64) string {
	for _, x := range point {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return ""
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pts) < ClusterWindow {
		c.pts = append(c.pts, point)
	} else {
		c.pts[c.next] = point
		c.next = (c.next + 1) % ClusterWindow
	}
	c.sinceFit++
	if len(c.pts) >= c.k && (c.centroids == nil || c.sinceFit >= ClusterRefitEvery || len(c.pts) >= 2*c.fitLen) {
		c.centroids = kmeans(c.pts, c.k, c.centroids)
		c.sinceFit, c.fitLen = 0, len(c.pts)
		c.fits++
	}
	if c.centroids == nil {
		return ""
	}
	return "cluster-" + strconv.Itoa(nearest(c.centroids, point))
}

// kmeans clusters pts into k groups and returns the centroids, numbered to
// match prev (when it has k centroids) or else by first coordinate.
//
// gonum has no k-means, and this one needs little: a few hundred points in
// three dimensions and k of about 4. It is Lloyd's algorithm (assign each
// point to its nearest centroid, move each centroid to its points' mean,
// until nothing moves), run from several starts, keeping the result with
// the smallest sum of squared distances (inertia): the previous centroids
// (a warm start, which usually wins and keeps clusters where they were) and
// kmeansStarts k-means++ starts (each next initial centroid drawn with
// probability proportional to its squared distance from the nearest one
// chosen), because a single k-means++ start still lands in a poor local
// optimum now and then (two centroids in one blob, two blobs sharing one).
// The generator has a fixed seed, so the result depends only on the points
// and prev. A cluster that loses all its points keeps its centroid. The
// cost is O(starts × iterations × len(pts) × k).
func kmeans(pts [][3]float64, k int, prev [][3]float64) [][3]float64 {
	rng := rand.New(rand.NewPCG(kmeansSeed, uint64(len(pts))))
	var best [][3]float64
	bestInertia := math.Inf(1)
	try := func(init [][3]float64) {
		cent, inertia := lloyd(pts, init)
		if best == nil || inertia < bestInertia {
			best, bestInertia = cent, inertia
		}
	}
	if len(prev) == k {
		try(slices.Clone(prev))
	}
	for range kmeansStarts {
		try(kmeansPlusPlus(rng, pts, k))
	}
	if len(prev) == k {
		return matchCentroids(best, prev)
	}
	slices.SortStableFunc(best, func(a, b [3]float64) int {
		for d := range 3 {
			if a[d] != b[d] {
				if a[d] < b[d] {
					return -1
				}
				return 1
			}
		}
		return 0
	})
	return best
}

// kmeansPlusPlus picks k initial centroids from pts by k-means++.
func kmeansPlusPlus(rng *rand.Rand, pts [][3]float64, k int) [][3]float64 {
	cent := make([][3]float64, 0, k)
	cent = append(cent, pts[rng.IntN(len(pts))])
	d2 := make([]float64, len(pts))
	for len(cent) < k {
		var total float64
		for i, p := range pts {
			d2[i] = dist2(p, cent[nearest(cent, p)])
			total += d2[i]
		}
		pick := rng.IntN(len(pts)) // used when every point is on a centroid
		if total > 0 && !math.IsInf(total, 0) {
			r := rng.Float64() * total
			for i, d := range d2 {
				if r -= d; r < 0 || i == len(pts)-1 {
					pick = i
					break
				}
			}
		}
		cent = append(cent, pts[pick])
	}
	return cent
}

// lloyd runs Lloyd's iterations from cent (which it modifies) and returns
// the centroids and their inertia.
func lloyd(pts [][3]float64, cent [][3]float64) ([][3]float64, float64) {
	k := len(cent)
	assign := make([]int, len(pts))
	sums := make([][3]float64, k)
	counts := make([]int, k)
	for iter := 0; iter < kmeansMaxIter; iter++ {
		changed := iter == 0
		for i, p := range pts {
			if a := nearest(cent, p); a != assign[i] {
				assign[i], changed = a, true
			}
		}
		if !changed {
			break
		}
		clear(sums)
		clear(counts)
		for i, p := range pts {
			a := assign[i]
			counts[a]++
			for d := range 3 {
				sums[a][d] += p[d]
			}
		}
		for j := range cent {
			if counts[j] > 0 {
				for d := range 3 {
					cent[j][d] = sums[j][d] / float64(counts[j])
				}
			}
		}
	}
	var inertia float64
	for _, p := range pts {
		inertia += dist2(p, cent[nearest(cent, p)])
	}
	return cent, inertia
}

// matchCentroids reorders cent so that cent[i] is the new centroid paired
// with prev[i], pairing the closest (new, old) pairs first.
func matchCentroids(cent, prev [][3]float64) [][3]float64 {
	type pair struct {
		d    float64
		n, o int
	}
	pairs := make([]pair, 0, len(cent)*len(prev))
	for n := range cent {
		for o := range prev {
			pairs = append(pairs, pair{dist2(cent[n], prev[o]), n, o})
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int {
		switch {
		case a.d < b.d:
			return -1
		case a.d > b.d:
			return 1
		}
		return 0
	})
	out := make([][3]float64, len(prev))
	usedN := make([]bool, len(cent))
	usedO := make([]bool, len(prev))
	for _, p := range pairs {
		if !usedN[p.n] && !usedO[p.o] {
			out[p.o], usedN[p.n], usedO[p.o] = cent[p.n], true, true
		}
	}
	return out
}

// nearest returns the index of the centroid closest to p, the lowest on a
// tie.
func nearest(cent [][3]float64, p [3]float64) int {
	best, bestD := 0, math.Inf(1)
	for j, c := range cent {
		if d := dist2(p, c); d < bestD {
			best, bestD = j, d
		}
	}
	return best
}

func dist2(a, b [3]float64) float64 {
	dx, dy, dz := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return dx*dx + dy*dy + dz*dz
}
