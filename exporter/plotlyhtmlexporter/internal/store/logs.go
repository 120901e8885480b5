// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package store

// Log is the compact record of one log record shown in the logs table.
type Log struct {
	TimeNs         int64
	Severity       string
	SeverityNumber int32
	// Body is the record's body as text, cut to MaxLogBody bytes.
	Body    string
	TraceID [16]byte
	SpanID  [8]byte
	Service string
}

// MaxLogBody bounds the body kept per log record.
const MaxLogBody = 1024
