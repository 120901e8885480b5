// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graphistryexporter

import (
	"fmt"
	"time"

	"go.uber.org/zap"
)

// writeOutage follows the writes to one path through a disk outage (full, read-only, not
// permitted, ...): the first failed write logs one error, the failures after it are only counted
// (by the caller's telemetry), and the first write that works again logs one info line with how
// many failed and for how long. It is not safe for concurrent use; callers hold their write lock.
type writeOutage struct {
	logger *zap.Logger
	what   string        // what is written, e.g. "the dashboard file"
	path   string        // where
	retry  time.Duration // how often a failed write is tried again
	now    func() time.Time

	failures int       // failed writes of the current outage; 0: none
	since    time.Time // the first of them
}

// failed records a failed write; the first of an outage is logged at error level.
func (o *writeOutage) failed(err error) {
	o.failures++
	if o.failures > 1 {
		return
	}
	o.since = o.now()
	o.logger.Error(fmt.Sprintf("writing %s to %s failed; will retry every %v; further failures are not logged until writing works again",
		o.what, o.path, o.retry), zap.String("path", o.path), zap.Error(err))
}

// succeeded records a write that worked; the first after an outage is logged at info level,
// with extra (if not empty) appended to the message and fields added. It returns the outage's
// failures and duration (0 and 0 when there was none).
func (o *writeOutage) succeeded(extra string, fields ...zap.Field) (int, time.Duration) {
	if o.failures == 0 {
		return 0, 0
	}
	n, d := o.failures, o.now().Sub(o.since)
	o.failures = 0
	msg := fmt.Sprintf("writing to %s again after %d failures over %v", o.path, n, d.Round(time.Millisecond))
	if extra != "" {
		msg += "; " + extra
	}
	o.logger.Info(msg, append([]zap.Field{zap.String("path", o.path), zap.Int("failures", n), zap.Duration("outage", d)}, fields...)...)
	return n, d
}
