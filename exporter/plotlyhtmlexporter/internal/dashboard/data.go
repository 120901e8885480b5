// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/downsample"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// OTLP status codes and span kinds, as stored in store.Span.
const (
	statusUnset = 0
	statusOK    = 1
	statusError = 2

	spanKindServer = 2
)

// Options are the drawing settings that come from the exporter's configuration.
type Options struct {
	Title string
	// MaxPoints bounds each drawn series and the trace graph's nodes.
	MaxPoints int
	// TemperatureThreshold is marked on the temperature gauge (Celsius).
	TemperatureThreshold float64
}

// Request is one inference call. The GenAI spans of one call count once: a span under another
// GenAI span of its trace (an instrumented client's span around the gateway's, through any HTTP
// spans between them), and the two spans that the genaienrich processor joined with a link
// (client and gateway in different traces) are one request. Its latency is the outermost span's,
// as the caller saw it; its token counts are the gateway's when it has them (a client SDK often
// records none for a stream), else the largest any span of the call has.
type Request struct {
	StartMs, EndMs int64
	// Latency is the outermost span's duration in seconds.
	Latency float64
	In, Out int64
	Failed  bool
	// Span is the outermost span of the call.
	Span *store.Span
	// GPU is the span of the call that carries its GPU attributes (llt.gen_ai.gpu.*, hw.id):
	// the gateway's when it has them, else another span of the call that has them; nil when
	// none does (the request did not run on a GPU the collector watches).
	GPU *store.Span
	// Server is the call's server span (the gateway's), the earliest when there are several;
	// nil when the call has none.
	Server *store.Span
}

// Data is what the builders share: the snapshot plus the derived requests.
type Data struct {
	Snap     *store.Snapshot
	Opts     Options
	Requests []Request // by EndMs
	spanByID map[spanKey]*store.Span
	// phases are the gateway's phase spans (queue, prompt, generation) by their parent, joined
	// by parent span id over every span the store holds, whichever batch brought them.
	phases map[spanKey][]*store.Span
}

// spanKey names a span: span ids are unique within a trace only.
type spanKey struct {
	trace [16]byte
	span  [8]byte
}

// maxAncestorHops bounds the walk up a trace from a GenAI span to the GenAI span above it.
const maxAncestorHops = 64

// NewData derives the requests of a snapshot.
func NewData(snap *store.Snapshot, opts Options) *Data {
	d := &Data{Snap: snap, Opts: opts, spanByID: map[spanKey]*store.Span{}, phases: map[spanKey][]*store.Span{}}
	if d.Opts.MaxPoints < 10 {
		d.Opts.MaxPoints = 10
	}
	var genai []*store.Span
	snap.Spans.Each(func(s *store.Span) bool {
		d.spanByID[spanKey{s.TraceID, s.SpanID}] = s
		if s.GenAI {
			genai = append(genai, s)
		}
		if isPhase(s) {
			k := spanKey{s.TraceID, s.ParentID}
			d.phases[k] = append(d.phases[k], s)
		}
		return true
	})
	calls := newCallSets(len(genai))
	index := make(map[spanKey]int, len(genai))
	for i, s := range genai {
		index[spanKey{s.TraceID, s.SpanID}] = i
	}
	nested := make([]bool, len(genai)) // under another GenAI span of its trace
	for i, s := range genai {
		if up := d.genAIAncestor(s); up != nil {
			nested[i] = true
			calls.join(i, index[spanKey{up.TraceID, up.SpanID}])
		}
		if j, ok := index[spanKey{s.SameCallTrace, s.SameCall}]; ok && s.SameCall != ([8]byte{}) {
			calls.join(i, j)
		}
	}
	for _, members := range calls.groups() {
		d.Requests = append(d.Requests, requestOf(genai, nested, members))
	}
	sort.SliceStable(d.Requests, func(i, j int) bool { return d.Requests[i].EndMs < d.Requests[j].EndMs })
	return d
}

// genAIAncestor is the nearest GenAI span above s in its trace, through spans that are not
// GenAI (an HTTP client span between an SDK's span and the gateway's), or nil.
func (d *Data) genAIAncestor(s *store.Span) *store.Span {
	id := s.ParentID
	for range maxAncestorHops {
		if id == ([8]byte{}) || id == s.SpanID {
			return nil
		}
		p, ok := d.spanByID[spanKey{s.TraceID, id}]
		if !ok {
			return nil
		}
		if p.GenAI {
			return p
		}
		id = p.ParentID
	}
	return nil
}

// requestOf is the request of one call from the indexes of its spans. Its outermost span is one
// that is under no other GenAI span of its trace, the caller's (not the gateway's) when the call
// has spans in two traces, and the earliest of those.
func requestOf(genai []*store.Span, nested []bool, members []int) Request {
	var outer *store.Span
	rank := func(i int) int { // lower is outer
		r := 0
		if nested[i] {
			r += 2
		}
		if genai[i].Kind == spanKindServer {
			r++
		}
		return r
	}
	best := -1
	in, out := int64(-1), int64(-1)
	var serverIn, serverOut int64 = -1, -1
	failed := false
	var gpu, server *store.Span
	for _, i := range members {
		s := genai[i]
		if s.Kind == spanKindServer && (server == nil || s.StartNs < server.StartNs) {
			server = s
		}
		if hasGPUAttrs(s) && (gpu == nil || (s.Kind == spanKindServer && gpu.Kind != spanKindServer)) {
			gpu = s
		}
		if best < 0 || rank(i) < rank(best) || (rank(i) == rank(best) && s.StartNs < genai[best].StartNs) {
			best = i
		}
		in, out = max(in, s.InputTokens), max(out, s.OutputTokens)
		if s.Kind == spanKindServer {
			serverIn, serverOut = max(serverIn, s.InputTokens), max(serverOut, s.OutputTokens)
		}
		failed = failed || spanFailed(s) // status ERROR, or error.type as GenAI semconv marks a failed call
	}
	outer = genai[best]
	if serverIn >= 0 {
		in = serverIn
	}
	if serverOut >= 0 {
		out = serverOut
	}
	return Request{StartMs: outer.StartNs / 1e6, EndMs: outer.EndNs / 1e6, Latency: outer.DurationSeconds(),
		In: in, Out: out, Failed: failed, Span: outer, GPU: gpu, Server: server}
}

// The gateway's phase spans: children of its server span (receiver/llamacppreceiver gateway).
const (
	phaseQueue      = "queue"
	phasePrompt     = "prompt"
	phaseGeneration = "generation"
)

// isPhase is true for a gateway phase span: a child span named queue, prompt or generation.
func isPhase(s *store.Span) bool {
	if s.ParentID == ([8]byte{}) || s.GenAI {
		return false
	}
	switch s.Name {
	case phaseQueue, phasePrompt, phaseGeneration:
		return true
	}
	return false
}

// Phases are the phase spans (queue, prompt, generation) under s, by start time; nil when none
// arrived (yet: they may come in a later batch than s).
func (d *Data) Phases(s *store.Span) []*store.Span {
	ps := d.phases[spanKey{s.TraceID, s.SpanID}]
	if len(ps) > 1 {
		ps = slices.Clone(ps)
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].StartNs < ps[j].StartNs })
	}
	return ps
}

// hasGPUAttrs is true when a span carries any of the llt.gen_ai.gpu.* attributes.
func hasGPUAttrs(s *store.Span) bool {
	return !math.IsNaN(s.GPUEnergyJ) || !math.IsNaN(s.GPUEnergyPerTokenJ) || !math.IsNaN(s.GPUSeconds)
}

// callSets is a union-find over the GenAI spans of a snapshot: each set is one call.
type callSets struct{ parent []int }

func newCallSets(n int) *callSets {
	c := &callSets{parent: make([]int, n)}
	for i := range c.parent {
		c.parent[i] = i
	}
	return c
}

func (c *callSets) find(i int) int {
	for c.parent[i] != i {
		c.parent[i] = c.parent[c.parent[i]]
		i = c.parent[i]
	}
	return i
}

func (c *callSets) join(i, j int) {
	if a, b := c.find(i), c.find(j); a != b {
		c.parent[max(a, b)] = min(a, b)
	}
}

// groups returns the members of each set, in the order of their first member.
func (c *callSets) groups() [][]int {
	at := map[int]int{}
	var out [][]int
	for i := range c.parent {
		r := c.find(i)
		g, ok := at[r]
		if !ok {
			g = len(out)
			at[r] = g
			out = append(out, nil)
		}
		out[g] = append(out[g], i)
	}
	return out
}

// series returns the snapshot's streams of a metric, optionally filtered.
func (d *Data) series(metric string, keep func(*store.Series) bool) []*store.Series {
	var out []*store.Series
	for _, s := range d.Snap.Series[metric] {
		if len(s.T) > 0 && (keep == nil || keep(s)) {
			out = append(out, s)
		}
	}
	return out
}

// xy is a drawable series: times (Unix ms) and values, at most MaxPoints long.
type xy struct {
	X Times
	Y Nums
}

// thin downsamples a series with LTTB to the page's point budget; scale multiplies the values.
func (d *Data) thin(t []int64, v []float64, scale float64) xy {
	if len(t) <= d.Opts.MaxPoints {
		y := make(Nums, len(v))
		for i := range v {
			y[i] = v[i] * scale
		}
		return xy{X: Times(slices.Clone(t)), Y: y}
	}
	xs := make([]float64, len(t))
	for i := range t {
		xs[i] = float64(t[i])
	}
	ox, oy := downsample.LTTB(xs, v, d.Opts.MaxPoints)
	out := xy{X: make(Times, len(ox)), Y: make(Nums, len(oy))}
	for i := range ox {
		out.X[i] = int64(ox[i])
		out.Y[i] = oy[i] * scale
	}
	return out
}

// rate turns a cumulative series into per-second rates between consecutive points; a drop
// (a counter reset, e.g. a restarted llama-server) starts over without a negative rate.
func rate(s *store.Series) (t []int64, v []float64) {
	for i := 1; i < len(s.T); i++ {
		dt := float64(s.T[i]-s.T[i-1]) / 1000
		dv := s.V[i] - s.V[i-1]
		if dt <= 0 || dv < 0 {
			continue
		}
		t = append(t, s.T[i])
		v = append(v, dv/dt)
	}
	return t, v
}

// increments turns a cumulative series into the increase between consecutive points.
func increments(s *store.Series) (t []int64, v []float64) {
	for i := 1; i < len(s.T); i++ {
		dv := s.V[i] - s.V[i-1]
		if dv < 0 {
			dv = s.V[i] // reset: the new total is what accrued since
		}
		t = append(t, s.T[i])
		v = append(v, dv)
	}
	return t, v
}

// quantiles returns the q-quantiles of xs (empirical, as gonum's stat.Quantile).
func quantiles(xs []float64, qs ...float64) []float64 {
	out := make([]float64, len(qs))
	if len(xs) == 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	for i, q := range qs {
		out[i] = stat.Quantile(q, stat.Empirical, sorted, nil)
	}
	return out
}

// bins makes an equal-width histogram of xs with about n bins: centres, counts and the width.
func bins(xs []float64, n int) (centres, counts []float64, width float64) {
	if len(xs) == 0 {
		return nil, nil, 0
	}
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	if hi == lo {
		return []float64{lo}, []float64{float64(len(xs))}, 1
	}
	width = (hi - lo) / float64(n)
	dividers := make([]float64, n+1)
	for i := range dividers {
		dividers[i] = lo + float64(i)*width
	}
	dividers[n] = math.Nextafter(hi, math.Inf(1))
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	counts = stat.Histogram(nil, dividers, sorted, nil)
	centres = make([]float64, n)
	for i := range centres {
		centres[i] = lo + (float64(i)+0.5)*width
	}
	return centres, counts, width
}

// mean of the values, NaN for none.
func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return stat.Mean(v, nil)
}
