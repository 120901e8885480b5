// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"context"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap/zapcore"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// fakeServerEnv makes the test binary a stand-in llama-server (see init): it answers /health on
// the --port it is given and ignores SIGTERM, which no real llama-server does.
const fakeServerEnv = "LLT_LAUNCHER_TEST_FAKE_SERVER"

func init() {
	if os.Getenv(fakeServerEnv) != "ignore-sigterm" {
		return
	}
	signal.Ignore(syscall.SIGTERM)
	port := ""
	for i, a := range os.Args {
		if a == "--port" && i+1 < len(os.Args) {
			port = os.Args[i+1]
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"status":"ok"}`)) })
	err := http.ListenAndServe("127.0.0.1:"+port, mux) //nolint:gosec // a test stand-in
	_, _ = os.Stderr.WriteString(err.Error() + "\n")
	os.Exit(1)
}

// watchFakes drives a hangWatch without a process: probe answers while ok is set; the process
// uses CPU while busy is set, and is stopped while stopped is set.
type watchFakes struct {
	ok, busy, stopped atomic.Bool
	noProc            bool
	ticks             atomic.Uint64
}

func (f *watchFakes) watch(hungAfter time.Duration) *hangWatch {
	return &hangWatch{
		interval: 10 * time.Millisecond, timeout: 10 * time.Millisecond, hungAfter: hungAfter,
		probe: func(ctx context.Context) error {
			if f.ok.Load() {
				return nil
			}
			<-ctx.Done() // no answer: the probe times out
			return ctx.Err()
		},
		proc: func() (procSample, error) {
			if f.noProc {
				return procSample{}, errNoProcInfo
			}
			if f.busy.Load() {
				f.ticks.Add(3)
			}
			return procSample{cpuTicks: f.ticks.Load(), stopped: f.stopped.Load()}, nil
		},
		now:   time.Now,
		after: time.After,
	}
}

// runWatch runs w for at most d and returns its verdict and how long it took.
func runWatch(w *hangWatch, d time.Duration) (*hang, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	h := w.run(ctx)
	return h, time.Since(start)
}

func TestHangWatch(t *testing.T) {
	const hungAfter = 100 * time.Millisecond
	t.Run("answering", func(t *testing.T) {
		f := &watchFakes{}
		f.ok.Store(true)
		h, _ := runWatch(f.watch(hungAfter), 400*time.Millisecond)
		assert.Nil(t, h)
	})
	t.Run("stopped", func(t *testing.T) {
		f := &watchFakes{}
		f.stopped.Store(true)
		f.busy.Store(true) // CPU time of the window before the stop: the state alone decides
		h, took := runWatch(f.watch(hungAfter), 5*time.Second)
		require.NotNil(t, h)
		assert.Equal(t, "it is stopped (state T)", h.why)
		assert.GreaterOrEqual(t, h.silent, hungAfter)
		assert.Less(t, took, hungAfter+time.Second)
		assert.ErrorIs(t, h.last, context.DeadlineExceeded)
		assert.Contains(t, h.Error(), "it answered no /health probe for 100ms and it is stopped (state T)")
	})
	t.Run("no CPU time", func(t *testing.T) {
		f := &watchFakes{}
		h, _ := runWatch(f.watch(hungAfter), 5*time.Second)
		require.NotNil(t, h)
		assert.Equal(t, "it used no CPU time meanwhile", h.why)
		assert.GreaterOrEqual(t, h.silent, hungAfter)
	})
	t.Run("busy is not hung", func(t *testing.T) {
		// /health queued behind long requests: no answer, but the process computes.
		f := &watchFakes{}
		f.busy.Store(true)
		h, _ := runWatch(f.watch(hungAfter), 500*time.Millisecond)
		assert.Nil(t, h, "a busy server was taken for hung")
		// Then it stops using CPU as well: hung, one window later.
		f.busy.Store(false)
		start := time.Now()
		h, _ = runWatch(f.watch(hungAfter), 5*time.Second)
		require.NotNil(t, h)
		assert.Equal(t, "it used no CPU time meanwhile", h.why)
		assert.Less(t, time.Since(start), hungAfter+time.Second)
	})
	t.Run("no proc info", func(t *testing.T) {
		f := &watchFakes{noProc: true}
		f.busy.Store(true)
		h, _ := runWatch(f.watch(hungAfter), 5*time.Second)
		require.NotNil(t, h)
		assert.Equal(t, "the process's CPU time cannot be read on this system", h.why)
	})
	t.Run("short silences", func(t *testing.T) {
		// Silent for less than hung_after at a time: never hung.
		f := &watchFakes{}
		var wg sync.WaitGroup
		done := make(chan struct{})
		wg.Go(func() {
			for {
				f.ok.Store(false)
				select {
				case <-done:
					return
				case <-time.After(hungAfter / 3):
				}
				f.ok.Store(true)
				time.Sleep(25 * time.Millisecond)
			}
		})
		h, _ := runWatch(f.watch(hungAfter), 600*time.Millisecond)
		close(done)
		wg.Wait()
		assert.Nil(t, h)
	})
}

func TestParseStat(t *testing.T) {
	// The command name may hold spaces and parentheses.
	line := "4242 (llama (srv) x) T 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 9 0 100 0 0\n"
	s, err := parseStat(line)
	require.NoError(t, err)
	assert.Equal(t, procSample{cpuTicks: 1290, stopped: true}, s)
	s, err = parseStat("1 (init) S 0 1 1 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0")
	require.NoError(t, err)
	assert.Equal(t, procSample{cpuTicks: 10}, s)
	_, err = parseStat("garbage")
	assert.Error(t, err)
	_, err = parseStat("1 (x) S 0 1")
	assert.Error(t, err)
}

func TestReadProcSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	before, err := readProc(os.Getpid())
	require.NoError(t, err)
	assert.False(t, before.stopped)
	deadline := time.Now().Add(200 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ { // use some CPU time
		_ = strconv.Itoa(x)
	}
	after, err := readProc(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, after.cpuTicks, before.cpuTicks)
	_, err = readProc(1 << 30)
	assert.Error(t, err)
}

// TestHungServerIsRestarted stops the real llama-server with SIGSTOP: the launcher finds it hung
// (no /health answer, state T) within hung_after + interval + timeout, kills it, and a new one
// serves after restart::initial_interval and its load time.
func TestHungServerIsRestarted(t *testing.T) {
	cfg := testConfig(t)
	cfg.HealthCheck = HealthCheckConfig{Interval: 200 * time.Millisecond, Timeout: 200 * time.Millisecond, HungAfter: time.Second}
	s := startLauncher(t, cfg)
	waitReady(t, s)
	pid := s.PID()
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	stoppedAt := time.Now()
	var restartedAt time.Time
	var lastErr error
	require.Eventually(t, func() bool {
		if restartedAt.IsZero() && s.State() != launcherapi.StateReady {
			restartedAt, lastErr = time.Now(), s.LastError()
		}
		return s.State() == launcherapi.StateReady && s.PID() != pid && s.PID() != 0
	}, time.Minute, 5*time.Millisecond, "the stopped llama-server was not replaced")
	readyAt := time.Now()
	assert.False(t, llamatest.Alive(pid), "the hung llama-server is still there")
	// What the gateway reads to tell its requests why they ended (a timeout).
	var hung *launcherapi.HungError
	require.ErrorAs(t, lastErr, &hung, "LastError while the hung server was replaced")
	assert.Equal(t, pid, hung.PID)
	assert.Equal(t, cfg.HealthCheck.HungAfter, hung.HungAfter)
	assert.GreaterOrEqual(t, hung.Silent, cfg.HealthCheck.HungAfter)
	assert.NoError(t, s.LastError(), "ready again")

	hungLogs := s.logs.FilterMessageSnippet("llama-server stopped answering /health for").All()
	require.Len(t, hungLogs, 1)
	e := hungLogs[0]
	assert.Equal(t, zapcore.ErrorLevel, e.Level)
	assert.Contains(t, e.Message, "; killing it")
	assert.Equal(t, int64(pid), e.ContextMap()["pid"])
	assert.Equal(t, "it is stopped (state T)", e.ContextMap()["why"])
	detected := restartedAt.Sub(stoppedAt)
	bound := cfg.HealthCheck.HungAfter + cfg.HealthCheck.Interval + cfg.HealthCheck.Timeout
	assert.LessOrEqual(t, detected, bound+100*time.Millisecond, "detection slower than hung_after + interval + timeout")
	assert.GreaterOrEqual(t, detected, cfg.HealthCheck.HungAfter-cfg.HealthCheck.Interval, "the last answer may precede the SIGSTOP by up to an interval")
	loads := s.logs.FilterMessage("llama-server ready").All()
	require.Len(t, loads, 2)
	load := loads[1].ContextMap()["load_time"].(time.Duration)
	t.Logf("SIGSTOP to killed: %v (hung_after %v, bound %v); SIGSTOP to new server ready: %v (its load time %v)",
		detected.Round(time.Millisecond), cfg.HealthCheck.HungAfter, bound, readyAt.Sub(stoppedAt).Round(time.Millisecond), load.Round(time.Millisecond))
	assert.LessOrEqual(t, readyAt.Sub(stoppedAt), bound+cfg.Restart.MaxInterval+load+time.Second)

	// Status: RecoverableError saying "hung", then OK; the restart counts as one.
	var hungEv *componentstatus.Event
	s.host.mu.Lock()
	events := append([]*componentstatus.Event(nil), s.host.events...)
	s.host.mu.Unlock()
	for _, ev := range events {
		if ev.Err() != nil && ev.Status() == componentstatus.StatusRecoverableError &&
			containsAll(ev.Err().Error(), "hung", "pid "+strconv.Itoa(pid), "stopped (state T)") {
			hungEv = ev
		}
	}
	require.NotNil(t, hungEv, "no RecoverableError saying hung in %v", s.host.statuses())
	assert.Equal(t, componentstatus.StatusOK, s.host.last().Status())
	restarts := s.logs.FilterMessage("Restarting llama-server").All()
	require.Len(t, restarts, 1)
	assert.Equal(t, int64(1), restarts[0].ContextMap()["restart"])
	assert.Equal(t, cfg.Restart.InitialInterval, restarts[0].ContextMap()["delay"])
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestHangDetectionOff: hung_after 0 leaves a stopped server alone.
func TestHangDetectionOff(t *testing.T) {
	cfg := testConfig(t)
	cfg.HealthCheck = HealthCheckConfig{Interval: 50 * time.Millisecond, Timeout: 50 * time.Millisecond}
	cfg.ShutdownTimeout = 5 * time.Second
	s := startLauncher(t, cfg)
	waitReady(t, s)
	pid := s.PID()
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	time.Sleep(time.Second)
	assert.Equal(t, pid, s.PID())
	assert.Equal(t, launcherapi.StateReady, s.State())
	assert.Empty(t, s.logs.FilterMessageSnippet("stopped answering").All())
}
