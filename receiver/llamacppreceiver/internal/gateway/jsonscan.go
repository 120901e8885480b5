// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting the scanner follows; deeper input is treated as malformed.
const maxJSONDepth = 128

// jsonScanner reads a JSON document in one pass without building it: the caller walks the
// objects and arrays it cares about and takes the values it wants; everything else is skipped
// without allocating. It is several times faster than encoding/json's reflection for the few
// fields the gateway reads from a llama-server answer.
//
// Malformed input stops the walk (bad is set) and keeps what was read before, which is also how
// an answer cut at maxKeptResponse still yields its leading members. Numbers are checked against
// JSON's grammar and strings decoded exactly as encoding/json decodes them; duplicate keys are
// not checked (the last one wins, as in encoding/json).
type jsonScanner struct {
	b     []byte
	i     int
	depth int
	bad   bool
}

func (s *jsonScanner) fail() {
	s.bad = true
	s.i = len(s.b)
}

// peek skips white space and returns the next byte, or 0 at the end.
func (s *jsonScanner) peek() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// object walks an object, calling member with each key (as written, escapes not decoded);
// member must consume the value, with one of the value methods or skip. A value that is not an
// object is skipped and object returns false.
func (s *jsonScanner) object(member func(key []byte)) bool {
	if s.bad {
		return false
	}
	if s.peek() != '{' {
		s.skip()
		return false
	}
	if s.depth++; s.depth > maxJSONDepth {
		s.fail()
		return false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		key, _, ok := s.rawString()
		if !ok || s.peek() != ':' {
			s.fail()
			return false
		}
		s.i++
		member(key)
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return !s.bad
		default:
			s.fail()
			return false
		}
	}
}

// array walks an array, calling elem for each element; elem must consume it. A value that is
// not an array is skipped and array returns false.
func (s *jsonScanner) array(elem func()) bool {
	if s.bad {
		return false
	}
	if s.peek() != '[' {
		s.skip()
		return false
	}
	if s.depth++; s.depth > maxJSONDepth {
		s.fail()
		return false
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		elem()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return !s.bad
		default:
			s.fail()
			return false
		}
	}
}

// rawString reads a string at the current position and returns its content as written.
// escaped reports a backslash in it.
func (s *jsonScanner) rawString() (raw []byte, escaped, ok bool) {
	if s.peek() != '"' {
		return nil, false, false
	}
	start := s.i + 1
	for i := start; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			s.i = i + 1
			return s.b[start:i], escaped, true
		case c == '\\':
			escaped = true
			i++
		case c < 0x20:
			s.fail()
			return nil, false, false
		}
	}
	s.fail()
	return nil, false, false
}

// str reads a string value. null gives ok == false, and so does any other type (skipped).
func (s *jsonScanner) str() (string, bool) {
	if s.peek() != '"' {
		s.skip()
		return "", false
	}
	start := s.i
	raw, escaped, ok := s.rawString()
	if !ok {
		return "", false
	}
	if !escaped && utf8.Valid(raw) {
		return string(raw), true
	}
	// Escapes or invalid UTF-8: let encoding/json decode it, for identical results (invalid
	// sequences become U+FFFD).
	var v string
	if json.Unmarshal(s.b[start:s.i], &v) != nil {
		s.fail()
		return "", false
	}
	return v, true
}

// number reads a number value; any other type is skipped and gives ok == false.
func (s *jsonScanner) number() (text []byte, ok bool) {
	c := s.peek()
	if c != '-' && (c < '0' || c > '9') {
		s.skip()
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			s.i++
			continue
		}
		break
	}
	text = s.b[start:s.i]
	if !validNumber(text) {
		s.fail()
		return nil, false
	}
	return text, true
}

// validNumber reports whether b is a number as JSON writes one (RFC 8259 §6):
// -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?. Checking it keeps a body the scanner calls
// well formed one that encoding/json decodes too.
func validNumber(b []byte) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

// float reads a number as a float64.
func (s *jsonScanner) float() (float64, bool) {
	text, ok := s.number()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// int reads an integer number (no fraction or exponent, as encoding/json requires for ints).
func (s *jsonScanner) int() (int64, bool) {
	text, ok := s.number()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(text), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// boolean reads true or false; any other value is skipped and gives ok == false.
func (s *jsonScanner) boolean() (v, ok bool) {
	switch s.peek() {
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	}
	s.skip()
	return false, false
}

func (s *jsonScanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	s.fail()
	return false
}

// raw returns the next value as written.
func (s *jsonScanner) raw() []byte {
	s.peek()
	start := s.i
	s.skip()
	if s.bad {
		return nil
	}
	return s.b[start:s.i]
}

// skip passes over one value of any type, iteratively (no recursion on deep input).
func (s *jsonScanner) skip() {
	var inObject [maxJSONDepth]bool
	depth := 0
	for {
		// One value.
		switch c := s.peek(); {
		case c == '{' || c == '[':
			if depth == maxJSONDepth || s.depth+depth >= maxJSONDepth {
				s.fail()
				return
			}
			s.i++
			inObject[depth] = c == '{'
			depth++
			closer := byte(']')
			if c == '{' {
				closer = '}'
			}
			if s.peek() == closer {
				s.i++
				depth--
				break
			}
			if c == '{' && !s.key() {
				return
			}
			continue
		case c == '"':
			if _, _, ok := s.rawString(); !ok {
				s.fail()
				return
			}
		case c == 't':
			if !s.literal("true") {
				return
			}
		case c == 'f':
			if !s.literal("false") {
				return
			}
		case c == 'n':
			if !s.literal("null") {
				return
			}
		case c == '-' || (c >= '0' && c <= '9'):
			s.number()
		default:
			s.fail()
			return
		}
		// After a value: close containers or move to the next member.
		for {
			if depth == 0 {
				return
			}
			switch c := s.peek(); {
			case c == ',':
				s.i++
				if inObject[depth-1] && !s.key() {
					return
				}
			case (c == '}' && inObject[depth-1]) || (c == ']' && !inObject[depth-1]):
				s.i++
				depth--
				continue
			default:
				s.fail()
				return
			}
			break
		}
	}
}

// key reads `"name":` inside an object being skipped.
func (s *jsonScanner) key() bool {
	if _, _, ok := s.rawString(); !ok || s.peek() != ':' {
		s.fail()
		return false
	}
	s.i++
	return true
}

// Helpers that store into optional fields.

func (s *jsonScanner) intPtr(dst **int64) {
	if s.peek() == 'n' {
		s.skip()
		*dst = nil
		return
	}
	if v, ok := s.int(); ok {
		*dst = &v
	}
}

func (s *jsonScanner) floatPtr(dst **float64) {
	if s.peek() == 'n' {
		s.skip()
		*dst = nil
		return
	}
	if v, ok := s.float(); ok && !math.IsInf(v, 0) {
		*dst = &v
	}
}

func (s *jsonScanner) strPtr(dst **string) {
	if s.peek() == 'n' {
		s.skip()
		*dst = nil
		return
	}
	if v, ok := s.str(); ok {
		*dst = &v
	}
}

func (s *jsonScanner) boolPtr(dst **bool) {
	if s.peek() == 'n' {
		s.skip()
		*dst = nil
		return
	}
	if v, ok := s.boolean(); ok {
		*dst = &v
	}
}

func (s *jsonScanner) string(dst *string) {
	if v, ok := s.str(); ok {
		*dst = v
	}
}
