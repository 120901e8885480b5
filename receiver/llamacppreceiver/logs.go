// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/pkg/llamalog"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

const (
	// logQueueSize bounds the lines waiting to be sent; beyond it lines are dropped and counted,
	// so a slow logs pipeline never blocks the launcher reading llama-server's output.
	logQueueSize = 4096
	// logBatchSize and logFlushInterval bound how many lines go in one plog.Logs and how long a
	// line waits.
	logBatchSize     = 256
	logFlushInterval = 200 * time.Millisecond
)

// logForwarder turns the launcher's parsed llama-server log lines into OpenTelemetry logs.
type logForwarder struct {
	next        consumer.Logs
	set         receiver.Settings
	launcher    launcherapi.Launcher
	queue       chan launcherapi.LogRecord
	dropped     atomic.Int64
	unsubscribe func()
	stopOnce    sync.Once
	stopCh      chan struct{}
	wake        chan struct{}
	done        chan struct{}
}

func newLogForwarder(next consumer.Logs, set receiver.Settings, l launcherapi.Launcher) *logForwarder {
	return &logForwarder{
		next: next, set: set, launcher: l,
		queue:  make(chan launcherapi.LogRecord, logQueueSize),
		stopCh: make(chan struct{}),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
}

func (f *logForwarder) start() {
	f.unsubscribe = f.launcher.SubscribeLogs(func(r launcherapi.LogRecord) {
		select {
		case f.queue <- r:
			if len(f.queue) >= logBatchSize {
				select { // a batch is waiting: send it now rather than at the next tick
				case f.wake <- struct{}{}:
				default:
				}
			}
		default:
			f.dropped.Add(1)
		}
	})
	go f.loop()
}

// stop unsubscribes, sends what is queued, and waits for the loop to end.
func (f *logForwarder) stop() {
	f.stopOnce.Do(func() {
		f.unsubscribe()
		close(f.stopCh)
		<-f.done
		if n := f.dropped.Load(); n > 0 {
			f.set.Logger.Warn("llama-server log lines dropped because the logs pipeline was too slow", zap.Int64("dropped", n))
		}
	})
}

// loop sends the queued lines every logFlushInterval, or sooner once a batch's worth is waiting.
// It does not wake for each line: llama-server writes several lines per request, and waking a
// goroutine for each costs more than handling the line.
func (f *logForwarder) loop() {
	defer close(f.done)
	tick := time.NewTicker(logFlushInterval)
	defer tick.Stop()
	batch := make([]launcherapi.LogRecord, 0, logBatchSize)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := f.next.ConsumeLogs(context.Background(), toLogs(batch, f.set.BuildInfo.Version)); err != nil {
			f.set.Logger.Debug("could not send llama-server log lines", zap.Int("lines", len(batch)), zap.Error(err))
		}
		batch = batch[:0]
	}
	drain := func() {
		for {
			select {
			case r := <-f.queue:
				batch = append(batch, r)
				if len(batch) == logBatchSize {
					flush()
				}
			default:
				flush()
				return
			}
		}
	}
	for {
		select {
		case <-tick.C:
			drain()
		case <-f.wake:
			drain()
		case <-f.stopCh:
			drain()
			return
		}
	}
}

// toLogs converts parsed llama-server lines to one plog.Logs.
func toLogs(records []launcherapi.LogRecord, version string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "llama-server")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	sl.Scope().SetVersion(version)
	lrs := sl.LogRecords()
	lrs.EnsureCapacity(len(records))
	for _, r := range records {
		lr := lrs.AppendEmpty()
		ts := pcommon.Timestamp(r.Time)
		lr.SetTimestamp(ts)
		lr.SetObservedTimestamp(ts)
		num, text := severity(r.Level)
		lr.SetSeverityNumber(num)
		lr.SetSeverityText(text)
		body := r.Message
		if body == "" {
			body = r.Line
		}
		lr.Body().SetStr(body)
		a := lr.Attributes()
		a.PutInt("process.pid", int64(r.PID))
		a.PutStr("log.iostream", r.Stream)
		if r.Module != "" {
			a.PutStr("llamacpp.log.module", r.Module)
		}
		if r.Function != "" {
			a.PutStr("code.function.name", r.Function)
		}
		if r.SlotID >= 0 {
			a.PutInt("llamacpp.slot.id", int64(r.SlotID))
		}
		if r.TaskID >= 0 {
			a.PutInt("llamacpp.task.id", int64(r.TaskID))
		}
		if r.HasElapsed {
			a.PutDouble("llamacpp.log.elapsed", r.Elapsed.Seconds())
		}
	}
	return ld
}

// severity maps llama.cpp's level letters to OpenTelemetry severities; a line without a level
// is INFO (llama.cpp prints plain progress lines at its default verbosity).
func severity(l llamalog.Level) (plog.SeverityNumber, string) {
	switch l {
	case llamalog.LevelDebug:
		return plog.SeverityNumberDebug, "DEBUG"
	case llamalog.LevelWarn:
		return plog.SeverityNumberWarn, "WARN"
	case llamalog.LevelError:
		return plog.SeverityNumberError, "ERROR"
	}
	return plog.SeverityNumberInfo, "INFO"
}
