// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// statusHost is a component.Host that records the status events the extension reports, as the
// collector's service does through componentstatus.Reporter.
type statusHost struct {
	mu     sync.Mutex
	events []*componentstatus.Event
	times  []time.Time
	exts   map[component.ID]component.Component
}

func (h *statusHost) GetExtensions() map[component.ID]component.Component { return h.exts }

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
	h.times = append(h.times, time.Now())
}

// firstAt returns when status was first reported.
func (h *statusHost) firstAt(status componentstatus.Status) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, ev := range h.events {
		if ev.Status() == status {
			return h.times[i], true
		}
	}
	return time.Time{}, false
}

func (h *statusHost) statuses() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	var s []componentstatus.Status
	for _, ev := range h.events {
		s = append(s, ev.Status())
	}
	return s
}

func (h *statusHost) last() *componentstatus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) == 0 {
		return nil
	}
	return h.events[len(h.events)-1]
}

// testConfig runs the real llama-server on the tiny model, CPU only, on a free port, with fast
// restarts.
func testConfig(t testing.TB) *Config {
	cfg := createDefaultConfig()
	cfg.Executable = llamatest.Server(t)
	cfg.Model = llamatest.TinyModel(t)
	cfg.Port = 0
	cfg.ContextSize = 1024
	cfg.Parallel = 2
	cfg.GPU.Devices = []int{}
	cfg.ReadyTimeout = time.Minute
	cfg.Restart.InitialInterval = 20 * time.Millisecond
	cfg.Restart.MaxInterval = 100 * time.Millisecond
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

type started struct {
	*llamaLauncher
	host *statusHost
	logs *observer.ObservedLogs
}

func startLauncher(t *testing.T, cfg *Config) started {
	t.Helper()
	require.NoError(t, cfg.Validate())
	core, logs := observer.New(zapcore.DebugLevel)
	set := extensiontest.NewNopSettings(NewFactory().Type())
	set.Logger = zap.New(core)
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	require.NoError(t, err)
	l := ext.(*llamaLauncher)
	host := &statusHost{}
	require.NoError(t, l.Start(context.Background(), host))
	t.Cleanup(func() {
		require.NoError(t, l.Shutdown(context.Background()))
		assert.Empty(t, llamatest.ProcessesWithArgs("--model", cfg.Model, "--host"), "llama-server left behind")
	})
	return started{l, host, logs}
}

func waitReady(t *testing.T, l launcherapi.Launcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, l.WaitReady(ctx))
}

func TestStartReadyShutdown(t *testing.T) {
	cfg := testConfig(t)
	cfg.APIKey = "test-key"
	s := startLauncher(t, cfg)
	waitReady(t, s)

	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, s.host.statuses())
	assert.ErrorIs(t, s.host.events[0].Err(), errLoading)
	assert.Equal(t, launcherapi.StateReady, s.State())
	pid := s.PID()
	require.NotZero(t, pid)
	assert.True(t, llamatest.Alive(pid))

	resp, err := http.Get(s.BaseURL() + "/health")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// The key reaches llama-server through its environment, not the command line.
	resp, err = http.Get(s.BaseURL() + "/slots")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	req, _ := http.NewRequest(http.MethodGet, s.BaseURL()+"/slots", nil)
	req.Header.Set("Authorization", "Bearer "+s.APIKey())
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	require.NoError(t, err)
	assert.NotContains(t, string(cmdline), "test-key")

	// The argv is logged at debug level; the key is in no log entry.
	argvLogs := s.logs.FilterMessage("llama-server command").All()
	require.Len(t, argvLogs, 1)
	assert.Equal(t, zapcore.DebugLevel, argvLogs[0].Level)
	argv := argvLogs[0].ContextMap()["argv"]
	assert.Contains(t, argv, "--metrics")
	assert.Contains(t, argv, "--slots")
	for _, e := range s.logs.All() {
		for _, v := range e.ContextMap() {
			assert.NotContains(t, toString(v), "test-key")
		}
	}

	// By default (log_level none) llama-server's own lines are in the collector's log at debug
	// only; the launcher's decisions keep their levels.
	server := s.logs.FilterMessageSnippet("llama-server: ").All()
	assert.NotEmpty(t, server)
	for _, e := range server {
		assert.Equal(t, zapcore.DebugLevel, e.Level, e.Message)
	}
	for _, msg := range []string{"Starting llama-server", "llama-server started", "llama-server ready"} {
		entries := s.logs.FilterMessage(msg).All()
		require.Len(t, entries, 1, msg)
		assert.Equal(t, zapcore.InfoLevel, entries[0].Level, msg)
	}

	m := s.Model()
	assert.Equal(t, "llt-tiny", m.Alias)
	assert.Equal(t, "llama", m.Facts.Architecture)
	assert.Equal(t, uint64(2), m.Facts.BlockCount)

	require.NoError(t, s.Shutdown(context.Background()))
	assert.False(t, llamatest.Alive(pid), "llama-server still running after Shutdown")
	assert.Equal(t, launcherapi.StateStopped, s.State())
	require.NoError(t, s.Shutdown(context.Background()), "Shutdown twice")
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var b strings.Builder
		for _, e := range x {
			b.WriteString(toString(e))
			b.WriteByte(' ')
		}
		return b.String()
	}
	return ""
}

func TestRestartAfterKill(t *testing.T) {
	s := startLauncher(t, testConfig(t))
	waitReady(t, s)
	for i := range 5 {
		pid := s.PID()
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL), "kill %d", i)
		require.Eventually(t, func() bool {
			return s.State() == launcherapi.StateReady && s.PID() != pid && s.PID() != 0
		}, time.Minute, 10*time.Millisecond, "not restarted after kill %d", i)
		assert.False(t, llamatest.Alive(pid))
	}
	// Loading (RecoverableError), OK, then RecoverableError -> OK for every kill.
	want := []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}
	for range 5 {
		want = append(want, componentstatus.StatusRecoverableError, componentstatus.StatusOK)
	}
	assert.Equal(t, want, s.host.statuses())
	exits := s.logs.FilterMessage("llama-server exited").All()
	require.Len(t, exits, 5)
	assert.Equal(t, "killed by signal killed", exits[0].ContextMap()["exit"])
	assert.Equal(t, zapcore.ErrorLevel, exits[0].Level)
	restarts := s.logs.FilterMessage("Restarting llama-server").All()
	assert.Len(t, restarts, 5)
	for _, e := range restarts {
		assert.Equal(t, zapcore.WarnLevel, e.Level)
	}
}

func TestLogsAreParsedAndForwarded(t *testing.T) {
	cfg := testConfig(t)
	cfg.LogLevel = "info"
	s := startLauncher(t, cfg)
	var mu sync.Mutex
	var records []launcherapi.LogRecord
	unsubscribe := s.SubscribeLogs(func(r launcherapi.LogRecord) {
		_ = s.State() // a subscriber may call the launcher (no deadlock)
		mu.Lock()
		defer mu.Unlock()
		records = append(records, r)
	})
	waitReady(t, s)
	resp, err := http.Post(s.BaseURL()+"/completion", "application/json",
		strings.NewReader(`{"prompt":"hi","n_predict":3,"ignore_eos":true}`))
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range records {
			if r.Function == "print_timing" && r.SlotID >= 0 && r.TaskID >= 0 {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "no slot timing line parsed")
	unsubscribe()
	mu.Lock()
	defer mu.Unlock()
	for _, r := range records {
		assert.Equal(t, s.PID(), r.PID)
		assert.NotEmpty(t, r.Stream)
	}
	// Every line is in the log at debug anyway: look for the ones copied up at info.
	assert.NotEmpty(t, s.logs.FilterMessageSnippet("llama-server: ").Filter(func(e observer.LoggedEntry) bool {
		return e.Level == zapcore.InfoLevel
	}).All(), "info lines copied at log_level info")
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	notGGUF := filepath.Join(dir, "not.gguf")
	require.NoError(t, os.WriteFile(notGGUF, []byte("definitely not a model"), 0o600))
	for _, tt := range []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"missing model", func(c *Config) { c.Model = filepath.Join(dir, "missing.gguf") }, []string{"`model`", "missing.gguf", "no such file"}},
		{"not GGUF", func(c *Config) { c.Model = notGGUF }, []string{"`model`", "not.gguf", "magic"}},
		{"executable not found", func(c *Config) { c.Executable = "no-such-llama-server-binary" },
			[]string{`"no-such-llama-server-binary"`, "not found", "`executable`"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			tt.edit(cfg)
			l := newLauncher(cfg, extensiontest.NewNopSettings(NewFactory().Type()))
			err := l.Start(context.Background(), &statusHost{})
			require.Error(t, err)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
			require.NoError(t, l.Shutdown(context.Background()))
		})
	}
}

// TestExitAtOnce: a GGUF that llama-server cannot load makes it exit at once; its last log
// lines must be in the error, and with restart disabled the status becomes PermanentError.
func TestExitAtOnce(t *testing.T) {
	var b gguf.Builder
	require.NoError(t, b.AddKV("general.architecture", "llama"))
	model := filepath.Join(t.TempDir(), "broken.gguf")
	f, err := os.Create(model)
	require.NoError(t, err)
	_, err = b.WriteTo(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	cfg := testConfig(t)
	cfg.Model = model
	cfg.Restart.Enabled = false
	s := startLauncher(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = s.WaitReady(ctx)
	require.Error(t, err)
	assert.ErrorContains(t, err, "exited unexpectedly: exit code")
	assert.ErrorContains(t, err, "last lines:")
	assert.ErrorContains(t, err, "key not found in model: llama.context_length", "llama-server's own complaint is in the error")
	assert.Equal(t, launcherapi.StateFailed, s.State())
	assert.Equal(t, componentstatus.StatusPermanentError, s.host.last().Status())
}

func TestReadyTimeout(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReadyTimeout = time.Millisecond
	cfg.Restart.MaxRestarts = 1
	s := startLauncher(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.WaitReady(ctx)
	require.Error(t, err)
	assert.ErrorContains(t, err, "gave up after 1 restarts")
	assert.ErrorContains(t, err, "was not ready within ready_timeout 1ms")
	assert.Equal(t, componentstatus.StatusPermanentError, s.host.last().Status())
}

// TestPortInUse: a busy port gives a clear error, and the restarts back off instead of
// spinning.
func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = ln.Close() }()
	cfg := testConfig(t)
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	cfg.Restart.InitialInterval = 100 * time.Millisecond
	cfg.Restart.MaxInterval = 400 * time.Millisecond
	s := startLauncher(t, cfg)
	// Attempts at 0, 0.1, 0.3, 0.7 and 1.1 s (delays 100, 200, 400, 400 ms), the next not before
	// 1.5 s: look at 1.3 s, between two attempts.
	time.Sleep(1300 * time.Millisecond)
	ev := s.host.last()
	require.NotNil(t, ev)
	assert.Equal(t, componentstatus.StatusRecoverableError, ev.Status())
	assert.ErrorContains(t, ev.Err(), "`port` "+strconv.Itoa(cfg.Port)+" on 127.0.0.1 is not available")
	// Backing off: at most 5 attempts in 1.3 s (without backoff there would be dozens).
	assert.LessOrEqual(t, len(s.logs.FilterMessage("Restarting llama-server").All()), 5)
	assert.Zero(t, s.PID())
}

func TestFind(t *testing.T) {
	l := newLauncher(testConfig(t), extensiontest.NewNopSettings(NewFactory().Type()))
	id := component.MustNewID("llamalauncher")
	other := component.MustNewIDWithName("zpages", "x")
	host := &statusHost{exts: map[component.ID]component.Component{id: l, other: struct{ component.Component }{}}}

	got, err := launcherapi.Find(host, id)
	require.NoError(t, err)
	assert.Same(t, l, got)

	_, err = launcherapi.Find(host, component.MustNewIDWithName("llamalauncher", "missing"))
	assert.EqualError(t, err, `launcher "llamalauncher/missing": no such extension (add it under `+"`extensions:`"+` and to `+"`service::extensions`"+`)`)
	_, err = launcherapi.Find(host, other)
	assert.EqualError(t, err, `launcher "zpages/x": extension is a "zpages", not a llamalauncher`)
}

// TestBackoffAfterReady: a server that had become ready and then died (killed while serving)
// is restarted after the first delay each time, however often it happens: the backoff is for a
// server that cannot start (TestPortInUse), and requests wait for this one. The restart
// count still grows until a healthy run (a minute in production, 300 ms here) resets it.
func TestBackoffAfterReady(t *testing.T) {
	cfg := testConfig(t)
	cfg.Restart.InitialInterval = 10 * time.Millisecond
	cfg.Restart.MaxInterval = 40 * time.Millisecond
	s := startLauncher(t, cfg)
	s.resetAfter = 300 * time.Millisecond
	waitReady(t, s)
	killAndWait := func() {
		pid := s.PID()
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		require.Eventually(t, func() bool {
			return s.State() == launcherapi.StateReady && s.PID() != pid && s.PID() != 0
		}, time.Minute, 5*time.Millisecond)
	}
	for range 4 { // killed as soon as ready: each run is shorter than resetAfter
		killAndWait()
	}
	time.Sleep(400 * time.Millisecond) // a healthy run longer than resetAfter
	killAndWait()
	var delays []time.Duration
	var counts []int
	for _, e := range s.logs.FilterMessage("Restarting llama-server").All() {
		delays = append(delays, e.ContextMap()["delay"].(time.Duration))
		counts = append(counts, int(e.ContextMap()["restart"].(int64)))
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{10 * ms, 10 * ms, 10 * ms, 10 * ms, 10 * ms}, delays)
	assert.Equal(t, []int{1, 2, 3, 4, 1}, counts, "the count resets after a healthy run")
}

// TestShutdownKillsAfterTimeout: a llama-server that does not act on SIGTERM (the test binary
// standing in for one that ignores it, see fakeServerEnv) is killed once shutdown_timeout has
// passed.
func TestShutdownKillsAfterTimeout(t *testing.T) {
	cfg := testConfig(t)
	cfg.Executable = os.Args[0]
	cfg.Env = map[string]string{fakeServerEnv: "ignore-sigterm"}
	cfg.ShutdownTimeout = 200 * time.Millisecond
	s := startLauncher(t, cfg)
	waitReady(t, s)
	pid := s.PID()
	start := time.Now()
	require.NoError(t, s.Shutdown(context.Background()))
	assert.GreaterOrEqual(t, time.Since(start), cfg.ShutdownTimeout)
	assert.False(t, llamatest.Alive(pid))
	killed := s.logs.FilterMessage("llama-server ignored SIGTERM and was killed").All()
	require.Len(t, killed, 1)
	assert.Equal(t, "killed by signal killed", killed[0].ContextMap()["exit"])
}

// TestShutdownOfStoppedServer: a llama-server stopped with SIGSTOP gets SIGCONT after SIGTERM, so
// it acts on SIGTERM at once instead of being killed after shutdown_timeout.
func TestShutdownOfStoppedServer(t *testing.T) {
	cfg := testConfig(t)
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.HealthCheck.HungAfter = 0 // not restarted meanwhile
	s := startLauncher(t, cfg)
	waitReady(t, s)
	pid := s.PID()
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	start := time.Now()
	require.NoError(t, s.Shutdown(context.Background()))
	took := time.Since(start)
	t.Logf("a stopped llama-server shut down in %v (shutdown_timeout %v)", took.Round(time.Millisecond), cfg.ShutdownTimeout)
	assert.Less(t, took, cfg.ShutdownTimeout)
	assert.False(t, llamatest.Alive(pid))
	require.Len(t, s.logs.FilterMessage("llama-server stopped").All(), 1)
	assert.Empty(t, s.logs.FilterMessage("llama-server ignored SIGTERM and was killed").All())
}

// TestOwnProcessGroup: llama-server leads a process group of its own, so signals to the
// collector's group (a terminal's Ctrl-C) do not reach it behind the launcher's back.
func TestOwnProcessGroup(t *testing.T) {
	s := startLauncher(t, testConfig(t))
	waitReady(t, s)
	pgid, err := syscall.Getpgid(s.PID())
	require.NoError(t, err)
	assert.Equal(t, s.PID(), pgid)
	assert.NotEqual(t, syscall.Getpgrp(), pgid)
}
