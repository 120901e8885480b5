// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// Bounds of one attention sample, checked before anything is allocated for it.
const (
	// MaxAttentionTokens bounds the positions n of a sample.
	MaxAttentionTokens = 1024
	// MaxAttentionHeads bounds the heads per layer.
	MaxAttentionHeads = 1024
	// MaxAttentionLayers bounds the layers carried.
	MaxAttentionLayers = 1024
	// MaxAttentionValues bounds the probabilities of a sample, layers*heads*n*(n+1)/2 (4 MiB of
	// half floats).
	MaxAttentionValues = 1 << 21
	// MaxAttentionSamples is how many samples a store keeps (the newest, by request start).
	MaxAttentionSamples = 4
	// maxAttentionLabel bounds one token label kept (bytes).
	maxAttentionLabel = 64
	// maxAttentionModel bounds the model name kept (bytes).
	maxAttentionModel = 256
	// probTolerance is how far above 1 a probability may be (half-float rounding of a softmax).
	probTolerance = 1.0 / 256
)

// Reasons an attention sample is not kept (AttentionError.Reason).
const (
	// AttentionReasonShape: heads, tokens or layers missing, not positive, out of bounds, or
	// layers repeated or beyond layer_count.
	AttentionReasonShape = "shape"
	// AttentionReasonTooLarge: more than MaxAttentionValues probabilities.
	AttentionReasonTooLarge = "too_large"
	// AttentionReasonLength: the probabilities' byte length is not 2*layers*heads*n*(n+1)/2.
	AttentionReasonLength = "length"
	// AttentionReasonLabels: token labels present, but not n of them.
	AttentionReasonLabels = "labels"
	// AttentionReasonValues: a probability that is NaN, infinite, negative or above 1.
	AttentionReasonValues = "values"
)

// AttentionInput is what an attention sample's span carries (conventions.SpanAttention), as
// read from its attributes before any check.
type AttentionInput struct {
	TraceID [16]byte
	SpanID  [8]byte
	// StartNs and EndNs are the sample span's own times.
	StartNs, EndNs int64
	Model          string
	// RequestStartNs is the sampled request's start (0: unknown).
	RequestStartNs int64
	// Layers are the layers carried, in the order of Probs; an element that was not an integer
	// is -1.
	Layers []int64
	// LayerCount is the model's number of layers (0: unknown).
	LayerCount int64
	Heads      int64
	Tokens     int64
	// Labels are the token labels; HasLabels says the attribute was there (a wrong type gives
	// HasLabels without Labels).
	Labels    []string
	HasLabels bool
	// Probs are the half floats, little-endian, as the convention lays them out.
	Probs []byte
}

// AttentionSample is one decoded attention sample. It is not modified once kept.
type AttentionSample struct {
	TraceID [16]byte
	SpanID  [8]byte
	Model   string
	// RequestStartNs is the sampled request's start (the sample span's start when unknown).
	RequestStartNs int64
	// EndNs is the sample span's end (the retention window applies to it).
	EndNs int64
	// Layers are the layers carried, 0-based; LayerCount the model's layers (0: unknown).
	Layers     []int
	LayerCount int
	Heads      int
	Tokens     int
	// Labels are the n token labels, nil when the span carried none.
	Labels []string
	// probs are the half floats' bits: per layer, per head, per query q, keys 0..q.
	probs []uint16
}

// Prob is the probability that query q gives key k in the layer at index li of Layers and head
// h; NaN above the diagonal (k > q) and out of range.
func (a *AttentionSample) Prob(li, h, q, k int) float64 {
	n := a.Tokens
	if li < 0 || li >= len(a.Layers) || h < 0 || h >= a.Heads || q < 0 || q >= n || k < 0 || k > q {
		return math.NaN()
	}
	i := (li*a.Heads+h)*tri(n) + tri(q) + k
	return float64(gguf.Float16ToFloat32(a.probs[i]))
}

// Values is the number of probabilities the sample holds.
func (a *AttentionSample) Values() int { return len(a.probs) }

// tri is n(n+1)/2, the cells of a causal triangle of n positions (diagonal included).
func tri(n int) int { return n * (n + 1) / 2 }

// AttentionError says why a sample was not kept.
type AttentionError struct {
	Reason string
	Detail string
	// Count is how many samples were not kept for this reason so far, this one included (set by
	// Store.AddAttention; 0 from DecodeAttention).
	Count uint64
}

func (e *AttentionError) Error() string {
	return "attention sample ignored (" + e.Reason + "): " + e.Detail
}

func attnErr(reason, format string, args ...any) *AttentionError {
	return &AttentionError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// DecodeAttention checks an attention sample and decodes it. It never panics: a sample whose
// numbers do not agree is refused with an *AttentionError.
func DecodeAttention(in *AttentionInput) (*AttentionSample, error) {
	if in.Heads <= 0 || in.Heads > MaxAttentionHeads {
		return nil, attnErr(AttentionReasonShape, "heads %d not in 1..%d", in.Heads, MaxAttentionHeads)
	}
	if in.Tokens <= 0 || in.Tokens > MaxAttentionTokens {
		return nil, attnErr(AttentionReasonShape, "tokens %d not in 1..%d", in.Tokens, MaxAttentionTokens)
	}
	if len(in.Layers) == 0 || len(in.Layers) > MaxAttentionLayers {
		return nil, attnErr(AttentionReasonShape, "%d layers carried, want 1..%d", len(in.Layers), MaxAttentionLayers)
	}
	if in.LayerCount < 0 || in.LayerCount > math.MaxInt32 {
		return nil, attnErr(AttentionReasonShape, "layer count %d", in.LayerCount)
	}
	layers := make([]int, len(in.Layers))
	for i, l := range in.Layers {
		if l < 0 || l > math.MaxInt32 {
			return nil, attnErr(AttentionReasonShape, "layer %d is negative or not an integer", l)
		}
		if in.LayerCount > 0 && l >= in.LayerCount {
			return nil, attnErr(AttentionReasonShape, "layer %d of a model with %d layers", l, in.LayerCount)
		}
		layers[i] = int(l)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(layers)))) != len(layers) {
		return nil, attnErr(AttentionReasonShape, "layers %v repeat", in.Layers)
	}
	heads, n := int(in.Heads), int(in.Tokens)
	// Each factor is bounded above, so the product cannot overflow.
	values := int64(len(layers)) * int64(heads) * int64(tri(n))
	if values > MaxAttentionValues {
		return nil, attnErr(AttentionReasonTooLarge, "%d probabilities, at most %d", values, MaxAttentionValues)
	}
	if int64(len(in.Probs)) != 2*values {
		return nil, attnErr(AttentionReasonLength, "%d bytes of probabilities, want %d (%d layers x %d heads x %d tokens)",
			len(in.Probs), 2*values, len(layers), heads, n)
	}
	var labels []string
	if in.HasLabels {
		if len(in.Labels) != n {
			return nil, attnErr(AttentionReasonLabels, "%d token labels for %d tokens", len(in.Labels), n)
		}
		labels = make([]string, n)
		for i, l := range in.Labels {
			labels[i] = cutUTF8(l, maxAttentionLabel)
		}
	}
	probs := make([]uint16, values)
	for i := range probs {
		h := binary.LittleEndian.Uint16(in.Probs[2*i:])
		v := gguf.Float16ToFloat32(h)
		if !(v >= 0 && v <= 1+probTolerance) { // NaN fails both
			return nil, attnErr(AttentionReasonValues, "probability %d is %v", i, v)
		}
		probs[i] = h
	}
	start := in.RequestStartNs
	if start <= 0 {
		start = in.StartNs
	}
	return &AttentionSample{
		TraceID: in.TraceID, SpanID: in.SpanID, Model: cutUTF8(in.Model, maxAttentionModel),
		RequestStartNs: start, EndNs: in.EndNs, Layers: layers, LayerCount: int(in.LayerCount),
		Heads: heads, Tokens: n, Labels: labels, probs: probs,
	}, nil
}

// AddAttention decodes an attention sample and keeps it among the newest MaxAttentionSamples
// (by the sampled request's start). A sample that does not decode is counted by reason and its
// *AttentionError returned.
func (s *Store) AddAttention(in *AttentionInput) error {
	a, err := DecodeAttention(in)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		var ae *AttentionError
		if !errors.As(err, &ae) {
			return err
		}
		if s.attentionRejected == nil {
			s.attentionRejected = map[string]uint64{}
		}
		s.attentionRejected[ae.Reason]++
		ae.Count = s.attentionRejected[ae.Reason]
		return ae
	}
	// Kept sorted by request start, oldest first; a new slice each time, so that snapshots
	// holding the old one are not disturbed.
	i := sort.Search(len(s.attention), func(i int) bool { return s.attention[i].RequestStartNs > a.RequestStartNs })
	next := make([]*AttentionSample, 0, len(s.attention)+1)
	next = append(append(append(next, s.attention[:i]...), a), s.attention[i:]...)
	if len(next) > MaxAttentionSamples {
		next = next[len(next)-MaxAttentionSamples:]
	}
	s.attention = next
	return nil
}

// AttentionRejected counts, by reason, the attention samples not kept since the store was made.
func (s *Store) AttentionRejected() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]uint64, len(s.attentionRejected))
	for k, v := range s.attentionRejected {
		out[k] = v
	}
	return out
}

// cutUTF8 returns at most n bytes of s, not splitting a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
