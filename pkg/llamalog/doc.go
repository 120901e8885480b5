// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package llamalog parses the log lines that llama.cpp's llama-server writes
// to stdout and stderr into structured records.
//
// [ParseLine] turns one line into a [Record]; [Scan] reads a stream line by
// line and calls a function for each record. Neither fails on input it does
// not recognise: such a line becomes a Record whose Message is the whole
// line, trimmed.
//
// # Text lines
//
// llama.cpp's common logger (common/log.cpp) prints, when --log-prefix and
// --log-timestamps are on, a time since the logger started and a severity
// letter before each message:
//
//	0.04.225.905 I slot print_timing: id  0 | task 1 | prompt eval time =       3.69 ms /    67 tokens (...)
//
// The time is "%d.%02d.%03d.%03d": minutes (no hours; the count keeps
// growing past 59), seconds, milliseconds, microseconds. The letter is I
// (info), W (warn), E (error) or D (debug); lines of llama.cpp's "none" and
// "continuation" levels carry neither a time nor a letter. Either part may be
// missing (the options are separate, and older builds and other tools print
// neither), and both may be wrapped in ANSI colour codes (--log-colors),
// which are ignored.
//
// After that prefix, llama-server's own lines start with a module tag padded
// to five columns and the C function name printed as "%12.*s" (right-aligned,
// cut to twelve characters): "srv  ", "slot ", "cmn  ", "que  ", ... Lines of
// the "slot" macros then name the slot and task as "id %2d | task %d | ",
// where the task is -1 when the slot has none. Lines from llama.cpp, ggml and
// older servers instead start with "function_name: ", which becomes
// [Record.Function] with an empty [Record.Module].
//
// # JSONL lines
//
// Builds from September 2026 on accept --log-jsonl and then print one JSON
// object per line. Objects with "type":"log" carry "time" (microseconds since
// the logger started, 0 when --log-timestamps is off), "level" (matched
// without regard to case: "debug", "info", "warn" or "warning", "error" and
// their usual abbreviations; "cont", "none" and anything else give
// LevelUnspecified) and "msg" (the message text, which is then parsed for
// the module, function, slot and task as above). Objects of any other type, such as the
// structured events of LOG_JSON, are returned with [Record.Type] set and the
// whole line as the message.
//
// # Severity
//
// The severity is the letter (or the JSONL "level") when there is one. A line
// without one is [LevelUnspecified], with a single exception: a message that
// starts with "error:" or "exiting due to" (llama-server's fatal start-up
// messages when the prefix is off) is [LevelError]. No other guessing is
// done.
package llamalog // import "github.com/llamatelemetry/otelcol-llt/pkg/llamalog"
