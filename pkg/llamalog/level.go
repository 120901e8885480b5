// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamalog

import "strings"

// Level is the severity letter llama.cpp prints before a message. Levels are
// ordered: LevelUnspecified < LevelDebug < LevelInfo < LevelWarn < LevelError.
type Level int8

const (
	// LevelUnspecified is a line without a severity (no prefix, or llama.cpp's
	// "none" and "continuation" levels).
	LevelUnspecified Level = iota
	// LevelDebug is the letter D (printed with -v or --verbosity 4 and up).
	LevelDebug
	// LevelInfo is the letter I.
	LevelInfo
	// LevelWarn is the letter W.
	LevelWarn
	// LevelError is the letter E.
	LevelError
)

// String returns "DEBUG", "INFO", "WARN" or "ERROR", and "" for
// LevelUnspecified and values outside the enum.
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "DEBUG"
	case LevelInfo:
		return "INFO"
	case LevelWarn:
		return "WARN"
	case LevelError:
		return "ERROR"
	}
	return ""
}

// AtLeast reports whether l is as severe as threshold or more. Every level is at
// least LevelUnspecified, and LevelUnspecified is at least nothing else.
func (l Level) AtLeast(threshold Level) bool {
	return l >= threshold
}

// levelFromLetter maps the letter common/log.cpp prints to a Level.
func levelFromLetter(c byte) (Level, bool) {
	switch c {
	case 'D':
		return LevelDebug, true
	case 'I':
		return LevelInfo, true
	case 'W':
		return LevelWarn, true
	case 'E':
		return LevelError, true
	}
	return LevelUnspecified, false
}

// levelFromName maps the "level" of a --log-jsonl object to a Level, ignoring
// case. Trace is folded into LevelDebug; "cont", "none", "unknown" and
// anything else are LevelUnspecified.
func levelFromName(s string) Level {
	switch strings.ToLower(s) {
	case "debug", "dbg", "d", "trace", "trc", "t":
		return LevelDebug
	case "info", "inf", "i":
		return LevelInfo
	case "warn", "warning", "wrn", "w":
		return LevelWarn
	case "error", "err", "e":
		return LevelError
	}
	return LevelUnspecified
}
