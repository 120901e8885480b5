// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// maxInvocationBytes bounds the llm.invocation_parameters values that are parsed; larger ones
// (a request with big tool schemas) are left alone and counted as skipped.
const maxInvocationBytes = 64 << 10

// invocationParam maps one key of llm.invocation_parameters to its target.
type invocationParam struct {
	key  string
	to   string
	conv func(n *Normalizer, raw string) (val, status)
}

// invocationParams in the order they are applied. max_completion_tokens comes before
// max_tokens: when both are set, max_tokens is consumed without being written.
var invocationParams = []invocationParam{
	{key: "temperature", to: attrRequestTemperature, conv: jsonDouble},
	{key: "max_completion_tokens", to: attrRequestMaxTokens, conv: jsonCount},
	{key: "max_tokens", to: attrRequestMaxTokens, conv: jsonCount},
	{key: "top_p", to: attrRequestTopP, conv: jsonDouble},
	{key: "top_k", to: attrRequestTopK, conv: jsonTopK},
	{key: "frequency_penalty", to: attrRequestFreqPenalty, conv: jsonDouble},
	{key: "presence_penalty", to: attrRequestPresPenalty, conv: jsonDouble},
	{key: "seed", to: attrRequestSeed, conv: jsonInt},
	{key: "stop", to: attrRequestStopSequences, conv: jsonStrings},
	{key: "stop_sequences", to: attrRequestStopSequences, conv: jsonStrings},
	{key: "stream", to: attrRequestStream, conv: jsonBool},
	{key: "n", to: attrRequestChoiceCount, conv: jsonPositive},
	// The requested model. llm.model_name is the model of the response and maps to
	// gen_ai.response.model; the two differ when the server answers with another name.
	{key: "model", to: attrRequestModel, conv: jsonString},
}

// invocation applies llm.invocation_parameters. Bad parameters are skipped one by one; the
// source is removed only when every key in it was mapped without a skip or conflict.
func (s *state) invocation(mt match) {
	if mt.v.Type() != pcommon.ValueTypeStr || len(mt.v.Str()) > maxInvocationBytes {
		s.res.Skipped++
		return
	}
	var buf [16]jsonMember
	members, ok := scanObject(mt.v.Str(), buf[:0])
	if !ok {
		s.res.Skipped++
		return
	}
	complete := true
	known := 0
	hasMCT := false
	for _, p := range invocationParams {
		raw, present := lastMember(members, p.key)
		if !present {
			continue
		}
		known++
		if raw == "null" {
			continue // an explicit null says nothing
		}
		if p.key == "max_tokens" && hasMCT {
			continue
		}
		v, st := p.conv(s.n, raw)
		switch st {
		case stBad:
			s.res.Skipped++
			complete = false
			continue
		case stIgnore:
			complete = false
			continue
		}
		if p.key == "max_completion_tokens" {
			hasMCT = true
		}
		if s.decide(s.n.target(p.to), v) == conflict {
			s.res.Conflicts++
			complete = false
		}
	}
	if complete && known == distinctKeys(members) {
		s.consume(mt.key)
	}
}

// jsonMember is a top-level member of a JSON object: its key and the raw text of its value.
type jsonMember struct {
	key, raw string
}

// lastMember returns the raw value of the last member named key (as encoding/json would keep).
func lastMember(ms []jsonMember, key string) (string, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].key == key {
			return ms[i].raw, true
		}
	}
	return "", false
}

// distinctKeys counts the distinct keys of the members.
func distinctKeys(ms []jsonMember) int {
	n := 0
	for i := range ms {
		dup := false
		for j := 0; j < i; j++ {
			if ms[j].key == ms[i].key {
				dup = true
				break
			}
		}
		if !dup {
			n++
		}
	}
	return n
}

// scanObject splits a JSON object into its top-level members without decoding the values. It
// returns false when s is not valid JSON or not an object.
func scanObject(s string, out []jsonMember) ([]jsonMember, bool) {
	if !json.Valid([]byte(s)) {
		return nil, false
	}
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return nil, false
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return out, true
	}
	for i < len(s) {
		// The input is valid JSON, so a key string follows.
		end := stringEnd(s, i)
		key := s[i:end]
		if strings.IndexByte(key, '\\') >= 0 {
			var k string
			if json.Unmarshal([]byte(key), &k) != nil {
				return nil, false
			}
			key = k
		} else {
			key = key[1 : len(key)-1]
		}
		i = skipSpace(s, end)
		i = skipSpace(s, i+1) // the colon
		vend := valueEnd(s, i)
		out = append(out, jsonMember{key: key, raw: s[i:vend]})
		i = skipSpace(s, vend)
		if i >= len(s) || s[i] == '}' {
			break
		}
		i = skipSpace(s, i+1) // the comma
	}
	return out, true
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the JSON string that starts at s[i] (a quote).
func stringEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// valueEnd returns the index after the JSON value that starts at s[i].
func valueEnd(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '"':
		return stringEnd(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = stringEnd(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	}
	j := i
	for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r' {
		j++
	}
	return j
}

// jsonNumber returns a finite JSON number.
func jsonNumber(raw string) (float64, bool) {
	if raw == "" || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	d, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(d) || math.IsInf(d, 0) {
		return 0, false
	}
	return d, true
}

// jsonInteger returns a JSON number that is a whole number in the int64 range.
func jsonInteger(raw string) (int64, bool) {
	if i, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return i, true
	}
	d, ok := jsonNumber(raw)
	if !ok {
		return 0, false
	}
	return integral(d)
}

// jsonStr decodes a JSON string value.
func jsonStr(raw string) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if strings.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], true
	}
	var out string
	if json.Unmarshal([]byte(raw), &out) != nil {
		return "", false
	}
	return out, true
}

func jsonDouble(_ *Normalizer, raw string) (val, status) {
	if d, ok := jsonNumber(raw); ok {
		return doubleVal(d), stOK
	}
	return val{}, stBad
}

func jsonTopK(n *Normalizer, raw string) (val, status) {
	d, ok := jsonNumber(raw)
	if !ok {
		return val{}, stBad
	}
	return topKVal(n, d)
}

func jsonCount(_ *Normalizer, raw string) (val, status) {
	if i, ok := jsonInteger(raw); ok && i >= 0 {
		return intVal(i), stOK
	}
	return val{}, stBad
}

func jsonPositive(_ *Normalizer, raw string) (val, status) {
	if i, ok := jsonInteger(raw); ok && i >= 1 {
		return intVal(i), stOK
	}
	return val{}, stBad
}

func jsonInt(_ *Normalizer, raw string) (val, status) {
	if i, ok := jsonInteger(raw); ok {
		return intVal(i), stOK
	}
	return val{}, stBad
}

func jsonBool(_ *Normalizer, raw string) (val, status) {
	switch raw {
	case "true":
		return boolVal(true), stOK
	case "false":
		return boolVal(false), stOK
	}
	return val{}, stBad
}

func jsonString(_ *Normalizer, raw string) (val, status) {
	if s, ok := jsonStr(raw); ok && s != "" {
		return strVal(s), stOK
	}
	return val{}, stBad
}

// jsonStrings accepts a non-empty string or a non-empty array of strings.
func jsonStrings(_ *Normalizer, raw string) (val, status) {
	if s, ok := jsonStr(raw); ok {
		if s == "" {
			return val{}, stBad
		}
		return strsVal([]string{s}), stOK
	}
	if raw == "" || raw[0] != '[' {
		return val{}, stBad
	}
	var arr []any
	if json.Unmarshal([]byte(raw), &arr) != nil || len(arr) == 0 {
		return val{}, stBad
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			return val{}, stBad
		}
		out[i] = s
	}
	return strsVal(out), stOK
}
