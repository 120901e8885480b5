// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// healthyResetAfter is how long llama-server must stay ready before the restart backoff and the
// restart count start again from zero.
const healthyResetAfter = time.Minute

// supervise runs llama-server until ctx ends: start, wait for readiness, restart on crash with
// exponential backoff, and give up after max_restarts.
func (l *llamaLauncher) supervise(ctx context.Context, path string) {
	defer func() {
		l.setProcess(0, "")
		l.mu.Lock()
		done := l.done
		l.mu.Unlock()
		close(done)
	}()
	rc := l.cfg.Restart
	delay, restarts := rc.InitialInterval, 0
	for {
		healthyFor, err := l.runOnce(ctx, path)
		if ctx.Err() != nil {
			l.setState(launcherapi.StateStopped, nil)
			return
		}
		switch {
		case healthyFor >= l.resetAfter:
			delay, restarts = rc.InitialInterval, 0
		case healthyFor > 0:
			// It had become ready, then died while serving (killed, or a crash): not a server that
			// cannot start, which is what the backoff is for. Restart it after the first delay,
			// so that requests waiting for it (the gateway's server_wait) are not left behind a
			// delay grown by earlier exits; the restarts still count toward max_restarts.
			delay = rc.InitialInterval
		}
		if !rc.Enabled {
			l.fail(fmt.Errorf("%w (restart is disabled)", err))
			return
		}
		if rc.MaxRestarts > 0 && restarts >= rc.MaxRestarts {
			l.fail(fmt.Errorf("gave up after %d restarts: %w", restarts, err))
			return
		}
		restarts++
		l.report(componentstatus.NewRecoverableErrorEvent(err))
		l.setState(launcherapi.StateRestarting, err)
		l.logger.Warn("Restarting llama-server", zap.Duration("delay", delay), zap.Int("restart", restarts), zap.Error(err))
		select {
		case <-ctx.Done():
			l.setState(launcherapi.StateStopped, nil)
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, rc.MaxInterval)
	}
}

func (l *llamaLauncher) fail(err error) {
	// Report first: WaitReady callers wake at the state change and may read the status.
	l.report(componentstatus.NewPermanentErrorEvent(err))
	l.setState(launcherapi.StateFailed, err)
	l.logger.Error("llama-server failed; not restarting", zap.Error(err))
}

// runOnce starts llama-server once and returns when it exits or ctx ends (after stopping it).
// healthyFor is how long it was ready; err says why it ended.
func (l *llamaLauncher) runOnce(ctx context.Context, path string) (healthyFor time.Duration, err error) {
	port := l.cfg.Port
	if port == 0 {
		if port, err = freePort(l.cfg.Host); err != nil {
			return 0, err
		}
	} else if err := portFree(l.cfg.Host, port); err != nil {
		return 0, err
	}
	model := l.Model()
	c := buildCommand(l.cfg, path, model.Alias, port)
	baseURL := "http://" + net.JoinHostPort(urlHost(l.cfg.Host), strconv.Itoa(port))

	outR, outW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_ = outR.Close()
		_ = outW.Close()
		return 0, err
	}
	cmd := exec.Command(c.path, c.argv[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdout, cmd.Stderr = outW, errW

	tail := newLineTail(8)
	started := make(chan error, 1)
	exited := make(chan error, 1)
	go func() { exited <- startAndWait(cmd, func(err error) { started <- err }) }()
	err = <-started
	_ = outW.Close() // the child holds its own copies
	_ = errW.Close()
	if err != nil {
		_ = outR.Close()
		_ = errR.Close()
		return 0, fmt.Errorf("start %s: %w", c.path, err)
	}
	pid := cmd.Process.Pid
	startedAt := time.Now()
	l.setProcess(pid, baseURL)
	l.setState(launcherapi.StateStarting, nil)
	l.logger.Info("llama-server started", zap.Int("pid", pid), zap.String("url", baseURL))
	l.logger.Debug("llama-server command", zap.Strings("argv", c.argv), zap.Strings("env", envNames(c.env)))

	var readers sync.WaitGroup
	readers.Add(2)
	go l.readLogs(outR, "stdout", pid, tail, &readers)
	go l.readLogs(errR, "stderr", pid, tail, &readers)

	readyCtx, stopPolling := context.WithTimeout(ctx, l.cfg.ReadyTimeout)
	defer stopPolling()
	var readyAt time.Time
	readyCh := make(chan bool, 1)
	go func() { readyCh <- waitHealthy(readyCtx, l.client, baseURL, l.APIKey()) }()
	// The hang watch runs from readiness until runOnce returns.
	var hungCh chan *hang
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	close(watchDone) // replaced when the watch starts
	defer func() { stopWatch(); <-watchDone }()

	for {
		select {
		case ok := <-readyCh:
			readyCh = nil
			if ok {
				readyAt = time.Now()
				l.report(componentstatus.NewEvent(componentstatus.StatusOK))
				l.setState(launcherapi.StateReady, nil)
				l.logger.Info("llama-server ready", zap.Int("pid", pid), zap.String("url", baseURL),
					zap.Duration("load_time", readyAt.Sub(startedAt)))
				if hc := l.cfg.HealthCheck; hc.HungAfter > 0 {
					hungCh, watchDone = make(chan *hang, 1), make(chan struct{})
					w := l.newHangWatch(baseURL, pid)
					go func() {
						defer close(watchDone)
						hungCh <- w.run(watchCtx)
					}()
				}
				continue
			}
			if ctx.Err() != nil {
				continue // shutdown: handled by the ctx case
			}
			l.logger.Error("llama-server not ready in time; killing it",
				zap.Int("pid", pid), zap.Duration("ready_timeout", l.cfg.ReadyTimeout))
			_ = signalGroup(pid, syscall.SIGKILL)
			werr := <-exited
			l.finish(&readers, outR, errR)
			return 0, fmt.Errorf("llama-server (pid %d) was not ready within ready_timeout %v (%s)%s",
				pid, l.cfg.ReadyTimeout, exitText(werr), tail.suffix())
		case h := <-hungCh:
			hungCh = nil
			if h == nil {
				continue // ctx ended: handled by the ctx case
			}
			// Not ready from now on, before the kill: a request that comes meanwhile waits for the
			// next server (the gateway's server_wait) instead of being sent to this one.
			hungErr := &launcherapi.HungError{PID: pid, Silent: h.silent, HungAfter: l.cfg.HealthCheck.HungAfter, Why: h.why, LastProbe: h.last}
			l.setState(launcherapi.StateRestarting, hungErr)
			l.logger.Error(fmt.Sprintf("llama-server stopped answering /health for %s; killing it", h.silent.Round(100*time.Millisecond)),
				zap.Int("pid", pid), zap.Duration("silent_for", h.silent), zap.String("why", h.why),
				zap.Duration("hung_after", l.cfg.HealthCheck.HungAfter), zap.NamedError("last_probe", h.last))
			_ = signalGroup(pid, syscall.SIGKILL)
			werr := <-exited
			l.finish(&readers, outR, errR)
			l.setProcess(0, "")
			return time.Since(readyAt), fmt.Errorf("%w; killed it (%s)%s", hungErr, exitText(werr), tail.suffix())
		case werr := <-exited:
			l.finish(&readers, outR, errR)
			l.setProcess(0, "")
			if !readyAt.IsZero() {
				healthyFor = time.Since(readyAt)
			}
			err := fmt.Errorf("llama-server (pid %d) exited unexpectedly: %s%s", pid, exitText(werr), tail.suffix())
			l.logger.Error("llama-server exited", zap.Int("pid", pid), zap.String("exit", exitText(werr)),
				zap.Duration("ran_for", time.Since(startedAt)), zap.Strings("last_lines", tail.lines()))
			return healthyFor, err
		case <-ctx.Done():
			l.stop(pid, exited)
			l.finish(&readers, outR, errR)
			l.setProcess(0, "")
			return 0, ctx.Err()
		}
	}
}

// stop sends SIGTERM to llama-server's process group, then SIGKILL after shutdown_timeout.
// SIGCONT follows SIGTERM: a stopped server (SIGSTOP, a hang being investigated) would otherwise
// hold SIGTERM pending and be killed only after shutdown_timeout.
func (l *llamaLauncher) stop(pid int, exited <-chan error) {
	_ = signalGroup(pid, syscall.SIGTERM)
	_ = signalGroup(pid, syscall.SIGCONT)
	select {
	case werr := <-exited:
		l.logger.Info("llama-server stopped", zap.Int("pid", pid), zap.String("exit", exitText(werr)))
	case <-time.After(l.cfg.ShutdownTimeout):
		_ = signalGroup(pid, syscall.SIGKILL)
		werr := <-exited
		l.logger.Warn("llama-server ignored SIGTERM and was killed",
			zap.Int("pid", pid), zap.Duration("shutdown_timeout", l.cfg.ShutdownTimeout), zap.String("exit", exitText(werr)))
	}
}

// newHangWatch watches the server at baseURL, process pid, with the health_check settings.
func (l *llamaLauncher) newHangWatch(baseURL string, pid int) *hangWatch {
	hc := l.cfg.HealthCheck
	return &hangWatch{
		interval: hc.Interval, timeout: hc.Timeout, hungAfter: hc.HungAfter,
		probe: func(ctx context.Context) error { return answers(ctx, l.client, baseURL, l.APIKey()) },
		proc:  func() (procSample, error) { return readProc(pid) },
		now:   time.Now,
		after: time.After,
	}
}

// finish waits a little for the log readers to drain the pipes, then closes them (a grandchild
// could keep a pipe open forever).
func (l *llamaLauncher) finish(readers *sync.WaitGroup, pipes ...*os.File) {
	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
	}
	for _, p := range pipes {
		_ = p.Close()
	}
	<-drained
}

// exitText says how a process ended: "exit code 1", "killed by signal killed".
func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + ws.Signal().String()
		}
		return "exit code " + strconv.Itoa(ee.ExitCode())
	}
	if err == nil {
		return "exit code 0"
	}
	return err.Error()
}

// envNames returns the variable names only: values may hold secrets.
func envNames(env []string) []string {
	names := make([]string, len(env))
	for i, kv := range env {
		names[i], _, _ = strings.Cut(kv, "=")
	}
	return names
}

// urlHost maps a wildcard bind address to one a client can connect to.
func urlHost(host string) string {
	switch host {
	case "0.0.0.0", "":
		return "127.0.0.1"
	case "::", "[::]":
		return "::1"
	}
	return strings.Trim(host, "[]")
}

func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(strings.Trim(host, "[]"), "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// portFree fails with a clear error when host:port cannot be bound (llama-server would exit
// with a less obvious message).
func portFree(host string, port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("`port` %d on %s is not available: %w", port, host, err)
	}
	return ln.Close()
}
