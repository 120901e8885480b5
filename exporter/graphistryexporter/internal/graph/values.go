// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// Attribute keys read from spans and resources.
const (
	attrServiceName   = "service.name"
	attrResponseModel = conventions.AttrGenAIResponseModel
	attrRequestModel  = conventions.AttrGenAIRequestModel
	attrInputTokens   = conventions.AttrGenAIUsageInputTokens
	attrOutputTokens  = conventions.AttrGenAIUsageOutputTokens
	attrErrorType     = "error.type"
)

// Lengths of the fixed-width ids written to the tables.
const (
	traceHexLen  = 2 * len(pcommon.TraceID{})      // 32
	spanHexLen   = 2 * len(pcommon.SpanID{})       // 16
	spanIDLen    = traceHexLen + 1 + spanHexLen    // "<trace>:<span>", 49
	rootIDPrefix = "trace:"                        //
	rootIDLen    = len(rootIDPrefix) + traceHexLen // "trace:<trace>", 38
	rootNameLen  = len("trace ") + 8               // "trace <first 8 hex digits>"
	externalName = "external span "                // + span id hex
)

// hexPairs[b] is the two lower-case hex digits of byte b.
var hexPairs = func() (t [256][2]byte) {
	const digits = "0123456789abcdef"
	for i := range t {
		t[i] = [2]byte{digits[i>>4], digits[i&15]}
	}
	return t
}()

// encodeHex writes the lower-case hex digits of src into dst, which must hold
// 2*len(src) bytes.
func encodeHex(dst, src []byte) {
	dst = dst[:2*len(src)]
	for i, v := range src {
		p := hexPairs[v]
		dst[2*i], dst[2*i+1] = p[0], p[1]
	}
}

// writeSpanID writes "<trace id hex>:<span id hex>" into dst (spanIDLen bytes).
func writeSpanID(dst []byte, t pcommon.TraceID, s pcommon.SpanID) {
	dst = dst[:spanIDLen]
	encodeHex(dst[:traceHexLen], t[:])
	dst[traceHexLen] = ':'
	encodeHex(dst[traceHexLen+1:], s[:])
}

// kindString names a span kind as the node table's kind column does.
func kindString(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindServer:
		return "SERVER"
	case ptrace.SpanKindClient:
		return "CLIENT"
	case ptrace.SpanKindInternal:
		return "INTERNAL"
	case ptrace.SpanKindProducer:
		return "PRODUCER"
	case ptrace.SpanKindConsumer:
		return "CONSUMER"
	default:
		return "UNSPECIFIED"
	}
}

// statusString is the node table's status column for a span with status code c; errType is
// true when the span has a non-empty error.type attribute. StatusError for status ERROR or an error.type, StatusOK for status OK,
// StatusOKUnset for status UNSET (or an unknown code) without error.type.
func statusString(c ptrace.StatusCode, errType bool) string {
	switch {
	case c == ptrace.StatusCodeError || errType:
		return StatusError
	case c == ptrace.StatusCodeOk:
		return StatusOK
	default:
		return StatusOKUnset
	}
}

// durationMs is end-start in milliseconds; ok is false when either is unset.
// A span that ends before it starts lasts 0 ms.
func durationMs(start, end uint64) (ms float64, ok bool) {
	if start == 0 || end == 0 {
		return 0, false
	}
	if end <= start {
		return 0, true
	}
	return float64(end-start) / 1e6, true
}

// sizeFor maps a duration to the size column: 1 + 1.5*log10(1+ms), kept in
// [1, 10] (1 ms -> 1.45, 1 s -> 5.5, 1000 s -> 10). A fixed scale keeps sizes
// comparable between batches. No duration gives 1.
func sizeFor(ms float64, ok bool) float64 {
	if !ok || !(ms > 0) {
		return 1
	}
	s := 1 + 1.5*math.Log10(1+ms)
	if s > 10 || math.IsNaN(s) {
		return 10
	}
	return s
}

// spanAttrs are the span attributes the node table reads.
type spanAttrs struct {
	respModel, reqModel string
	errType             string
	hasErrType          bool
	in, out             int64
	hasIn, hasOut       bool
}

// model is gen_ai.response.model, else gen_ai.request.model.
func (a *spanAttrs) model() string {
	if a.respModel != "" {
		return a.respModel
	}
	return a.reqModel
}

// readAttrs reads the attributes the node table needs in one pass over m.
func readAttrs(m pcommon.Map) (a spanAttrs) {
	for k, v := range m.All() {
		switch k {
		case attrResponseModel:
			a.respModel = stringValue(v)
		case attrRequestModel:
			a.reqModel = stringValue(v)
		case attrInputTokens:
			a.in, a.hasIn = intValue(v)
		case attrOutputTokens:
			a.out, a.hasOut = intValue(v)
		case attrErrorType:
			a.errType = stringValue(v)
			a.hasErrType = a.errType != ""
		case conventions.AttrLLTAttentionProbs, conventions.AttrLLTAttentionTokenLabels:
			// Dropped on purpose: the attention sample's probabilities (layers*heads*n*(n+1)/2
			// half floats) and its token pieces (prompt content) are large and may be content.
			// No column takes them, and a column added later for other attributes must not.
		}
	}
	return a
}

func stringValue(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return v.AsString()
}

// intValue reads a token count: an int, a whole double or a decimal string.
func intValue(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if d != math.Trunc(d) || d < math.MinInt64 || d >= math.MaxInt64 {
			return 0, false
		}
		return int64(d), true
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64)
		return n, err == nil
	default:
		return 0, false
	}
}

func appendOptional(c *fixedColumn[int64], v int64, ok bool) {
	if ok {
		c.append(v)
	} else {
		c.appendNull()
	}
}

// validUTF8 returns s with invalid UTF-8 replaced.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return toValidUTF8(s)
}
