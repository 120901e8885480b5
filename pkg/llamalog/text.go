// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamalog

import (
	"strings"
	"time"
)

// Limits on the numbers read from a line, so that none overflows an int on
// any platform or a time.Duration (which holds about 153 million minutes).
const (
	maxMinuteDigits = 8 // up to 99,999,999 minutes, 190 years
	maxIDDigits     = 9
)

// parseText parses a text line (already free of colour codes): the optional
// timestamp and severity letter, then the body.
func parseText(s string, r *Record) {
	rest := s
	if d, n, ok := parseElapsed(rest); ok {
		r.Elapsed, r.HasElapsed = d, true
		rest = rest[n:]
	}
	if lvl, n, ok := parseLevelLetter(rest, r.HasElapsed); ok {
		r.Level = lvl
		rest = rest[n:]
	}
	parseBody(rest, r)
}

// parseElapsed reads the "M.SS.mmm.uuu " timestamp of common/log.cpp at the
// start of s and returns it with the number of bytes it takes, including the
// one space after it.
func parseElapsed(s string) (time.Duration, int, bool) {
	minutes, i := leadingDigits(s, maxMinuteDigits)
	if i == 0 {
		return 0, 0, false
	}
	sec, ok1 := fixedDigits(s, i+1, 2)
	ms, ok2 := fixedDigits(s, i+4, 3)
	us, ok3 := fixedDigits(s, i+8, 3)
	end := i + 11
	if !ok1 || !ok2 || !ok3 || sec >= 60 ||
		s[i] != '.' || s[i+3] != '.' || s[i+7] != '.' ||
		len(s) <= end || s[end] != ' ' {
		return 0, 0, false
	}
	d := time.Duration(minutes)*time.Minute + time.Duration(sec)*time.Second +
		time.Duration(ms)*time.Millisecond + time.Duration(us)*time.Microsecond
	return d, end + 1, true
}

// leadingDigits parses the decimal digits at the start of s, at most limit of
// them; more than limit digits is no number.
func leadingDigits(s string, limit int) (int64, int) {
	var v int64
	i := 0
	for i < len(s) && isDigit(s[i]) {
		if i == limit {
			return 0, 0
		}
		v = v*10 + int64(s[i]-'0')
		i++
	}
	return v, i
}

// fixedDigits parses exactly n digits of s at offset at.
func fixedDigits(s string, at, n int) (int64, bool) {
	if at < 0 || at+n > len(s) {
		return 0, false
	}
	var v int64
	for _, c := range []byte(s[at : at+n]) {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// parseLevelLetter reads the "I " / "W " / "E " / "D " severity prefix.
// Without a timestamp before it, a capital letter and a space could just as
// well start a sentence, so the letter only counts when a module tag, a
// "function: " prefix or more indentation follows.
func parseLevelLetter(s string, afterTimestamp bool) (Level, int, bool) {
	if len(s) < 2 || s[1] != ' ' {
		return LevelUnspecified, 0, false
	}
	lvl, ok := levelFromLetter(s[0])
	if !ok {
		return LevelUnspecified, 0, false
	}
	if !afterTimestamp {
		rest := s[2:]
		if _, _, _, tagged := parseTag(rest); !tagged {
			if _, _, named := parseFunction(rest); !named && !strings.HasPrefix(rest, " ") {
				return LevelUnspecified, 0, false
			}
		}
	}
	return lvl, 2, true
}

// parseBody reads the module tag or "function: " prefix, the slot and task
// of slot lines, and keeps the rest as the message.
func parseBody(s string, r *Record) {
	if mod, fn, n, ok := parseTag(s); ok {
		r.Module, r.Function = mod, fn
		s = s[n:]
		if slot, task, n, ok := parseSlotTask(s); ok {
			r.SlotID, r.TaskID = slot, task
			s = s[n:]
		}
	} else if fn, n, ok := parseFunction(s); ok {
		r.Function = fn
		s = s[n:]
	}
	r.Message = strings.TrimSpace(s)
}

// moduleWidth is the width llama-server pads its module tags to ("srv  ",
// "slot ").
const moduleWidth = 5

// parseTag reads llama-server's "tag  %12.*s: " prefix: two to four
// lower-case letters padded with spaces to five columns, then the function
// name right-aligned in its field, then ": ". It returns the tag, the
// function name and the length of the prefix.
func parseTag(s string) (module, function string, n int, ok bool) {
	i := 0
	for i < len(s) && i < moduleWidth && isLower(s[i]) {
		i++
	}
	if i < 2 || i >= moduleWidth {
		return "", "", 0, false
	}
	j := i
	for j < len(s) && j < moduleWidth && s[j] == ' ' {
		j++
	}
	if j != moduleWidth {
		return "", "", 0, false
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	start := j
	for j < len(s) && isNameByte(s[j]) {
		j++
	}
	end, ok := colonAfter(s, start, j)
	if !ok {
		return "", "", 0, false
	}
	return s[:i], s[start:j], end, true
}

// parseFunction reads a "function_name: " prefix (a C identifier followed by
// a colon and a space or the end of the line), as printed by llama.cpp's
// LOG_INF("%s: ...", __func__). "error:" and "warning:" are message words,
// not functions.
func parseFunction(s string) (string, int, bool) {
	if len(s) == 0 || (!isLetter(s[0]) && s[0] != '_') {
		return "", 0, false
	}
	j := 1
	for j < len(s) && (isLetter(s[j]) || isDigit(s[j]) || s[j] == '_') {
		j++
	}
	end, ok := colonAfter(s, 0, j)
	if !ok {
		return "", 0, false
	}
	name := s[:j]
	if strings.EqualFold(name, "error") || strings.EqualFold(name, "warning") {
		return "", 0, false
	}
	return name, end, true
}

// colonAfter checks that the name s[start:j] is not empty and is followed by
// ':' and then a space or the end of s; it returns the offset after the colon
// and that one space.
func colonAfter(s string, start, j int) (int, bool) {
	if j == start || j >= len(s) || s[j] != ':' {
		return 0, false
	}
	j++
	if j == len(s) {
		return j, true
	}
	if s[j] != ' ' {
		return 0, false
	}
	return j + 1, true
}

// parseSlotTask reads the "id %2d | task %d | " that the slot macros print.
// The final " | " may be cut short by the end of the line.
func parseSlotTask(s string) (slot, task, n int, ok bool) {
	i, ok := expectWord(s, 0, "id")
	if !ok {
		return -1, -1, 0, false
	}
	slot, i, ok = parseID(s, i)
	if !ok {
		return -1, -1, 0, false
	}
	if i, ok = expectWord(s, i, "|"); !ok {
		return -1, -1, 0, false
	}
	if i, ok = expectWord(s, i, "task"); !ok {
		return -1, -1, 0, false
	}
	task, i, ok = parseID(s, i)
	if !ok {
		return -1, -1, 0, false
	}
	// the separator before the message
	j := skipSpaces(s, i)
	if j == len(s) {
		return slot, task, j, true
	}
	if s[j] != '|' {
		return -1, -1, 0, false
	}
	j++
	if j < len(s) && s[j] == ' ' {
		j++
	}
	return slot, task, j, true
}

// expectWord skips spaces at s[i:] and then expects word followed by a space
// or the end of s; it returns the offset after word.
func expectWord(s string, i int, word string) (int, bool) {
	i = skipSpaces(s, i)
	if !strings.HasPrefix(s[i:], word) {
		return 0, false
	}
	i += len(word)
	if i < len(s) && s[i] != ' ' {
		return 0, false
	}
	return i, true
}

// parseID skips spaces and reads a decimal number of at most maxIDDigits
// digits, optionally "-1". Other negative numbers are rejected: llama.cpp
// uses -1 alone for "none".
func parseID(s string, i int) (int, int, bool) {
	i = skipSpaces(s, i)
	if strings.HasPrefix(s[i:], "-1") {
		if j := i + 2; j == len(s) || !isDigit(s[j]) {
			return -1, j, true
		}
		return 0, 0, false
	}
	v, n := leadingDigits(s[i:], maxIDDigits)
	if n == 0 {
		return 0, 0, false
	}
	return int(v), i + n, true
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLower(c byte) bool  { return 'a' <= c && c <= 'z' }
func isLetter(c byte) bool { return isLower(c) || ('A' <= c && c <= 'Z') }

// isNameByte accepts the bytes of a C++ __func__ as llama-server prints it
// ("load_model", "operator()", "~server_slot"): anything visible but a colon.
func isNameByte(c byte) bool {
	return c > ' ' && c < 0x7f && c != ':'
}
