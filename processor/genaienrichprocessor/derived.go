// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"math"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// GenAI semantic-conventions attributes that the processor reads after normalization.
const (
	attrOperationName = conventions.AttrGenAIOperationName
	attrRequestModel  = conventions.AttrGenAIRequestModel
	attrResponseModel = conventions.AttrGenAIResponseModel
	attrResponseID    = conventions.AttrGenAIResponseID
	attrFinishReasons = conventions.AttrGenAIResponseFinishReasons
	attrUsageInput    = conventions.AttrGenAIUsageInputTokens
	attrUsageOutput   = conventions.AttrGenAIUsageOutputTokens
)

// Derived attributes (not semantic conventions).
const (
	attrTTFT       = conventions.AttrLLTTimeToFirstToken
	attrTPS        = conventions.AttrLLTOutputTokensPerSecond
	attrCost       = conventions.AttrLLTCostUSD
	attrCostMethod = conventions.AttrLLTCostMethod
	// attrGPUEnergy is the request's GPU energy in J, written by the llamacpp receiver's gateway.
	attrGPUEnergy = conventions.AttrLLTGPUEnergy
	// eventFirstToken is the event the llamacpp gateway adds when the first token arrives.
	eventFirstToken = conventions.EventFirstToken
)

// tokenCount reads a token count: a non-negative integer (or an integral double); else -1.
func tokenCount(attrs pcommon.Map, key string) int64 {
	v, ok := attrs.Get(key)
	if !ok {
		return -1
	}
	return count(v)
}

// count is the token count in v, or -1.
func count(v pcommon.Value) int64 {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		if v.Int() >= 0 {
			return v.Int()
		}
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if d >= 0 && d < 1<<53 && d == math.Trunc(d) {
			return int64(d)
		}
	}
	return -1
}

// ttft is the time to the first token in seconds: gen_ai.response.time_to_first_chunk, else the
// gateway's first_token event; -1 when neither is there (or makes sense).
func ttft(span ptrace.Span) float64 {
	if v, ok := span.Attributes().Get(conventions.AttrGenAIResponseTimeToFirstChunk); ok && v.Type() == pcommon.ValueTypeDouble {
		if d := v.Double(); d >= 0 && !math.IsInf(d, 0) && !math.IsNaN(d) {
			return d
		}
	}
	evs := span.Events()
	for i := 0; i < evs.Len(); i++ {
		ev := evs.At(i)
		if ev.Name() == eventFirstToken && ev.Timestamp() >= span.StartTimestamp() && ev.Timestamp() <= span.EndTimestamp() {
			return float64(ev.Timestamp()-span.StartTimestamp()) / 1e9
		}
	}
	return -1
}

// concurrency remembers the intervals of recent requests, to tell how many ran at once.
type concurrency struct {
	mu   sync.Mutex
	ring [256][2]int64
	n    int
	next int
}

// observe records [start, end] and returns how many recorded requests (this one included)
// overlap it. Requests still running when this one is processed are not known yet, so the
// count can be low; the cost estimate then errs high.
func (c *concurrency) observe(start, end int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	overlap := 1
	for i := 0; i < c.n; i++ {
		iv := c.ring[i]
		if iv[0] < end && iv[1] > start {
			overlap++
		}
	}
	c.ring[c.next] = [2]int64{start, end}
	c.next = (c.next + 1) % len(c.ring)
	c.n = min(c.n+1, len(c.ring))
	return overlap
}
