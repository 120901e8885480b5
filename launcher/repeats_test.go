// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llamatelemetry/otelcol-llt/launcher/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

func TestRepeatFilter(t *testing.T) {
	now := time.Unix(1000, 0)
	f := newRepeatFilter(time.Minute)
	f.now = func() time.Time { return now }

	ok, n := f.allow("a")
	assert.True(t, ok)
	assert.Zero(t, n)
	for range 5 {
		ok, _ = f.allow("a")
		assert.False(t, ok, "a repeat within the window")
	}
	ok, _ = f.allow("b")
	assert.True(t, ok, "another line is not held back")

	now = now.Add(time.Minute)
	ok, n = f.allow("a")
	assert.True(t, ok, "the window has passed")
	assert.Equal(t, 5, n, "the copies left out are counted")
	ok, _ = f.allow("a")
	assert.False(t, ok, "a new window starts")
}

func TestRepeatFilterBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	f := newRepeatFilter(time.Minute)
	f.now = func() time.Time { return now }
	for i := range 10 * repeatEntriesMax {
		ok, _ := f.allow(strings.Repeat("x", i%7) + string(rune('a'+i%26)) + time.Duration(i).String())
		require.True(t, ok, "distinct lines are all copied")
		require.LessOrEqual(t, len(f.seen), repeatEntriesMax)
	}
}

// llama-server b11669 writes this warning for every request; the collector's log gets it once a
// minute with the count, and the subscribers get every line.
func TestRepeatedServerLinesLoggedOnce(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	set := extensiontest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	cfg := createDefaultConfig()
	cfg.LogLevel = "warn" // the filter is for lines copied at their own severity; the default writes them at debug
	l := newLauncher(cfg, set)
	now := time.Unix(1000, 0)
	l.repeats.now = func() time.Time { return now }
	var got int
	l.SubscribeLogs(func(launcherapi.LogRecord) { got++ })

	line := "srv  log_server_r: security: no API key is set and CORS allows all origins\n"
	read := func(text string) {
		var wg sync.WaitGroup
		wg.Add(1)
		l.readLogs(strings.NewReader(text), "stderr", 42, newLineTail(4), &wg)
	}
	read(strings.Repeat("W "+line, 20))
	now = now.Add(61 * time.Second)
	read("W " + line)

	warns := logs.FilterMessageSnippet("no API key").All()
	require.Len(t, warns, 2)
	assert.NotContains(t, warns[0].ContextMap(), "repeated")
	assert.Equal(t, int64(19), warns[1].ContextMap()["repeated"])
	assert.Equal(t, 21, got, "every line reaches the subscribers")
}
