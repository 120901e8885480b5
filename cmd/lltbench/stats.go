// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// The measured rounds of one concurrency alternate D G D G ... D, starting with direct: round i is
// a gateway round when i is odd.

// armOf returns the arm of measured round i.
func armOf(i int) arm {
	if i%2 == 1 {
		return armGateway
	}
	return armDirect
}

// gatewayRatios returns, for each gateway round, its tokens/s over the mean of its two direct
// neighbours (over the one before it when the run stopped before the next): a linear drift of the
// server's speed cancels. tps holds the tokens/s of the measured rounds in order.
func gatewayRatios(tps []float64) []float64 {
	var out []float64
	for i := 1; i < len(tps); i += 2 {
		d := tps[i-1]
		if i+1 < len(tps) {
			d = (tps[i-1] + tps[i+1]) / 2
		}
		if d > 0 {
			out = append(out, tps[i]/d)
		}
	}
	return out
}

// controlRatios is the A/A control: for each direct round that has a direct round on either side
// (two rounds away, with a gateway round between), its tokens/s over the mean of theirs. It is
// the gateway ratio's estimator with a direct round in the gateway's place, so its spread is the
// noise floor of the gateway ratio.
func controlRatios(tps []float64) []float64 {
	var out []float64
	for i := 2; i+2 < len(tps); i += 2 {
		if d := (tps[i-2] + tps[i+2]) / 2; d > 0 {
			out = append(out, tps[i]/d)
		}
	}
	return out
}

// ratioSummary describes a set of ratios.
type ratioSummary struct {
	N    int    `json:"n"`
	Mean jfloat `json:"mean"`
	// SDPct is the sample standard deviation of one ratio, in percent of the mean.
	SDPct jfloat `json:"sd_pct"`
	// CI95Pct is the half-width of the 95% confidence interval of the mean (Student's t), in
	// percent of the mean: the spread. Neighbouring ratios share a direct round, so it is a
	// little optimistic (by up to about 15% with the gateway ratios).
	CI95Pct jfloat    `json:"ci95_pct"`
	Values  []float64 `json:"values"`
}

// summarizeRatios returns the mean, spread and values of xs; with fewer than two the spread is
// +Inf.
func summarizeRatios(xs []float64) ratioSummary {
	s := ratioSummary{N: len(xs), Values: roundAll(xs, 5), Mean: jfloat(math.NaN()),
		SDPct: jfloat(math.Inf(1)), CI95Pct: jfloat(math.Inf(1))}
	if len(xs) == 0 {
		return s
	}
	m := mean(xs)
	s.Mean = jfloat(m)
	if len(xs) >= 2 && m != 0 {
		sd := stddev(xs)
		s.SDPct = jfloat(sd / m * 100)
		s.CI95Pct = jfloat(tCrit95(len(xs)-1) * sd / math.Sqrt(float64(len(xs))) / m * 100)
	}
	return s
}

// jfloat is a float64 that JSON writes as null when it is NaN or infinite (which encoding/json
// refuses), and otherwise with at most 6 decimals.
type jfloat float64

// MarshalJSON writes f, or null.
func (f jfloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, roundN(v, 6), 'f', -1, 64), nil
}

// UnmarshalJSON reads a number, or null as NaN.
func (f *jfloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = jfloat(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	*f = jfloat(v)
	return err
}

func mean(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

// median returns the median of xs (not empty); xs is left as it was.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// stddev is the sample standard deviation (n-1); 0 for fewer than two values.
func stddev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m := mean(xs)
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

// tTable holds the two-sided 95% critical values of Student's t for 1 to 30 degrees of freedom.
var tTable = [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}

// tCrit95 is the two-sided 95% critical value of Student's t with df degrees of freedom (df >= 1):
// the table up to 30, then the Cornish-Fisher expansion around 1.96 (within 0.001 from 30 on).
func tCrit95(df int) float64 {
	if df <= len(tTable) {
		return tTable[max(df, 1)-1]
	}
	z, n := 1.959964, float64(df)
	return z + (z*z*z+z)/(4*n) + (5*math.Pow(z, 5)+16*z*z*z+3*z)/(96*n*n)
}

// latencySummary describes durations in milliseconds.
type latencySummary struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
}

// describe returns the count, mean and nearest-rank p50 and p99 of ds in milliseconds.
func describe(ds []time.Duration) latencySummary {
	if len(ds) == 0 {
		return latencySummary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var total time.Duration
	for _, d := range s {
		total += d
	}
	return latencySummary{Count: len(s), Mean: ms(total / time.Duration(len(s))),
		P50: ms(percentile(s, 50)), P99: ms(percentile(s, 99))}
}

// percentile returns the nearest-rank p-th percentile of sorted (ascending, not empty).
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// added is b minus a, field by field (the count is b's).
func (b latencySummary) minus(a latencySummary) latencySummary {
	return latencySummary{Count: b.Count, Mean: round3(b.Mean - a.Mean), P50: round3(b.P50 - a.P50), P99: round3(b.P99 - a.P99)}
}

// tokensInWindow is the output of a round of fixed length: each request's tokens times the share
// of its duration that falls inside [from, to] (tokens are taken to come evenly over a request).
func tokensInWindow(reqs []reqResult, from, to time.Time) float64 {
	var t float64
	for _, r := range reqs {
		if !r.ok() || r.tokens == 0 {
			continue
		}
		d := r.end.Sub(r.start)
		if d <= 0 {
			if !r.end.Before(from) && !r.end.After(to) {
				t += float64(r.tokens)
			}
			continue
		}
		s, e := r.start, r.end
		if s.Before(from) {
			s = from
		}
		if e.After(to) {
			e = to
		}
		in := e.Sub(s)
		if in > 0 {
			t += float64(r.tokens) * float64(in) / float64(d)
		}
	}
	return t
}

// stopReason says why moreRounds returned false ("" while it returns true).
type stopReason string

// moreRounds decides, after a gateway round and the direct round after it, whether to add another
// pair: never when the pair would not fit in the time left (once there are two gateway rounds),
// always below minRounds, never without a target or at maxRounds, and otherwise while either
// spread is at or above target.
func moreRounds(gatewayRounds, minRounds, maxRounds int, target, gatewaySpread, controlSpread float64,
	timeLeft, pairCost time.Duration, limited bool) (bool, stopReason) {
	switch {
	case limited && pairCost > timeLeft && gatewayRounds >= 2:
		return false, "budget"
	case gatewayRounds < minRounds:
		return true, ""
	case target <= 0:
		return false, "rounds"
	case gatewayRounds >= maxRounds:
		return false, "max-rounds"
	case gatewaySpread < target && controlSpread < target:
		return false, "target-spread"
	}
	return true, ""
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func roundN(f float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.Round(f*p) / p
}

func roundAll(xs []float64, n int) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = roundN(x, n)
	}
	return out
}
