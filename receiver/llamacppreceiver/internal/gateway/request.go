// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"math"
)

// Client-supplied strings become attribute values (and the model a metric attribute): they are
// bounded.
const (
	maxClientString  = 256
	maxStopSequences = 16
)

// requestDoc is the part of an inference request body the span records (OpenAI parameters
// plus llama.cpp's n_predict). A field of an unexpected type is left unset rather than zero, so
// one odd field does not lose the others.
type requestDoc struct {
	Model            string
	Temperature      optNumber
	TopP             optNumber
	TopK             optNumber
	MaxTokens        optNumber // max_tokens
	MaxCompletion    optNumber // max_completion_tokens
	NPredict         optNumber // n_predict
	Seed             optNumber
	Stream           optBool
	FrequencyPenalty optNumber
	PresencePenalty  optNumber
	Stop             []string
	N                optNumber
	ResponseFormat   string // response_format.type
	// The content-bearing members as raw JSON (slices of the body), for content capture: the
	// last of each, as encoding/json would take them.
	rawMessages, rawPrompt, rawInput, rawContent []byte
}

// requestInfo is what the gateway learnt from a request body.
type requestInfo struct {
	parsed bool // the body is one well-formed JSON object
	doc    requestDoc
}

// parseRequest reads the attributes of a request body. A body that is not exactly one
// well-formed JSON object gives parsed == false and no attributes.
func parseRequest(body []byte) requestInfo {
	var info requestInfo
	s := &jsonScanner{b: body}
	if s.peek() != '{' {
		return info
	}
	d := &info.doc
	s.object(func(k []byte) { d.member(s, k) })
	if s.bad || s.peek() != 0 {
		return requestInfo{}
	}
	info.parsed = true
	return info
}

func (d *requestDoc) member(s *jsonScanner, k []byte) {
	switch string(k) {
	case "model":
		s.string(&d.Model)
		d.Model = truncateUTF8(d.Model, maxClientString)
	case "temperature":
		d.Temperature.read(s)
	case "top_p":
		d.TopP.read(s)
	case "top_k":
		d.TopK.read(s)
	case "max_tokens":
		d.MaxTokens.read(s)
	case "max_completion_tokens":
		d.MaxCompletion.read(s)
	case "n_predict":
		d.NPredict.read(s)
	case "seed":
		d.Seed.read(s)
	case "stream":
		if v, ok := s.boolean(); ok {
			d.Stream = optBool{v: v, set: true}
		}
	case "frequency_penalty":
		d.FrequencyPenalty.read(s)
	case "presence_penalty":
		d.PresencePenalty.read(s)
	case "stop":
		d.Stop = readStop(s)
	case "n":
		d.N.read(s)
	case "messages":
		d.rawMessages = rawValue(s)
	case "prompt":
		d.rawPrompt = rawValue(s)
	case "input":
		d.rawInput = rawValue(s)
	case "content":
		d.rawContent = rawValue(s)
	case "response_format":
		s.object(func(k []byte) {
			if string(k) == "type" {
				s.string(&d.ResponseFormat)
				return
			}
			s.skip()
		})
	default:
		s.skip()
	}
}

// rawValue skips one value and returns its bytes.
func rawValue(s *jsonScanner) []byte {
	s.peek()
	start := s.i
	s.skip()
	if s.bad {
		return nil
	}
	return s.b[start:s.i]
}

// readStop reads a `stop` field: one string or a list of strings; anything else is ignored.
// At most maxStopSequences are kept, each cut to maxClientString bytes.
func readStop(s *jsonScanner) []string {
	switch s.peek() {
	case '"':
		if v, ok := s.str(); ok {
			return []string{truncateUTF8(v, maxClientString)}
		}
		return nil
	case '[':
		var out []string
		all := true
		s.array(func() {
			v, ok := s.str()
			all = all && ok
			if len(out) < maxStopSequences {
				out = append(out, truncateUTF8(v, maxClientString))
			}
		})
		if !all {
			return nil
		}
		return out
	}
	s.skip()
	return nil
}

// maxTokens is max_tokens, else max_completion_tokens, else llama.cpp's n_predict.
func (r *requestInfo) maxTokens() (int64, bool) {
	for _, n := range [...]optNumber{r.doc.MaxTokens, r.doc.MaxCompletion, r.doc.NPredict} {
		if v, ok := n.int(); ok {
			return v, true
		}
	}
	return 0, false
}

// outputType maps response_format.type to gen_ai.output.type.
func (r *requestInfo) outputType() string {
	switch r.doc.ResponseFormat {
	case "json_object", "json_schema":
		return "json"
	case "text":
		return "text"
	}
	return ""
}

// optNumber is a JSON number that may be absent. A value of another type (a string, null)
// leaves it absent rather than zero.
type optNumber struct {
	v   float64
	set bool
}

func (n *optNumber) read(s *jsonScanner) {
	if v, ok := s.float(); ok {
		*n = optNumber{v: v, set: true}
	}
}

// int returns the number when it is an integer that fits an int64.
func (n optNumber) int() (int64, bool) {
	if !n.set || n.v != math.Trunc(n.v) || n.v < math.MinInt64 || n.v >= math.MaxInt64 {
		return 0, false
	}
	return int64(n.v), true
}

// optBool is a JSON boolean that may be absent.
type optBool struct {
	v, set bool
}

func looksLikeObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}
