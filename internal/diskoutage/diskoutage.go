// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package diskoutage follows the writes of an exporter to one path through a disk outage (a full
// or read-only file system, a permission taken away) so that it logs one error per outage and one
// line when writing works again, instead of a line per failed write.
package diskoutage // import "github.com/llamatelemetry/otelcol-llt/internal/diskoutage"

import (
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Tracker follows the writes to one path through a disk outage (full, read-only, not
// permitted, ...): the first failed write logs one error, the failures after it are only counted
// (by the caller's telemetry), and the first write that works again logs one info line with how
// many failed and for how long. It is not safe for concurrent use; callers hold their write lock.
type Tracker struct {
	Logger *zap.Logger
	What   string        // what is written, e.g. "the dashboard file"
	Path   string        // where
	Retry  time.Duration // how often a failed write is tried again
	Now    func() time.Time

	failures int       // failed writes of the current outage; 0: none
	since    time.Time // the first of them
}

// Failed records a failed write; the first of an outage is logged at error level.
func (o *Tracker) Failed(err error) {
	o.failures++
	if o.failures > 1 {
		return
	}
	o.since = o.Now()
	o.Logger.Error(fmt.Sprintf("writing %s to %s failed; will retry every %v; further failures are not logged until writing works again",
		o.What, o.Path, o.Retry), zap.String("path", o.Path), zap.Error(err))
}

// Succeeded records a write that worked; the first after an outage is logged at info level,
// with extra (if not empty) appended to the message and fields added. It returns the outage's
// failures and duration (0 and 0 when there was none).
func (o *Tracker) Succeeded(extra string, fields ...zap.Field) (int, time.Duration) {
	if o.failures == 0 {
		return 0, 0
	}
	n, d := o.failures, o.Now().Sub(o.since)
	o.failures = 0
	msg := fmt.Sprintf("writing to %s again after %d failures over %v", o.Path, n, d.Round(time.Millisecond))
	if extra != "" {
		msg += "; " + extra
	}
	o.Logger.Info(msg, append([]zap.Field{zap.String("path", o.Path), zap.Int("failures", n), zap.Duration("outage", d)}, fields...)...)
	return n, d
}

// Failures is the number of failed writes of the current outage (0: writing works).
func (o *Tracker) Failures() int { return o.failures }
