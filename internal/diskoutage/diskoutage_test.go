// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package diskoutage

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// An outage is one error line however many writes fail, and one info line when a write works
// again, with the count and the duration; the next outage is logged again.
func TestOneLinePerOutage(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	clock := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	o := Tracker{Logger: zap.New(core), What: "the dashboard file", Path: "/data/dash.html", Retry: 10 * time.Second,
		Now: func() time.Time { return clock }}

	n, d := o.Succeeded("")
	assert.Zero(t, n)
	assert.Zero(t, d)
	assert.Zero(t, logs.Len(), "no outage, nothing logged")

	for range 5 {
		o.Failed(syscall.ENOSPC)
		clock = clock.Add(10 * time.Second)
	}
	assert.Equal(t, 5, o.Failures())
	require.Equal(t, 1, logs.Len())
	e := logs.All()[0]
	assert.Equal(t, zapcore.ErrorLevel, e.Level)
	assert.Equal(t, "writing the dashboard file to /data/dash.html failed; will retry every 10s; further failures are not logged until writing works again", e.Message)
	assert.Equal(t, "no space left on device", e.ContextMap()["error"])

	n, d = o.Succeeded("2 windows dropped", zap.Int("windows_dropped", 2))
	assert.Equal(t, 5, n)
	assert.Equal(t, 50*time.Second, d)
	assert.Zero(t, o.Failures())
	require.Equal(t, 2, logs.Len())
	e = logs.All()[1]
	assert.Equal(t, zapcore.InfoLevel, e.Level)
	assert.Equal(t, "writing to /data/dash.html again after 5 failures over 50s; 2 windows dropped", e.Message)
	assert.Equal(t, int64(2), e.ContextMap()["windows_dropped"])

	o.Succeeded("")
	o.Failed(errors.New("read-only file system"))
	assert.Equal(t, 3, logs.Len(), "a new outage is logged again")
}
