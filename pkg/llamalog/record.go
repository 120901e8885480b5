// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamalog

import (
	"strings"
	"time"
)

// Record is one parsed line.
type Record struct {
	// Elapsed is the time since the server's logger started, from the line's
	// own timestamp; 0 when the line has none (see HasElapsed).
	Elapsed time.Duration
	// HasElapsed reports whether the line carried a timestamp.
	HasElapsed bool
	// Level is the severity; LevelUnspecified when the line has none (see the
	// package documentation for the one rule applied then).
	Level Level
	// Module is llama-server's module tag: "srv", "slot", "cmn", "que", ...;
	// "" when the line has none.
	Module string
	// Function is the C function that logged the line, as printed and
	// trimmed: "load_model", "print_timing", "get_availabl" (llama-server
	// cuts names to twelve characters), "llama_model_loader", "main". "" when
	// the line does not start with one.
	Function string
	// SlotID is the slot of a "slot" line ("id  0 | ..."); -1 when absent.
	SlotID int
	// TaskID is the task of a "slot" line ("| task 7 |"); -1 when absent,
	// and also when the line says "task -1" (a slot without a task).
	TaskID int
	// Message is the rest of the line after the prefixes, with surrounding
	// spaces removed. For a line of unknown shape it is the whole line,
	// trimmed. It never contains colour codes or carriage returns.
	Message string
	// Line is the original line without the trailing newline (and without a
	// "\r" before it). Scan also removes colour codes and carriage returns and
	// shortens lines longer than MaxLineBytes; ParseLine keeps them.
	Line string
	// Type is the "type" of a --log-jsonl object ("log" for log lines, or the
	// name of a structured event); "" for text lines.
	Type string
	// Truncated reports that Scan cut the line to MaxLineBytes.
	Truncated bool
}

// ParseLine parses one line of llama-server output. A trailing "\n" or
// "\r\n" is ignored. It never fails and never panics: a line of unknown shape
// yields a Record whose Message is the whole line, trimmed, with SlotID and
// TaskID -1.
func ParseLine(line string) Record {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	r := Record{SlotID: -1, TaskID: -1, Line: line}
	s := stripControl(line)
	if !parseJSONL(s, &r) {
		parseText(s, &r)
	}
	if r.Level == LevelUnspecified && isFailure(r.Message) {
		r.Level = LevelError
	}
	return r
}

// isFailure reports whether msg is one of the fatal messages llama-server
// prints, recognised even without a severity letter.
func isFailure(msg string) bool {
	return hasPrefixFold(msg, "error:") || strings.HasPrefix(msg, "exiting due to")
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
