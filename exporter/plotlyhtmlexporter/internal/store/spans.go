// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package store

import "math"

// Span is the compact record the dashboards need from one span.
type Span struct {
	TraceID  [16]byte
	SpanID   [8]byte
	ParentID [8]byte
	Name     string
	Service  string
	// Kind and Status use the OTLP enum values (ptrace.SpanKind, ptrace.StatusCode).
	Kind    int8
	Status  int8
	StartNs int64
	EndNs   int64
	// GenAI is true when the span carries gen_ai.operation.name: it is an inference request.
	GenAI     bool
	Operation string
	Model     string
	// InputTokens and OutputTokens are -1 when absent.
	InputTokens  int64
	OutputTokens int64
	// TTFTSeconds is the time to first token, NaN when unknown.
	TTFTSeconds float64
	ErrorType   string
	// Projection is llt.embedding.projection when HasProjection.
	Projection    [3]float64
	HasProjection bool
	Category      string
	// Preview is the start of the captured input (gen_ai.input.messages or a prompt), when captured.
	Preview string
	// SameCall is the span that the genaienrich processor found to be the other end of this
	// span's call (its link with llt.gen_ai.correlation.method); zero when none.
	SameCall      [8]byte
	SameCallTrace [16]byte
	// GPUEnergyJ is llt.gen_ai.gpu.energy, the GPU energy attributed to the request in joules;
	// GPUEnergyPerTokenJ is llt.gen_ai.gpu.energy_per_output_token (joules); GPUSeconds is
	// llt.gen_ai.gpu.time (GPU-seconds). Each is NaN when absent.
	GPUEnergyJ         float64
	GPUEnergyPerTokenJ float64
	GPUSeconds         float64
	// GPU is hw.id: the UUID of the GPU the request ran on, those of several GPUs joined with
	// ", "; "" when absent.
	GPU string
}

// DurationSeconds is End-Start in seconds (0 when the end is before the start).
func (s *Span) DurationSeconds() float64 {
	if s.EndNs <= s.StartNs {
		return 0
	}
	return float64(s.EndNs-s.StartNs) / 1e9
}

// NewSpan returns a record with the "absent" markers set.
func NewSpan() Span {
	return Span{InputTokens: -1, OutputTokens: -1, TTFTSeconds: math.NaN(),
		GPUEnergyJ: math.NaN(), GPUEnergyPerTokenJ: math.NaN(), GPUSeconds: math.NaN()}
}

const chunkSize = 4096

type chunk struct {
	recs [chunkSize]Span
	n    int
	// newestEnd is the largest EndNs in the chunk: a chunk goes when all of it is out of the window.
	newestEnd int64
}

// spanList is an append-only list of fixed-size chunks. Written records are never modified, so
// a view (chunk pointers plus the fill of the last one) stays valid while writers append.
type spanList struct {
	chunks []*chunk
	total  int
	max    int
	// evicted counts the records that the bound removed while they were within the window.
	evicted uint64
}

// add appends s; records that the bound removes are counted as evicted when they end at or after
// cutoffNs (the start of the retention window).
func (l *spanList) add(s Span, cutoffNs int64) {
	if len(l.chunks) == 0 || l.chunks[len(l.chunks)-1].n == chunkSize {
		l.chunks = append(l.chunks, &chunk{})
	}
	c := l.chunks[len(l.chunks)-1]
	c.recs[c.n] = s
	c.n++
	c.newestEnd = max(c.newestEnd, s.EndNs)
	l.total++
	// Over the bound: drop whole chunks from the front (the bound is met to within one chunk;
	// views skip the excess at read time so no more than max records are ever shown).
	for l.max > 0 && len(l.chunks) > 1 && l.total-l.chunks[0].n >= l.max {
		for i := range l.chunks[0].n {
			if l.chunks[0].recs[i].EndNs >= cutoffNs {
				l.evicted++
			}
		}
		l.total -= l.chunks[0].n
		l.chunks[0] = nil
		l.chunks = l.chunks[1:]
	}
}

func (l *spanList) prune(cutoffNs int64) {
	for len(l.chunks) > 1 && l.chunks[0].newestEnd < cutoffNs {
		l.total -= l.chunks[0].n
		l.chunks[0] = nil
		l.chunks = l.chunks[1:]
	}
}

func (l *spanList) len() int { return min(l.total, l.max) }

func (l *spanList) view(cutoffNs int64) SpanView {
	v := SpanView{cutoff: cutoffNs}
	v.chunks = make([]*chunk, len(l.chunks))
	copy(v.chunks, l.chunks)
	v.fill = make([]int, len(l.chunks))
	for i, c := range l.chunks {
		v.fill[i] = c.n
	}
	v.skip = max(0, l.total-l.max)
	return v
}

// SpanView is a read-only view of the span records of a snapshot.
type SpanView struct {
	chunks []*chunk
	fill   []int
	skip   int
	cutoff int64
}

// Each calls fn with every span in the window, oldest first, until fn returns false.
func (v SpanView) Each(fn func(*Span) bool) {
	skip := v.skip
	for i, c := range v.chunks {
		for j := 0; j < v.fill[i]; j++ {
			if skip > 0 {
				skip--
				continue
			}
			if c.recs[j].EndNs < v.cutoff {
				continue
			}
			if !fn(&c.recs[j]) {
				return
			}
		}
	}
}

// Len counts the spans in the window.
func (v SpanView) Len() int {
	n := 0
	v.Each(func(*Span) bool { n++; return true })
	return n
}
