// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llamatelemetry/otelcol-llt/launcher/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// serverLines has one line of each llama-server severity, in the shapes of b11669's output (see
// pkg/llamalog/testdata), and one line without a severity.
const serverLines = `0.00.000.100 D srv  params_from_: Chat format: Content-only
0.04.634.381 I slot      release: id  0 | task 25 | stop processing: n_tokens = 7, truncated = 0
0.04.685.492 W slot   operator(): id  0 | task 30 | need to evaluate at least 1 token for each active slot (n_past = 4, task.n_tokens() = 4)
0.07.139.794 E srv    send_error: task id = 31, error: the request exceeds the available context size
llama_model_loader: loaded meta data with 21 key-value pairs and 201 tensors
`

// logLine is what the collector's log got for one llama-server line.
type logLine struct {
	level    zapcore.Level
	msg      string
	severity any // the "severity" field; nil when absent
}

// readLines runs text through readLogs with log_level set to logLevel and returns what the
// collector's log got at or above minLevel, and how many records the subscribers got.
func readLines(t *testing.T, logLevel string, minLevel zapcore.Level, text string) ([]observer.LoggedEntry, int) {
	t.Helper()
	core, logs := observer.New(minLevel)
	set := extensiontest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	cfg := createDefaultConfig()
	cfg.Model = "/models/tiny.gguf"
	if logLevel != "" {
		cfg.LogLevel = logLevel
	}
	require.NoError(t, cfg.Validate())
	l := newLauncher(cfg, set)
	var mu sync.Mutex
	got := 0
	l.SubscribeLogs(func(launcherapi.LogRecord) {
		mu.Lock()
		defer mu.Unlock()
		got++
	})
	var wg sync.WaitGroup
	wg.Add(1)
	l.readLogs(strings.NewReader(text), "stderr", 42, newLineTail(4), &wg)
	return logs.All(), got
}

func TestServerLinesInCollectorLog(t *testing.T) {
	const (
		dbg  = "llama-server: Chat format: Content-only"
		info = "llama-server: stop processing: n_tokens = 7, truncated = 0"
		warn = "llama-server: need to evaluate at least 1 token for each active slot (n_past = 4, task.n_tokens() = 4)"
		errl = "llama-server: task id = 31, error: the request exceeds the available context size"
		none = "llama-server: loaded meta data with 21 key-value pairs and 201 tensors"
	)
	D, I, W, E := zapcore.DebugLevel, zapcore.InfoLevel, zapcore.WarnLevel, zapcore.ErrorLevel
	tests := []struct {
		logLevel string
		want     []logLine
	}{
		{"", []logLine{{D, dbg, "debug"}, {D, info, "info"}, {D, warn, "warn"}, {D, errl, "error"}, {D, none, nil}}},
		{"none", []logLine{{D, dbg, "debug"}, {D, info, "info"}, {D, warn, "warn"}, {D, errl, "error"}, {D, none, nil}}},
		{"error", []logLine{{D, dbg, "debug"}, {D, info, "info"}, {D, warn, "warn"}, {E, errl, nil}, {D, none, nil}}},
		{"warn", []logLine{{D, dbg, "debug"}, {D, info, "info"}, {W, warn, nil}, {E, errl, nil}, {D, none, nil}}},
		{"info", []logLine{{D, dbg, "debug"}, {I, info, nil}, {W, warn, nil}, {E, errl, nil}, {I, none, nil}}},
		{"debug", []logLine{{D, dbg, nil}, {I, info, nil}, {W, warn, nil}, {E, errl, nil}, {I, none, nil}}},
	}
	for _, tt := range tests {
		name := tt.logLevel
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			entries, subscribed := readLines(t, tt.logLevel, zapcore.DebugLevel, serverLines)
			var got []logLine
			for _, e := range entries {
				got = append(got, logLine{e.Level, e.Message, e.ContextMap()["severity"]})
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, 5, subscribed, "every line reaches the subscribers")
		})
	}
}

// TestServerLinesKeepTheirFields: a line written at debug keeps what llama-server's prefix said.
func TestServerLinesKeepTheirFields(t *testing.T) {
	entries, _ := readLines(t, "", zapcore.DebugLevel, serverLines)
	require.Len(t, entries, 5)
	assert.Equal(t, map[string]any{
		"pid": int64(42), "module": "slot", "function": "operator()", "slot": int64(0), "task": int64(30), "severity": "warn",
	}, entries[2].ContextMap())
	assert.Equal(t, map[string]any{"pid": int64(42), "function": "llama_model_loader"}, entries[4].ContextMap())
}

// TestServerLinesQuietByDefault: the demo run of issue 18 put 73 of these warnings in the
// collector's log; at the collector's usual level (info) the default now puts none there, and
// the subscribers still get every one.
func TestServerLinesQuietByDefault(t *testing.T) {
	var b strings.Builder
	for i := range 73 {
		b.WriteString("0.04.685.492 W slot   operator(): id  0 | task ")
		b.WriteString(strings.Repeat("1", i%5+1))
		b.WriteString(" | need to evaluate at least 1 token for each active slot (n_past = 4, task.n_tokens() = 4)\n")
	}
	entries, subscribed := readLines(t, "", zapcore.InfoLevel, b.String())
	assert.Empty(t, entries)
	assert.Equal(t, 73, subscribed)

	entries, _ = readLines(t, "warn", zapcore.InfoLevel, b.String())
	require.Len(t, entries, 1, "log_level warn copies them up, repeats filtered")
	assert.Equal(t, zapcore.WarnLevel, entries[0].Level)
}

// TestDebugCopiesAreNotFiltered: the repeat filter spares the collector's log at its usual level;
// at debug, asked for, every line is there.
func TestDebugCopiesAreNotFiltered(t *testing.T) {
	line := "0.00.001.000 W srv  log_server_r: security: no API key is set and CORS allows all origins\n"
	entries, _ := readLines(t, "", zapcore.DebugLevel, strings.Repeat(line, 20))
	assert.Len(t, entries, 20)
	for _, e := range entries {
		assert.Equal(t, zapcore.DebugLevel, e.Level)
		assert.NotContains(t, e.ContextMap(), "repeated")
	}
}
