// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package embed

import (
	"math"
	"math/rand/v2"
	"regexp"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blobPoints returns n points per centre, N(centre, sd²) per coordinate,
// shuffled, and the index of each point's centre.
func blobPoints(seed uint64, centres [][3]float64, n int, sd float64) ([][3]float64, []int) {
	rng := rand.New(rand.NewPCG(seed, seed))
	var pts [][3]float64
	var from []int
	for c, ctr := range centres {
		for range n {
			var p [3]float64
			for d := range 3 {
				p[d] = ctr[d] + rng.NormFloat64()*sd
			}
			pts = append(pts, p)
			from = append(from, c)
		}
	}
	rng.Shuffle(len(pts), func(i, j int) {
		pts[i], pts[j] = pts[j], pts[i]
		from[i], from[j] = from[j], from[i]
	})
	return pts, from
}

var fourCentres = [][3]float64{{-10, 0, 0}, {10, 0, 0}, {0, 10, 0}, {0, -10, 5}}

func TestCategorizerRulesFirstMatch(t *testing.T) {
	c := NewCategorizer([]Rule{
		{Name: "ignored", Match: nil},
		{Name: "", Match: regexp.MustCompile(`.`)},
		{Name: "sql", Match: regexp.MustCompile(`(?i)\bselect\b.*\bfrom\b`)},
		{Name: "code", Match: regexp.MustCompile(`[{};]`)},
		{Name: "question", Match: regexp.MustCompile(`\?\s*$`)},
	}, 0)
	cases := map[string]string{
		"SELECT id FROM users;":          "sql", // also matches "code": the first rule wins
		"func f() { return }":            "code",
		"Where is the station?":          "question",
		"What does `x := {}` mean?":      "code",
		"select the best answer from it": "sql",
	}
	for text, want := range cases {
		got, ok := c.Match(text)
		assert.True(t, ok, text)
		assert.Equal(t, want, got, text)
		assert.Equal(t, want, c.Category(text, [3]float64{1, 2, 3}), text)
	}
	_, ok := c.Match("a plain sentence")
	assert.False(t, ok)
	c.mu.Lock()
	assert.Empty(t, c.pts, "rule-matched texts are not clustered")
	c.mu.Unlock()
	assert.Equal(t, DefaultClusters, c.k)
}

func TestCategorizerKMeansSeparatesAndIsDeterministic(t *testing.T) {
	pts, from := blobPoints(7, fourCentres, 150, 1)
	run := func() []string {
		c := NewCategorizer(nil, 4)
		out := make([]string, len(pts))
		for i, p := range pts {
			out[i] = c.Category("no rule", p)
		}
		return out
	}
	a, b := run(), run()
	assert.Equal(t, a, b, "the same points must give the same categories")

	// Before k points there is no clustering.
	for i := range 3 {
		assert.Equal(t, "", a[i])
	}
	// After the first ClusterRefitEvery points, each blob has exactly one
	// label and the four labels differ.
	labelOf := map[int]map[string]int{}
	for i := ClusterRefitEvery; i < len(pts); i++ {
		if labelOf[from[i]] == nil {
			labelOf[from[i]] = map[string]int{}
		}
		labelOf[from[i]][a[i]]++
	}
	seen := map[string]bool{}
	for blob, labels := range labelOf {
		require.Len(t, labels, 1, "blob %d got labels %v", blob, labels)
		for l := range labels {
			assert.Regexp(t, `^cluster-[0-3]$`, l)
			assert.False(t, seen[l], "label %s used by two blobs", l)
			seen[l] = true
		}
	}
	assert.Len(t, seen, 4)
}

func TestCategorizerLabelsStableAcrossRefits(t *testing.T) {
	c := NewCategorizer(nil, 4)
	pts, from := blobPoints(8, fourCentres, 200, 1)
	label := map[int]string{}
	fitsSeen := 0
	for i, p := range pts {
		got := c.Cluster(p)
		if i < 2*ClusterRefitEvery {
			continue
		}
		if want, ok := label[from[i]]; ok {
			require.Equal(t, want, got, "blob %d changed label after %d fits", from[i], c.fits)
		} else {
			label[from[i]] = got
		}
		fitsSeen = c.fits
	}
	assert.Greater(t, fitsSeen, 8, "the test must span many refits")

	// A slow drift keeps the numbering too.
	for step := range 20 {
		shift := float64(step) * 0.2
		for _, p := range pts[:100] {
			p[0] += shift
			c.Cluster(p)
		}
	}
	for b, ctr := range fourCentres {
		ctr[0] += 19 * 0.2
		assert.Equal(t, label[b], c.Cluster(ctr), "blob %d", b)
	}
}

func TestCategorizerFirstFitNumbersByFirstAxis(t *testing.T) {
	c := NewCategorizer(nil, 3)
	for _, x := range []float64{5, -5, 0, 5.1, -5.1, 0.1} {
		c.Cluster([3]float64{x, 0, 0})
	}
	assert.Equal(t, "cluster-0", c.Cluster([3]float64{-5, 0, 0}))
	assert.Equal(t, "cluster-1", c.Cluster([3]float64{0, 0, 0}))
	assert.Equal(t, "cluster-2", c.Cluster([3]float64{5, 0, 0}))
}

func TestCategorizerDegenerateInput(t *testing.T) {
	c := NewCategorizer(nil, 4)
	assert.Equal(t, "", c.Cluster([3]float64{math.NaN(), 0, 0}))
	assert.Equal(t, "", c.Cluster([3]float64{0, math.Inf(1), 0}))
	// All points equal: k-means++ has nothing to weigh by, and must still
	// give a label rather than panic.
	var got string
	for range 10 {
		got = c.Cluster([3]float64{1, 1, 1})
	}
	assert.Regexp(t, `^cluster-\d$`, got)
	// Huge coordinates overflow squared distances to +Inf.
	for i := range 10 {
		got = c.Cluster([3]float64{math.MaxFloat64 / float64(i+1), -math.MaxFloat64, 0})
	}
	assert.Regexp(t, `^cluster-\d$`, got)

	big := NewCategorizer(nil, 1000)
	assert.Equal(t, MaxClusters, big.k)
}

func TestCategorizerWindowBounded(t *testing.T) {
	c := NewCategorizer(nil, 2)
	for i := range 3 * ClusterWindow {
		c.Cluster([3]float64{float64(i % 7), 0, 0})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Len(t, c.pts, ClusterWindow)
}

func TestCategorizerConcurrent(t *testing.T) {
	c := NewCategorizer([]Rule{{Name: "q", Match: regexp.MustCompile(`\?`)}}, 4)
	pts, _ := blobPoints(9, fourCentres, 100, 1)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, p := range pts {
				text := "plain"
				if (i+g)%5 == 0 {
					text = "why?"
				}
				c.Category(text, p)
			}
		}()
	}
	wg.Wait()
}
