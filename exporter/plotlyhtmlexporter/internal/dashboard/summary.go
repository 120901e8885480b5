// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// Verdict kinds: what limits the server's throughput, as far as the telemetry tells.
const (
	// VerdictQueueBound: requests waited in llama-server's queue (llamacpp.requests.deferred > 0).
	VerdictQueueBound = "queue-bound"
	// VerdictSlotBound: all slots were busy in a good share of the scrapes.
	VerdictSlotBound = "slot-bound"
	// VerdictGPUBound: the GPU was nearly always busy.
	VerdictGPUBound = "gpu-bound"
	// VerdictHostBound: the GPU idled while requests waited or ran (tokenization, sampling,
	// the HTTP layer or the CPU side of the model).
	VerdictHostBound = "host-bound"
	// VerdictNone: there is enough data and none of the above applies.
	VerdictNone = "none"
	// VerdictInsufficientData: neither slot nor GPU data to judge from.
	VerdictInsufficientData = "insufficient-data"
)

// Thresholds of the verdicts.
const (
	slotBoundShare = 0.25 // share of scrapes with every slot busy
	gpuBoundPct    = 90.0 // mean GPU utilization, percent
	hostIdlePct    = 30.0 // GPU utilization under which the GPU counts as idle, percent
	hostBoundShare = 0.5  // share of busy moments in which the GPU idled
	minSamples     = 3    // scrapes (or moments) a share-based verdict needs at least
)

// Metric names the unified dashboard and its summary read.
const (
	metricSlotsBusy   = conventions.MetricLlamacppSlotsBusy
	metricSlotsTotal  = conventions.MetricLlamacppSlotsTotal
	metricDeferred    = conventions.MetricLlamacppRequestsDeferred
	metricProcessing  = conventions.MetricLlamacppRequestsProcessing
	metricGPUUtil     = conventions.MetricHWGPUUtilization
	metricTemperature = conventions.MetricHWTemperature
	pctFmt            = "%.0f%%" // a share in percent
)

// Summary is the text summary of the unified and live dashboards. The page shows it with
// textContent, so its strings are plain text. Values that are unknown marshal as null.
type Summary struct {
	// Request latency percentiles in seconds.
	LatencyP50 Num `json:"latency_p50_s"`
	LatencyP95 Num `json:"latency_p95_s"`
	LatencyP99 Num `json:"latency_p99_s"`

	RequestsTotal     int `json:"requests_total"`
	RequestsSucceeded int `json:"requests_succeeded"`
	RequestsFailed    int `json:"requests_failed"`
	// SuccessRate is succeeded/total, 0..1 (null without requests).
	SuccessRate Num `json:"success_rate"`

	// TokensIn and TokensOut total the requests' gen_ai.usage tokens.
	TokensIn  int64 `json:"tokens_in"`
	TokensOut int64 `json:"tokens_out"`
	// TTFTMean is the mean time to first token in seconds, over the requests that report it.
	TTFTMean Num `json:"ttft_mean_s"`

	// GPU utilization over all points of the whole-GPU hw.gpu.utilization streams, percent.
	GPUUtilMean Num `json:"gpu_util_mean_pct"`
	GPUUtilMax  Num `json:"gpu_util_max_pct"`
	GPUCount    int `json:"gpu_count"`

	// GPUEnergyRequests count the requests whose spans carry llt.gen_ai.gpu.energy; GPUEnergy
	// totals it (joules) and GPUEnergyPer1kOutput is that total per 1000 of those requests'
	// output tokens (null when none carries it, or when they produced no output tokens).
	GPUEnergyRequests    int `json:"gpu_energy_requests"`
	GPUEnergy            Num `json:"gpu_energy_j"`
	GPUEnergyPer1kOutput Num `json:"gpu_energy_j_per_1k_output_tokens"`
	// GPUTimeRequests count the requests whose spans carry llt.gen_ai.gpu.time; GPUTime totals
	// it (GPU-seconds; null when none carries it).
	GPUTimeRequests int `json:"gpu_time_requests"`
	GPUTime         Num `json:"gpu_time_s"`

	// Stats are mean, P50, P95 and max of each series of statisticsSeries, in that order; a
	// series without values says what produces it.
	Stats []Stat `json:"stats"`

	// Verdicts say what limits the server; never empty.
	Verdicts []Verdict `json:"verdicts"`
}

// Verdict is one finding about what limits the server, with the numbers behind it.
type Verdict struct {
	// Kind is one of the Verdict* constants.
	Kind string `json:"kind"`
	// Text states the finding and its numbers, as plain text.
	Text string `json:"text"`
	// Numbers are the finite values the Text is made of, by name.
	Numbers map[string]float64 `json:"numbers,omitempty"`
}

// Summarize computes the summary from the requests and metric series.
func Summarize(d *Data) *Summary {
	s := &Summary{}
	lat := make([]float64, 0, len(d.Requests))
	var ttft []float64
	for i := range d.Requests {
		r := &d.Requests[i]
		if finite(r.Latency) {
			lat = append(lat, r.Latency)
		}
		if r.Failed {
			s.RequestsFailed++
		} else {
			s.RequestsSucceeded++
		}
		s.TokensIn += max(r.In, 0)
		s.TokensOut += max(r.Out, 0)
		if r.Span != nil && finite(r.Span.TTFTSeconds) && r.Span.TTFTSeconds >= 0 {
			ttft = append(ttft, r.Span.TTFTSeconds)
		}
	}
	s.RequestsTotal = len(d.Requests)
	q := quantiles(lat, 0.5, 0.95, 0.99)
	s.LatencyP50, s.LatencyP95, s.LatencyP99 = Num(q[0]), Num(q[1]), Num(q[2])
	s.SuccessRate = Num(math.NaN())
	if s.RequestsTotal > 0 {
		s.SuccessRate = Num(float64(s.RequestsSucceeded) / float64(s.RequestsTotal))
	}
	s.TTFTMean = Num(mean(ttft))
	g := gpuUtilStats(d)
	s.GPUCount = g.gpus
	s.GPUUtilMean, s.GPUUtilMax = Num(g.meanPct), Num(g.maxPct)
	e := gpuEnergyStats(d)
	s.GPUEnergyRequests, s.GPUTimeRequests = e.energyRequests, e.timeRequests
	s.GPUEnergy, s.GPUEnergyPer1kOutput, s.GPUTime = Num(math.NaN()), Num(e.per1kOutput()), Num(math.NaN())
	if e.energyRequests > 0 {
		s.GPUEnergy = Num(e.energyJ)
	}
	if e.timeRequests > 0 {
		s.GPUTime = Num(e.gpuSeconds)
	}
	s.Stats = statistics(d)
	s.Verdicts = verdicts(d, g)
	return s
}

// finite is false for NaN and ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// gpuStats describes hw.gpu.utilization over the window.
type gpuStats struct {
	gpus, samples   int
	meanPct, maxPct float64
}

// gpuUtilStats summarizes the whole-GPU hw.gpu.utilization streams.
func gpuUtilStats(d *Data) gpuStats {
	g := gpuStats{meanPct: math.NaN(), maxPct: math.NaN()}
	ss := d.series(metricGPUUtil, gpuSeries)
	g.gpus = len(ss)
	sum := 0.0
	for _, s := range ss {
		for _, v := range s.V {
			if !finite(v) {
				continue
			}
			v *= 100
			sum += v
			if g.samples == 0 || v > g.maxPct {
				g.maxPct = v
			}
			g.samples++
		}
	}
	if g.samples > 0 {
		g.meanPct = sum / float64(g.samples)
	}
	return g
}

// verdicts computes what limits the server; several may apply.
func verdicts(d *Data, g gpuStats) []Verdict {
	var out []Verdict
	q := queueStats(d)
	if q.positive > 0 {
		out = append(out, Verdict{Kind: VerdictQueueBound,
			Text: fmt.Sprintf("requests waited in llama-server's queue in "+pctFmt+" of %d scrapes (max %s deferred)",
				q.share()*100, q.scrapes, fmtCount(q.max)),
			Numbers: verdictNumbers("deferred_share", q.share(), "scrapes", float64(q.scrapes), "max_deferred", q.max)})
	}
	sl := slotStats(d)
	if sl.scrapes >= minSamples && sl.share() >= slotBoundShare {
		out = append(out, Verdict{Kind: VerdictSlotBound,
			Text: fmt.Sprintf("all %s slots were busy in "+pctFmt+" of %d scrapes",
				fmtCount(sl.slots), sl.share()*100, sl.scrapes),
			Numbers: verdictNumbers("full_share", sl.share(), "scrapes", float64(sl.scrapes), "slots", sl.slots)})
	}
	if g.samples > 0 && g.meanPct > gpuBoundPct {
		out = append(out, Verdict{Kind: VerdictGPUBound,
			Text: fmt.Sprintf("mean GPU utilization %.1f%% (max %.1f%%) over %d samples of %d GPU(s)",
				g.meanPct, g.maxPct, g.samples, g.gpus),
			Numbers: verdictNumbers("gpu_util_mean_pct", g.meanPct, "gpu_util_max_pct", g.maxPct, "samples", float64(g.samples), "gpus", float64(g.gpus))})
	}
	h := hostStats(d)
	if h.moments >= minSamples && h.share() >= hostBoundShare {
		out = append(out, Verdict{Kind: VerdictHostBound,
			Text: fmt.Sprintf("the GPU was under %.0f%% busy in "+pctFmt+" of %d moments with requests queued or running (mean utilization %.1f%% at those moments)",
				hostIdlePct, h.share()*100, h.moments, h.meanPct),
			Numbers: verdictNumbers("idle_share", h.share(), "moments", float64(h.moments), "gpu_util_mean_pct", h.meanPct)})
	}
	if len(out) > 0 {
		return out
	}
	if sl.scrapes >= minSamples || g.samples >= minSamples {
		var parts []string
		nums := map[string]float64{}
		if g.samples > 0 {
			parts = append(parts, fmt.Sprintf("mean GPU utilization %.1f%% (max %.1f%%) over %d GPU(s)", g.meanPct, g.maxPct, g.gpus))
			addVerdictNumbers(nums, "gpu_util_mean_pct", g.meanPct, "gpu_util_max_pct", g.maxPct, "gpus", float64(g.gpus))
		}
		if sl.scrapes > 0 {
			parts = append(parts, fmt.Sprintf("all %s slots busy in "+pctFmt+" of %d scrapes", fmtCount(sl.slots), sl.share()*100, sl.scrapes))
			addVerdictNumbers(nums, "full_share", sl.share(), "scrapes", float64(sl.scrapes), "slots", sl.slots)
		}
		if q.scrapes > 0 {
			parts = append(parts, fmt.Sprintf("no deferred requests in %d scrapes", q.scrapes))
			addVerdictNumbers(nums, "deferred_scrapes", float64(q.scrapes))
		}
		if h.moments > 0 {
			parts = append(parts, fmt.Sprintf("GPU under %.0f%% busy in "+pctFmt+" of %d moments with requests running", hostIdlePct, h.share()*100, h.moments))
			addVerdictNumbers(nums, "idle_share", h.share(), "moments", float64(h.moments))
		}
		return []Verdict{{Kind: VerdictNone, Text: "no bottleneck found: " + strings.Join(parts, "; "), Numbers: nums}}
	}
	var missing []string
	for _, m := range []string{metricSlotsBusy, metricSlotsTotal, metricDeferred, metricProcessing} {
		if len(d.series(m, nil)) == 0 {
			missing = append(missing, m)
		}
	}
	if len(d.series(metricGPUUtil, gpuSeries)) == 0 {
		missing = append(missing, metricGPUUtil)
	}
	text := fmt.Sprintf("too few scrapes to judge: %d with slot data, %d GPU samples (%d needed)", sl.scrapes, g.samples, minSamples)
	if sl.scrapes == 0 && g.samples == 0 {
		text = "no slot data (llamacpp.slots.busy and llamacpp.slots.total from the llamacpp receiver) and no GPU data (hw.gpu.utilization from the nvml receiver)"
	}
	if len(missing) > 0 {
		text += "; missing: " + strings.Join(missing, ", ")
	}
	return []Verdict{{Kind: VerdictInsufficientData, Text: text,
		Numbers: verdictNumbers("scrapes", float64(sl.scrapes), "gpu_samples", float64(g.samples))}}
}

// verdictNumbers builds a Verdict's Numbers from name, value pairs, leaving out non-finite values
// (encoding/json cannot write them).
func verdictNumbers(kv ...any) map[string]float64 {
	m := map[string]float64{}
	addVerdictNumbers(m, kv...)
	return m
}

func addVerdictNumbers(m map[string]float64, kv ...any) {
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		v, _ := kv[i+1].(float64)
		if k != "" && finite(v) {
			m[k] = v
		}
	}
}

// fmtCount prints a gauge value that is normally a whole number.
func fmtCount(v float64) string {
	if !finite(v) {
		return "n/a"
	}
	return fmt.Sprintf("%g", math.Round(v*100)/100)
}

// queueResult counts the scrapes of llamacpp.requests.deferred, and those with deferred requests.
type queueResult struct {
	scrapes, positive int
	max               float64
}

func (q queueResult) share() float64 {
	if q.scrapes == 0 {
		return 0
	}
	return float64(q.positive) / float64(q.scrapes)
}

// queueStats counts the scrapes with llamacpp.requests.deferred > 0.
func queueStats(d *Data) queueResult {
	var q queueResult
	for _, s := range d.series(metricDeferred, nil) {
		for _, v := range s.V {
			if !finite(v) {
				continue
			}
			q.scrapes++
			if v > 0 {
				q.positive++
				q.max = max(q.max, v)
			}
		}
	}
	return q
}

// slotResult counts the scrapes with slot data, and those with every slot busy.
type slotResult struct {
	scrapes, full int
	slots         float64
}

func (s slotResult) share() float64 {
	if s.scrapes == 0 {
		return 0
	}
	return float64(s.full) / float64(s.scrapes)
}

// slotStats counts the scrapes in which llamacpp.slots.busy reached llamacpp.slots.total (the
// total's point nearest in time; the stream of the same server when there are several).
func slotStats(d *Data) slotResult {
	r := slotResult{slots: math.NaN()}
	totals := d.series(metricSlotsTotal, nil)
	if len(totals) == 0 {
		return r
	}
	for _, busy := range d.series(metricSlotsBusy, nil) {
		tot := matchStream(busy, totals)
		if _, v, ok := tot.Last(); ok && finite(v) && (math.IsNaN(r.slots) || v > r.slots) {
			r.slots = v
		}
		for i, t := range busy.T {
			j := nearestIdx(tot.T, t)
			if j < 0 || !finite(busy.V[i]) || !finite(tot.V[j]) || tot.V[j] <= 0 {
				continue
			}
			r.scrapes++
			if busy.V[i] >= tot.V[j] {
				r.full++
			}
		}
	}
	return r
}

// matchStream picks the stream of cands that belongs with s: the same attributes, else the same
// label, else the first.
func matchStream(s *store.Series, cands []*store.Series) *store.Series {
	for _, c := range cands {
		if maps.Equal(c.Attrs, s.Attrs) {
			return c
		}
	}
	for _, c := range cands {
		if c.Label == s.Label {
			return c
		}
	}
	return cands[0]
}

// nearestIdx is the index of the timestamp nearest t in ascending ts, -1 when ts is empty.
func nearestIdx(ts []int64, t int64) int {
	i := sort.Search(len(ts), func(i int) bool { return ts[i] >= t })
	if i == len(ts) {
		return len(ts) - 1
	}
	if i > 0 && t-ts[i-1] <= ts[i]-t {
		return i - 1
	}
	return i
}

// medianStep is the median interval of ascending timestamps (0 for fewer than two).
func medianStep(ts []int64) int64 {
	if len(ts) < 2 {
		return 0
	}
	steps := make([]int64, 0, len(ts)-1)
	for i := 1; i < len(ts); i++ {
		steps = append(steps, ts[i]-ts[i-1])
	}
	slices.Sort(steps)
	return steps[len(steps)/2]
}

// hostResult counts the moments with requests queued or running, and those with an idle GPU.
type hostResult struct {
	moments, idle int
	meanPct       float64
}

func (h hostResult) share() float64 {
	if h.moments == 0 {
		return 0
	}
	return float64(h.idle) / float64(h.moments)
}

// hostStats looks at the moments when requests waited or ran (llamacpp.requests.deferred > 0
// or llamacpp.requests.processing > 0) and at the GPU utilization nearest each moment (within
// twice the GPU's scrape interval; the mean over GPUs): how often the GPU was idle then.
func hostStats(d *Data) hostResult {
	h := hostResult{meanPct: math.NaN()}
	gpus := d.series(metricGPUUtil, gpuSeries)
	if len(gpus) == 0 {
		return h
	}
	active := map[int64]bool{}
	for _, m := range []string{metricDeferred, metricProcessing} {
		for _, s := range d.series(m, nil) {
			for i, t := range s.T {
				if finite(s.V[i]) && s.V[i] > 0 {
					active[t] = true
				}
			}
		}
	}
	if len(active) == 0 {
		return h
	}
	moments := slices.Sorted(maps.Keys(active))
	tol := make([]int64, len(gpus))
	for i, g := range gpus {
		tol[i] = 2 * medianStep(g.T)
	}
	sum := 0.0
	for _, t := range moments {
		n, u := 0, 0.0
		for i, g := range gpus {
			j := nearestIdx(g.T, t)
			if j < 0 || !finite(g.V[j]) {
				continue
			}
			if dt := g.T[j] - t; dt > tol[i] || -dt > tol[i] {
				continue
			}
			n++
			u += g.V[j] * 100
		}
		if n == 0 {
			continue
		}
		u /= float64(n)
		h.moments++
		sum += u
		if u < hostIdlePct {
			h.idle++
		}
	}
	if h.moments > 0 {
		h.meanPct = sum / float64(h.moments)
	}
	return h
}
