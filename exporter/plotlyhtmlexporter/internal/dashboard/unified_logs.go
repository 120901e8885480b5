// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"encoding/hex"
	"time"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// severityName names a record's severity: its text, else the OTLP severity number's range.
func severityName(l *store.Log) string {
	if l.Severity != "" {
		return l.Severity
	}
	switch n := l.SeverityNumber; {
	case n <= 0:
		return ""
	case n < 5:
		return "TRACE"
	case n < 9:
		return "DEBUG"
	case n < 13:
		return "INFO"
	case n < 17:
		return "WARN"
	case n < 21:
		return "ERROR"
	default:
		return "FATAL"
	}
}

// recentLogs is a table of the newest log records, newest first.
func recentLogs(d *Data) *Figure {
	const id, title = "unified-logs", "Recent logs (newest first)"
	logs := d.Snap.Logs
	if len(logs) == 0 {
		return emptyPanel(id, title, needLogs, true)
	}
	n := min(len(logs), logRows)
	when, sev, svc, body, trace, fill := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i := range n {
		l := &logs[len(logs)-1-i]
		when[i] = time.Unix(0, l.TimeNs).UTC().Format("15:04:05.000")
		sev[i] = Text(severityName(l))
		svc[i] = Text(l.Service)
		body[i] = Text(l.Body)
		if l.TraceID != ([16]byte{}) {
			trace[i] = hex.EncodeToString(l.TraceID[:4])
		}
		switch {
		case l.SeverityNumber >= 17:
			fill[i] = "#fbe3e3"
		case l.SeverityNumber >= 13:
			fill[i] = "#fff4d6"
		default:
			fill[i] = "#ffffff"
		}
	}
	fills := [][]string{fill, fill, fill, fill, fill}
	return &Figure{ID: id, Title: title, Height: logsHeight, Wide: true, Layout: Obj{"margin": Obj{"l": 10, "r": 10, "t": 10, "b": 10}},
		Data: []Obj{{
			"type":        "table",
			"columnwidth": []int{90, 60, 110, 600, 70},
			"header": Obj{"values": []string{"time (UTC)", "severity", "service", "body", "trace"},
				"align": "left", "fill": Obj{"color": "#eef1f4"}, "font": Obj{"size": 12}},
			"cells": Obj{"values": [][]string{when, sev, svc, body, trace}, "align": "left",
				"fill": Obj{"color": fills}, "font": Obj{"size": 11}},
		}}}
}
