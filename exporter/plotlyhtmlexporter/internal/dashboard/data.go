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
)

// Options are the drawing settings that come from the exporter's configuration.
type Options struct {
	Title string
	// MaxPoints bounds each drawn series and the trace graph's nodes.
	MaxPoints int
	// TemperatureThreshold is marked on the temperature gauge (Celsius).
	TemperatureThreshold float64
}

// Request is one inference request: a span with gen_ai.operation.name whose parent is not also
// such a span (so a client span and the server span it calls count once).
type Request struct {
	StartMs, EndMs int64
	// Latency is the span's duration in seconds.
	Latency float64
	In, Out int64
	Failed  bool
	Span    *store.Span
}

// Data is what the builders share: the snapshot plus the derived requests.
type Data struct {
	Snap     *store.Snapshot
	Opts     Options
	Requests []Request // by EndMs
	spanByID map[[8]byte]*store.Span
}

// NewData derives the requests of a snapshot.
func NewData(snap *store.Snapshot, opts Options) *Data {
	d := &Data{Snap: snap, Opts: opts, spanByID: map[[8]byte]*store.Span{}}
	if d.Opts.MaxPoints < 10 {
		d.Opts.MaxPoints = 10
	}
	genai := map[[8]byte]bool{}
	snap.Spans.Each(func(s *store.Span) bool {
		d.spanByID[s.SpanID] = s
		if s.GenAI {
			genai[s.SpanID] = true
		}
		return true
	})
	snap.Spans.Each(func(s *store.Span) bool {
		if !s.GenAI || (s.ParentID != [8]byte{} && genai[s.ParentID]) {
			return true
		}
		d.Requests = append(d.Requests, Request{
			StartMs: s.StartNs / 1e6, EndMs: s.EndNs / 1e6, Latency: s.DurationSeconds(),
			In: s.InputTokens, Out: s.OutputTokens, Failed: s.Status == statusError, Span: s,
		})
		return true
	})
	sort.SliceStable(d.Requests, func(i, j int) bool { return d.Requests[i].EndMs < d.Requests[j].EndMs })
	return d
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
