// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"encoding/json"
	"math"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// status is the outcome of converting one source value.
type status uint8

const (
	stOK     status = iota // a value to write
	stBad                  // bad input: leave the source, count it as skipped
	stIgnore               // a known value without a v1.41 equivalent: leave the source, no count
)

// valKind is the type of a value to write.
type valKind uint8

const (
	vStr valKind = iota
	vInt
	vDouble
	vBool
	vStrs
	vAny
)

// val is a value to write, held outside the attribute map so that the map can be changed
// after all values were read.
type val struct {
	k   valKind
	s   string
	i   int64
	d   float64
	b   bool
	ss  []string
	any pcommon.Value
}

func strVal(s string) val        { return val{k: vStr, s: s} }
func intVal(i int64) val         { return val{k: vInt, i: i} }
func doubleVal(d float64) val    { return val{k: vDouble, d: d} }
func boolVal(b bool) val         { return val{k: vBool, b: b} }
func strsVal(ss []string) val    { return val{k: vStrs, ss: ss} }
func anyVal(v pcommon.Value) val { return val{k: vAny, any: v} }

// put writes v under key.
func (v val) put(m pcommon.Map, key string) {
	switch v.k {
	case vStr:
		m.PutStr(key, v.s)
	case vInt:
		m.PutInt(key, v.i)
	case vDouble:
		m.PutDouble(key, v.d)
	case vBool:
		m.PutBool(key, v.b)
	case vStrs:
		s := m.PutEmptySlice(key)
		s.EnsureCapacity(len(v.ss))
		for _, e := range v.ss {
			s.AppendEmpty().SetStr(e)
		}
	case vAny:
		v.any.CopyTo(m.PutEmpty(key))
	}
}

// equalTo reports whether the attribute value e already holds v. Integers and doubles compare
// by numeric value.
func (v val) equalTo(e pcommon.Value) bool {
	switch v.k {
	case vStr:
		return e.Type() == pcommon.ValueTypeStr && e.Str() == v.s
	case vInt:
		switch e.Type() {
		case pcommon.ValueTypeInt:
			return e.Int() == v.i
		case pcommon.ValueTypeDouble:
			return e.Double() == float64(v.i)
		}
	case vDouble:
		switch e.Type() {
		case pcommon.ValueTypeDouble:
			return e.Double() == v.d
		case pcommon.ValueTypeInt:
			return float64(e.Int()) == v.d
		}
	case vBool:
		return e.Type() == pcommon.ValueTypeBool && e.Bool() == v.b
	case vStrs:
		if e.Type() != pcommon.ValueTypeSlice || e.Slice().Len() != len(v.ss) {
			return false
		}
		s := e.Slice()
		for i, x := range v.ss {
			if el := s.At(i); el.Type() != pcommon.ValueTypeStr || el.Str() != x {
				return false
			}
		}
		return true
	case vAny:
		return v.any.Equal(e)
	}
	return false
}

// equalVal reports whether two pending values are the same.
func (v val) equalVal(o val) bool {
	tmp := pcommon.NewValueEmpty()
	o.put2(tmp)
	return v.equalTo(tmp)
}

// put2 writes v into a standalone value.
func (v val) put2(dst pcommon.Value) {
	switch v.k {
	case vStr:
		dst.SetStr(v.s)
	case vInt:
		dst.SetInt(v.i)
	case vDouble:
		dst.SetDouble(v.d)
	case vBool:
		dst.SetBool(v.b)
	case vStrs:
		s := dst.SetEmptySlice()
		for _, e := range v.ss {
			s.AppendEmpty().SetStr(e)
		}
	case vAny:
		v.any.CopyTo(dst)
	}
}

// converter checks a source value and returns the value to write.
type converter func(n *Normalizer, v pcommon.Value) (val, status)

// finite reports whether d is neither NaN nor infinite.
func finite(d float64) bool { return !math.IsNaN(d) && !math.IsInf(d, 0) }

// integral returns d as an int64 when it is a finite whole number in the int64 range.
func integral(d float64) (int64, bool) {
	if !finite(d) || d != math.Trunc(d) || d < -9.223372036854775e18 || d >= 9.223372036854775e18 {
		return 0, false
	}
	return int64(d), true
}

// asInt reads an integer attribute: an int, or a double that is a whole number.
func asInt(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		return integral(v.Double())
	}
	return 0, false
}

// asNumber reads a finite number attribute.
func asNumber(v pcommon.Value) (float64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeDouble:
		d := v.Double()
		return d, finite(d)
	}
	return 0, false
}

// convCount accepts an integer >= 0 (token counts, max_tokens, dimensions).
func convCount(_ *Normalizer, v pcommon.Value) (val, status) {
	if i, ok := asInt(v); ok && i >= 0 {
		return intVal(i), stOK
	}
	return val{}, stBad
}

// convPositive accepts an integer >= 1 (the number of choices).
func convPositive(_ *Normalizer, v pcommon.Value) (val, status) {
	if i, ok := asInt(v); ok && i >= 1 {
		return intVal(i), stOK
	}
	return val{}, stBad
}

// convInt accepts any integer (seed).
func convInt(_ *Normalizer, v pcommon.Value) (val, status) {
	if i, ok := asInt(v); ok {
		return intVal(i), stOK
	}
	return val{}, stBad
}

// convDouble accepts a finite number and writes it as a double.
func convDouble(_ *Normalizer, v pcommon.Value) (val, status) {
	if d, ok := asNumber(v); ok {
		return doubleVal(d), stOK
	}
	return val{}, stBad
}

// convSeconds accepts a finite number >= 0 and writes it as a double.
func convSeconds(_ *Normalizer, v pcommon.Value) (val, status) {
	if d, ok := asNumber(v); ok && d >= 0 {
		return doubleVal(d), stOK
	}
	return val{}, stBad
}

// convTopK writes top_k as a double (v1.41) or, with Latest, as an int (semantic-conventions-genai
// #217 changed the type); with Latest a value that is not a whole number is skipped.
func convTopK(n *Normalizer, v pcommon.Value) (val, status) {
	d, ok := asNumber(v)
	if !ok {
		return val{}, stBad
	}
	return topKVal(n, d)
}

func topKVal(n *Normalizer, d float64) (val, status) {
	if d < 0 {
		return val{}, stBad
	}
	if n.opts.Latest {
		if i, ok := integral(d); ok {
			return intVal(i), stOK
		}
		return val{}, stBad
	}
	return doubleVal(d), stOK
}

// convBool accepts a boolean.
func convBool(_ *Normalizer, v pcommon.Value) (val, status) {
	if v.Type() == pcommon.ValueTypeBool {
		return boolVal(v.Bool()), stOK
	}
	return val{}, stBad
}

// convString accepts a non-empty string.
func convString(_ *Normalizer, v pcommon.Value) (val, status) {
	if v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		return strVal(v.Str()), stOK
	}
	return val{}, stBad
}

// convStrings accepts a non-empty string (wrapped into a one-element array) or a non-empty
// array of strings.
func convStrings(_ *Normalizer, v pcommon.Value) (val, status) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if v.Str() != "" {
			return strsVal([]string{v.Str()}), stOK
		}
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		if s.Len() == 0 {
			return val{}, stBad
		}
		out := make([]string, s.Len())
		for i := range out {
			e := s.At(i)
			if e.Type() != pcommon.ValueTypeStr {
				return val{}, stBad
			}
			out[i] = e.Str()
		}
		return strsVal(out), stOK
	}
	return val{}, stBad
}

// convJSONArray accepts a string holding a JSON array and copies it as it is.
func convJSONArray(_ *Normalizer, v pcommon.Value) (val, status) {
	if v.Type() != pcommon.ValueTypeStr {
		return val{}, stBad
	}
	s := strings.TrimLeft(v.Str(), " \t\r\n")
	if s == "" || s[0] != '[' || !json.Valid([]byte(s)) {
		return val{}, stBad
	}
	return strVal(v.Str()), stOK
}

// convChatCompletionID accepts vLLM's engine request id when it is the id of a chat
// completion response (chatcmpl-...); other ids are not response ids and are left alone.
func convChatCompletionID(_ *Normalizer, v pcommon.Value) (val, status) {
	if v.Type() != pcommon.ValueTypeStr || v.Str() == "" {
		return val{}, stBad
	}
	if len(v.Str()) > len(vllmChatIDPrefix) && strings.HasPrefix(v.Str(), vllmChatIDPrefix) {
		return strVal(v.Str()), stOK
	}
	return val{}, stIgnore
}

// convAny copies any non-empty value.
func convAny(_ *Normalizer, v pcommon.Value) (val, status) {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return val{}, stBad
	case pcommon.ValueTypeStr:
		return strVal(v.Str()), stOK
	}
	c := pcommon.NewValueEmpty()
	v.CopyTo(c)
	return anyVal(c), stOK
}

// convProvider maps a provider name to its v1.41 value; unknown names are copied as they are.
func convProvider(n *Normalizer, v pcommon.Value) (val, status) {
	if v.Type() != pcommon.ValueTypeStr || v.Str() == "" {
		return val{}, stBad
	}
	return strVal(n.provider(v.Str())), stOK
}

// provider returns the v1.41 value for a provider name.
func (n *Normalizer) provider(s string) string {
	if to, ok := n.providers[s]; ok {
		return to
	}
	if to, ok := n.providers[strings.ToLower(s)]; ok {
		return to
	}
	return s
}

// convOperation maps an enum (case-insensitive) to gen_ai.operation.name.
func convOperation(values map[string]enumValue) converter {
	return func(_ *Normalizer, v pcommon.Value) (val, status) {
		return convEnum(values, v)
	}
}

// convOutputType maps gen_ai.openai.request.response_format to gen_ai.output.type.
func convOutputType(_ *Normalizer, v pcommon.Value) (val, status) {
	return convEnum(outputTypes, v)
}

func convEnum(values map[string]enumValue, v pcommon.Value) (val, status) {
	if v.Type() != pcommon.ValueTypeStr {
		return val{}, stBad
	}
	e, ok := values[v.Str()]
	if !ok {
		e, ok = values[strings.ToLower(v.Str())]
	}
	switch {
	case !ok:
		return val{}, stBad
	case e.ignore:
		return val{}, stIgnore
	}
	return strVal(e.to), stOK
}

// isStreaming reports whether the span says it was a streaming request.
func isStreaming(m pcommon.Map) bool {
	for _, k := range [...]string{attrRequestStream, srcOpenLITIsStream, srcOpenLLMetryIsStr} {
		if v, ok := m.Get(k); ok && v.Type() == pcommon.ValueTypeBool && v.Bool() {
			return true
		}
	}
	return false
}

// has returns a condition that holds when the span carries the attribute k.
func has(k string) func(m pcommon.Map) bool {
	return func(m pcommon.Map) bool {
		_, ok := m.Get(k)
		return ok
	}
}

// traceloopTarget returns a target picker for traceloop.entity.* by the span's
// traceloop.span.kind: agent for agent spans, tool for tool spans ("" where there is none).
func traceloopTarget(agent, tool string) func(m pcommon.Map) string {
	return func(m pcommon.Map) string {
		v, ok := m.Get(srcTraceloopSpanKind)
		if !ok || v.Type() != pcommon.ValueTypeStr {
			return ""
		}
		switch strings.ToLower(v.Str()) {
		case "agent":
			return agent
		case "tool":
			return tool
		}
		return ""
	}
}

// vllmOperation derives gen_ai.operation.name of a vLLM request span from the engine request
// id that vLLM's OpenAI-compatible server assigns: chatcmpl-... for chat completions, cmpl-... for
// completions. Other ids (offline LLM requests, other endpoints) give no operation.
func vllmOperation(m pcommon.Map) (val, status) {
	v, ok := m.Get(srcVLLMRequestID)
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return val{}, stIgnore
	}
	switch id := v.Str(); {
	case len(id) > len(vllmChatIDPrefix) && strings.HasPrefix(id, vllmChatIDPrefix):
		return strVal("chat"), stOK
	case len(id) > len(vllmCompletionIDPrefix) && strings.HasPrefix(id, vllmCompletionIDPrefix):
		return strVal("text_completion"), stOK
	}
	return val{}, stIgnore
}
