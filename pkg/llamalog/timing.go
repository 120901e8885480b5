// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamalog

import (
	"math"
	"strconv"
	"strings"
)

// Kinds of Timing, named after the line llama-server's print_timings writes.
const (
	// TimingPromptEval is the "prompt eval time" line: prompt processing.
	TimingPromptEval = "prompt_eval"
	// TimingEval is the "eval time" line: token generation.
	TimingEval = "eval"
	// TimingTotal is the "total time" line: both together.
	TimingTotal = "total"
)

// Timing holds the figures of one timing line that llama-server prints
// when a task ends:
//
//	slot print_timing: id  0 | task 1 | prompt eval time =       3.69 ms /    67 tokens (    0.06 ms per token, 18142.43 tokens per second)
//	slot print_timing: id  0 | task 1 |        eval time =       4.85 ms /    16 tokens (    0.32 ms per token,  3094.06 tokens per second)
//	slot print_timing: id  0 | task 1 |       total time =       8.54 ms /    83 tokens
type Timing struct {
	// Kind is TimingPromptEval, TimingEval or TimingTotal.
	Kind string
	// Millis is the time spent, in milliseconds.
	Millis float64
	// Tokens is the number of tokens processed.
	Tokens int
	// MillisPerToken is the printed time per token; 0 when the line has none
	// (the total line). It may be +Inf or NaN when llama.cpp divided by zero.
	MillisPerToken float64
	// TokensPerSecond is the printed rate; 0 when the line has none (the
	// total line). It may be +Inf or NaN when llama.cpp divided by zero.
	TokensPerSecond float64
}

// timingKinds maps the label before " time =" to a kind. "prompt eval" must
// come before "eval".
var timingKinds = []struct{ label, kind string }{
	{"prompt eval time =", TimingPromptEval},
	{"eval time =", TimingEval},
	{"total time =", TimingTotal},
}

// Timing extracts llama.cpp's print_timing figures when r is such a line.
// It looks at the message only, so the same line is recognised with or
// without prefixes and from any function; the numbers must be complete
// (a line cut short gives false), and the count must be in tokens, which
// leaves out llama_perf_context_print's "eval time = ... / N runs".
func (r Record) Timing() (Timing, bool) {
	s := r.Message
	var t Timing
	for _, k := range timingKinds {
		if strings.HasPrefix(s, k.label) {
			t.Kind = k.kind
			s = s[len(k.label):]
			break
		}
	}
	if t.Kind == "" {
		return Timing{}, false
	}
	var ok bool
	if t.Millis, s, ok = floatThen(s, " ms"); !ok {
		return Timing{}, false
	}
	if s, ok = literal(s, "/"); !ok {
		return Timing{}, false
	}
	if t.Tokens, s, ok = intThen(s, " tokens"); !ok {
		return Timing{}, false
	}
	s = strings.TrimLeft(s, " ")
	if s == "" {
		return t, true
	}
	if s, ok = literal(s, "("); !ok {
		return Timing{}, false
	}
	if t.MillisPerToken, s, ok = floatThen(s, " ms per token,"); !ok {
		return Timing{}, false
	}
	if t.TokensPerSecond, s, ok = floatThen(s, " tokens per second)"); !ok {
		return Timing{}, false
	}
	if strings.TrimSpace(s) != "" {
		return Timing{}, false
	}
	return t, true
}

// fieldThen skips spaces and returns the word before suffix, which must
// follow it directly, and the text after suffix.
func fieldThen(s, suffix string) (string, string, bool) {
	s = strings.TrimLeft(s, " ")
	end := strings.IndexByte(s, ' ')
	if end <= 0 || !strings.HasPrefix(s[end:], suffix) {
		return "", "", false
	}
	return s[:end], s[end+len(suffix):], true
}

// floatThen reads a number printed by printf's %f (including "inf", "nan"
// and glibc's "-nan") followed by suffix.
func floatThen(s, suffix string) (float64, string, bool) {
	tok, rest, ok := fieldThen(s, suffix)
	if !ok {
		return 0, "", false
	}
	switch strings.ToLower(tok) {
	case "nan", "-nan", "+nan":
		return math.NaN(), rest, true
	case "inf", "+inf":
		return math.Inf(1), rest, true
	case "-inf":
		return math.Inf(-1), rest, true
	}
	for _, c := range []byte(tok) {
		if !isDigit(c) && c != '.' && c != '-' && c != '+' && c != 'e' {
			return 0, "", false
		}
	}
	v, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		return 0, "", false
	}
	return v, rest, true
}

// intThen reads a count printed by printf's %d followed by suffix.
func intThen(s, suffix string) (int, string, bool) {
	tok, rest, ok := fieldThen(s, suffix)
	if !ok {
		return 0, "", false
	}
	v, n := leadingDigits(tok, maxIDDigits)
	if n == 0 || n != len(tok) {
		return 0, "", false
	}
	return int(v), rest, true
}

// literal skips spaces and expects lit.
func literal(s, lit string) (string, bool) {
	s = strings.TrimLeft(s, " ")
	if !strings.HasPrefix(s, lit) {
		return "", false
	}
	return s[len(lit):], true
}
