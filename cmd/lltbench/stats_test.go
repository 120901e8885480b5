// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArmOf(t *testing.T) {
	var got []arm
	for i := range 5 {
		got = append(got, armOf(i))
	}
	assert.Equal(t, []arm{armDirect, armGateway, armDirect, armGateway, armDirect}, got)
}

func TestGatewayRatiosBracket(t *testing.T) {
	// D G D G D: each gateway round against the mean of its neighbours.
	tps := []float64{100, 99, 102, 100.5, 101}
	got := gatewayRatios(tps)
	require.Len(t, got, 2)
	assert.InDelta(t, 99/101.0, got[0], 1e-12)
	assert.InDelta(t, 100.5/101.5, got[1], 1e-12)

	// A run cut off after a gateway round: the last one against the direct round before it.
	got = gatewayRatios([]float64{100, 99, 102, 98})
	assert.InDelta(t, 98/102.0, got[1], 1e-12)

	// A direct round with no tokens gives no ratio rather than +Inf.
	assert.Empty(t, gatewayRatios([]float64{0, 50}))
}

func TestGatewayRatiosCancelLinearDrift(t *testing.T) {
	// The server speeds up by 1 tok/s every round; the gateway costs exactly 1%.
	var tps []float64
	for i := range 21 {
		v := 100 + float64(i)
		if armOf(i) == armGateway {
			v *= 0.99
		}
		tps = append(tps, v)
	}
	for _, r := range gatewayRatios(tps) {
		assert.InDelta(t, 0.99, r, 1e-12)
	}
	for _, r := range controlRatios(tps) {
		assert.InDelta(t, 1, r, 1e-12)
	}
}

func TestControlRatios(t *testing.T) {
	// Direct rounds are at 0, 2, 4, 6; only 2 and 4 have a direct round on either side.
	tps := []float64{100, 1, 104, 1, 98, 1, 100}
	got := controlRatios(tps)
	require.Len(t, got, 2)
	assert.InDelta(t, 104/99.0, got[0], 1e-12)
	assert.InDelta(t, 98/102.0, got[1], 1e-12)
	assert.Empty(t, controlRatios([]float64{100, 1, 100, 1}))
}

func TestSummarizeRatios(t *testing.T) {
	s := summarizeRatios([]float64{0.99, 1.00, 1.01, 1.00})
	assert.Equal(t, 4, s.N)
	assert.InDelta(t, 1.0, float64(s.Mean), 1e-12)
	sd := math.Sqrt((0.0001 + 0 + 0.0001 + 0) / 3)
	assert.InDelta(t, sd*100, float64(s.SDPct), 1e-9)
	assert.InDelta(t, 3.182*sd/2*100, float64(s.CI95Pct), 1e-9)
	assert.Equal(t, []float64{0.99, 1, 1.01, 1}, s.Values)

	one := summarizeRatios([]float64{0.98})
	assert.InDelta(t, 0.98, float64(one.Mean), 1e-12)
	assert.True(t, math.IsInf(float64(one.CI95Pct), 1))
	none := summarizeRatios(nil)
	assert.True(t, math.IsNaN(float64(none.Mean)))

	// NaN and Inf become null in JSON, which encoding/json would otherwise refuse.
	b, err := json.Marshal(none)
	require.NoError(t, err)
	assert.JSONEq(t, `{"n":0,"mean":null,"sd_pct":null,"ci95_pct":null,"values":[]}`, string(b))
	var back ratioSummary
	require.NoError(t, json.Unmarshal(b, &back))
	assert.True(t, math.IsNaN(float64(back.Mean)))
}

func TestMedian(t *testing.T) {
	xs := []float64{3, 1, 2}
	assert.Equal(t, 2.0, median(xs))
	assert.Equal(t, []float64{3, 1, 2}, xs, "left as it was")
	assert.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
	assert.Equal(t, 7.0, median([]float64{7}))
}

func TestTCrit95(t *testing.T) {
	assert.Equal(t, 12.706, tCrit95(1))
	assert.Equal(t, 2.262, tCrit95(9))
	assert.Equal(t, 2.042, tCrit95(30))
	assert.InDelta(t, 2.021, tCrit95(40), 0.001)
	assert.InDelta(t, 2.000, tCrit95(60), 0.001)
	assert.InDelta(t, 1.980, tCrit95(120), 0.001)
	assert.InDelta(t, 1.960, tCrit95(100000), 0.001)
	assert.Equal(t, 12.706, tCrit95(0), "clamped")
}

func msList(vals ...float64) []time.Duration {
	ds := make([]time.Duration, len(vals))
	for i, v := range vals {
		ds[i] = time.Duration(v * float64(time.Millisecond))
	}
	return ds
}

func TestDescribe(t *testing.T) {
	var hundred []float64
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, float64(i))
	}
	assert.Equal(t, latencySummary{Count: 100, Mean: 50.5, P50: 50, P99: 99}, describe(msList(hundred...)))
	assert.Equal(t, latencySummary{Count: 1, Mean: 7, P50: 7, P99: 7}, describe(msList(7)))
	assert.Equal(t, latencySummary{}, describe(nil))
	d := describe(msList(10, 20)).minus(describe(msList(9.5, 19)))
	assert.Equal(t, latencySummary{Count: 2, Mean: 0.75, P50: 0.5, P99: 1}, d)
}

func TestTokensInWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	reqs := []reqResult{
		{start: at(0), end: at(1), tokens: 100},                      // inside: 100
		{start: at(3.5), end: at(4.5), tokens: 100},                  // half inside: 50
		{start: at(-1), end: at(1), tokens: 100},                     // half inside: 50
		{start: at(2), end: at(3), tokens: 100, errKind: "http 500"}, // failed: 0
		{start: at(5), end: at(6), tokens: 100},                      // after: 0
		{start: at(2), end: at(2), tokens: 10},                       // instant, inside: 10
	}
	assert.InDelta(t, 210, tokensInWindow(reqs, at(0), at(4)), 1e-9)
}

func TestMoreRounds(t *testing.T) {
	const inf = math.MaxFloat64
	cases := []struct {
		name              string
		gw, minR, maxR    int
		target, gwS, ctlS float64
		left, cost        time.Duration
		limited           bool
		want              bool
		why               stopReason
	}{
		{"below the minimum", 2, 4, 10, 0.5, inf, inf, 0, time.Second, false, true, ""},
		{"fixed rounds", 4, 4, 4, 0, inf, inf, 0, 0, false, false, "rounds"},
		{"no target", 4, 4, 10, 0, inf, inf, 0, 0, false, false, "rounds"},
		{"target met", 5, 4, 10, 0.5, 0.3, 0.4, 0, 0, false, false, "target-spread"},
		{"control above target", 5, 4, 10, 0.5, 0.3, 0.6, 0, 0, false, true, ""},
		{"gateway above target", 5, 4, 10, 0.5, 0.5, 0.1, 0, 0, false, true, ""},
		{"max reached", 10, 4, 10, 0.5, 0.9, 0.9, 0, 0, false, false, "max-rounds"},
		{"budget spent", 5, 4, 10, 0.5, 0.9, 0.9, time.Second, 2 * time.Second, true, false, "budget"},
		{"budget spent below the minimum", 2, 4, 10, 0, inf, inf, 0, time.Second, true, false, "budget"},
		{"budget leaves room", 5, 4, 10, 0.5, 0.9, 0.9, 3 * time.Second, 2 * time.Second, true, true, ""},
		{"one pair is kept even over budget", 1, 4, 10, 0, inf, inf, 0, time.Second, true, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, why := moreRounds(c.gw, c.minR, c.maxR, c.target, c.gwS, c.ctlS, c.left, c.cost, c.limited)
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.why, why)
		})
	}
}
