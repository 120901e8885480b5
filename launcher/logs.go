// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"io"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/pkg/llamalog"
)

// readLogs parses llama-server's output line by line, hands every record to the subscribers,
// keeps the last lines for error messages, and copies each line to the collector's log (see
// copyToLog).
func (l *llamaLauncher) readLogs(r io.Reader, stream string, pid int, tail *lineTail, wg *sync.WaitGroup) {
	defer wg.Done()
	raiseFrom := logLevel(l.cfg.LogLevel)
	_ = llamalog.Scan(r, func(rec llamalog.Record) {
		if strings.TrimSpace(rec.Line) == "" {
			return
		}
		tail.add(rec.Line)
		lr := launcherapi.LogRecord{Record: rec, PID: pid, Stream: stream, Time: time.Now().UnixNano()}
		l.subsMu.Lock()
		for _, fn := range l.subs {
			fn(lr)
		}
		l.subsMu.Unlock()
		l.copyToLog(rec, pid, raiseFrom)
	})
}

// copyToLog writes one llama-server line to the collector's own log. A line at or above
// log_level (raiseFrom) is written at its own severity, a line repeated word for word at most
// once a minute (see repeatFilter). Every other line is written at debug, with its severity as
// the "severity" field, as contrib's jmxreceiver writes its subprocess' output: the lines reach
// the logs pipeline through the subscribers, and the collector's log at its usual level carries
// only the launcher's own decisions. A line without a severity counts as info.
func (l *llamaLauncher) copyToLog(rec llamalog.Record, pid int, raiseFrom llamalog.Level) {
	level := rec.Level
	if level == llamalog.LevelUnspecified {
		level = llamalog.LevelInfo
	}
	if raiseFrom == llamalog.LevelUnspecified || !level.AtLeast(raiseFrom) {
		// Checked first: at the collector's default level this costs no allocation per line.
		if !l.logger.Core().Enabled(zapcore.DebugLevel) {
			return
		}
		fields := serverFields(rec, pid)
		if rec.Level != llamalog.LevelUnspecified {
			fields = append(fields, zap.String("severity", strings.ToLower(rec.Level.String())))
		}
		l.logger.Debug("llama-server: "+rec.Message, fields...)
		return
	}
	ok, suppressed := l.repeats.allow(level.String() + "\x00" + rec.Module + "\x00" + rec.Function + "\x00" + rec.Message)
	if !ok {
		return
	}
	fields := serverFields(rec, pid)
	if suppressed > 0 {
		fields = append(fields, zap.Int("repeated", suppressed))
	}
	l.logger.Log(zapLevel(level), "llama-server: "+rec.Message, fields...)
}

// serverFields are the fields of a copied line: the process and what llama-server's own prefix
// said (module, function, slot, task), so that nothing of the line is lost.
func serverFields(rec llamalog.Record, pid int) []zap.Field {
	fields := make([]zap.Field, 0, 7)
	fields = append(fields, zap.Int("pid", pid))
	if rec.Module != "" {
		fields = append(fields, zap.String("module", rec.Module))
	}
	if rec.Function != "" {
		fields = append(fields, zap.String("function", rec.Function))
	}
	if rec.SlotID >= 0 {
		fields = append(fields, zap.Int("slot", rec.SlotID))
	}
	if rec.TaskID >= 0 {
		fields = append(fields, zap.Int("task", rec.TaskID))
	}
	return fields
}

// zapLevel maps a llama-server severity to the collector's.
func zapLevel(level llamalog.Level) zapcore.Level {
	switch level {
	case llamalog.LevelError:
		return zapcore.ErrorLevel
	case llamalog.LevelWarn:
		return zapcore.WarnLevel
	case llamalog.LevelInfo:
		return zapcore.InfoLevel
	}
	return zapcore.DebugLevel
}

// logLevel maps log_level to the lowest level copied at its own severity; LevelUnspecified
// means none.
func logLevel(s string) llamalog.Level {
	switch s {
	case "debug":
		return llamalog.LevelDebug
	case "info":
		return llamalog.LevelInfo
	case "warn":
		return llamalog.LevelWarn
	case "error":
		return llamalog.LevelError
	}
	return llamalog.LevelUnspecified
}

// lineTail keeps the last n lines llama-server wrote, for error messages.
type lineTail struct {
	mu    sync.Mutex
	n     int
	items []string
}

func newLineTail(n int) *lineTail { return &lineTail{n: n} }

func (t *lineTail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.items) == t.n {
		t.items = append(t.items[:0], t.items[1:]...)
	}
	t.items = append(t.items, line)
}

func (t *lineTail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.items...)
}

// suffix formats the tail for an error message: "; last lines: a | b | c".
func (t *lineTail) suffix() string {
	lines := t.lines()
	if len(lines) == 0 {
		return ""
	}
	return "; last lines: " + strings.Join(lines, " | ")
}
