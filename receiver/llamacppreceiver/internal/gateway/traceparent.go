// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"math/rand/v2"
	"net/http"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// maxTraceState caps the tracestate header kept on spans. W3C Trace Context §3.3.1.5: vendors
// may drop tracestate above 512 characters.
const maxTraceState = 512

// spanContext is the caller's span, from a W3C traceparent header.
type spanContext struct {
	traceID    pcommon.TraceID
	spanID     pcommon.SpanID
	flags      byte
	traceState string
	valid      bool
}

// parseTraceparent reads the W3C Trace Context headers (https://www.w3.org/TR/trace-context/,
// §3.2). A header that does not parse, or carries the all-zero trace or span id, or version ff,
// yields an invalid spanContext, and the gateway starts a new trace. Versions above 00 are
// accepted if their first four fields have the version-00 shape (§3.2.4, "future versions").
func parseTraceparent(h http.Header) spanContext {
	vals := h["Traceparent"]
	if len(vals) != 1 {
		return spanContext{}
	}
	v := vals[0]
	if len(v) < 55 || (len(v) > 55 && (v[:2] == "00" || v[55] != '-')) {
		return spanContext{}
	}
	if v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return spanContext{}
	}
	var ver [1]byte
	if !decodeLowerHex(ver[:], v[0:2]) || ver[0] == 0xff {
		return spanContext{}
	}
	var sc spanContext
	var flags [1]byte
	if !decodeLowerHex(sc.traceID[:], v[3:35]) || !decodeLowerHex(sc.spanID[:], v[36:52]) ||
		!decodeLowerHex(flags[:], v[53:55]) {
		return spanContext{}
	}
	if sc.traceID.IsEmpty() || sc.spanID.IsEmpty() {
		return spanContext{}
	}
	sc.flags = flags[0]
	if ver[0] == 0 {
		sc.flags &= 0x03 // version 00 defines the sampled and random bits only
	}
	if ts := h["Tracestate"]; len(ts) > 0 {
		s := ts[0]
		for _, more := range ts[1:] {
			s += "," + more
		}
		if len(s) <= maxTraceState {
			sc.traceState = s
		}
	}
	sc.valid = true
	return sc
}

// decodeLowerHex decodes s into dst; the spec allows lower-case hex digits only.
func decodeLowerHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := hexNibble(s[2*i])
		lo, ok2 := hexNibble(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func newTraceID() pcommon.TraceID {
	var id pcommon.TraceID
	for id.IsEmpty() {
		putUint64(id[:8], rand.Uint64())
		putUint64(id[8:], rand.Uint64())
	}
	return id
}

func newSpanID() pcommon.SpanID {
	var id pcommon.SpanID
	for id.IsEmpty() {
		putUint64(id[:], rand.Uint64())
	}
	return id
}

func putUint64(b []byte, v uint64) {
	_ = b[7]
	for i := 0; i < 8; i++ {
		b[i] = byte(v >> (56 - 8*i))
	}
}
