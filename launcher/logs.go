package launcher

import (
	"io"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/pkg/llamalog"
)

// readLogs parses llama-server's output line by line, hands every record to the subscribers,
// keeps the last lines for error messages, and copies lines at or above log_level to the
// collector's log (a line repeated word for word once a minute at most, see repeatFilter).
func (l *llamaLauncher) readLogs(r io.Reader, stream string, pid int, tail *lineTail, wg *sync.WaitGroup) {
	defer wg.Done()
	minLevel := logLevel(l.cfg.LogLevel)
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
		level := rec.Level
		if level == llamalog.LevelUnspecified {
			level = llamalog.LevelInfo
		}
		if minLevel == llamalog.LevelUnspecified || !level.AtLeast(minLevel) {
			return
		}
		fields := []zap.Field{zap.Int("pid", pid)}
		if rec.Module != "" {
			fields = append(fields, zap.String("module", rec.Module))
		}
		if rec.SlotID >= 0 {
			fields = append(fields, zap.Int("slot", rec.SlotID))
		}
		if rec.TaskID >= 0 {
			fields = append(fields, zap.Int("task", rec.TaskID))
		}
		msg := "llama-server: " + rec.Message
		ok, suppressed := l.repeats.allow(level.String() + "\x00" + rec.Module + "\x00" + rec.Message)
		if !ok {
			return
		}
		if suppressed > 0 {
			fields = append(fields, zap.Int("repeated", suppressed))
		}
		switch level {
		case llamalog.LevelError:
			l.logger.Error(msg, fields...)
		case llamalog.LevelWarn:
			l.logger.Warn(msg, fields...)
		case llamalog.LevelInfo:
			l.logger.Info(msg, fields...)
		default:
			l.logger.Debug(msg, fields...)
		}
	})
}

// logLevel maps log_level to the lowest level copied; LevelUnspecified means none.
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
