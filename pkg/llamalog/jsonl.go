// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamalog

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// jsonLine is the object that --log-jsonl prints for each line (llama.cpp
// PR 28437): {"type":"log","time":<µs>,"level":"info","msg":"..."}.
type jsonLine struct {
	Type  string          `json:"type"`
	Time  json.RawMessage `json:"time"`
	Level string          `json:"level"`
	Msg   *string         `json:"msg"`
}

// typeLog is the "type" of ordinary log lines in --log-jsonl output.
const typeLog = "log"

// parseJSONL fills r from a --log-jsonl object and reports whether s was
// one: a JSON object with a string "type". Anything else is left to
// parseText.
func parseJSONL(s string, r *Record) bool {
	t := strings.TrimSpace(s)
	if len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' {
		return false
	}
	var obj jsonLine
	if err := json.Unmarshal([]byte(t), &obj); err != nil || obj.Type == "" {
		return false
	}
	r.Type = obj.Type
	if obj.Type != typeLog || obj.Msg == nil {
		// A structured event (LOG_JSON) or a log object without a message:
		// keep the whole object as the message.
		r.Message = t
		return true
	}
	r.Level = levelFromName(obj.Level)
	if d, ok := jsonElapsed(obj.Time); ok {
		r.Elapsed, r.HasElapsed = d, true
	}
	parseBody(stripControl(*obj.Msg), r)
	return true
}

// jsonElapsed converts the "time" field (microseconds since the logger
// started; 0 when timestamps are off) to a duration. Missing, zero, negative,
// non-numeric and overflowing values give false.
func jsonElapsed(raw json.RawMessage) (time.Duration, bool) {
	s := string(raw)
	if s == "" || s == "null" {
		return 0, false
	}
	const maxMicros = math.MaxInt64 / int64(time.Microsecond)
	if us, err := strconv.ParseInt(s, 10, 64); err == nil {
		if us <= 0 || us > maxMicros {
			return 0, false
		}
		return time.Duration(us) * time.Microsecond, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) || f >= float64(maxMicros) {
		return 0, false
	}
	return time.Duration(f * float64(time.Microsecond)), true
}
