// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options configure Start. The zero value serves TinyModel with `-np 2 -c 1024`.
type Options struct {
	// Executable is the llama-server to run; default: Server(tb).
	Executable string
	// Model is the GGUF file to serve; default: TinyModel(tb), unless ModelsDir is set.
	Model string
	// ModelsDir starts llama-server in router mode (--models-dir, no --model): it serves every
	// GGUF file of the folder by its name without .gguf, each in a child process it starts on
	// demand.
	ModelsDir string
	// Alias is passed as --alias when set.
	Alias string
	// Parallel is -np; default 2.
	Parallel int
	// ContextSize is -c; default 1024.
	ContextSize int
	// Args are appended to the argv (e.g. "--embeddings").
	Args []string
	// Env is appended to the environment of the child.
	Env []string
	// ReadyTimeout bounds the wait for /health 200; default 60s.
	ReadyTimeout time.Duration
}

// Instance is a running llama-server started by Start.
type Instance struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
	// Port is the loopback port the server listens on.
	Port int
	// PID is the process id of the server.
	PID int
	// Argv is the full argument list that was run (argv[0] first).
	Argv []string

	cmd     *exec.Cmd
	logs    *syncBuffer
	done    chan struct{}
	waitErr error
	stop    sync.Once
}

// Start runs a real llama-server on a free loopback port, waits until GET /health answers 200,
// and registers a cleanup that stops it and checks that no process is left behind.
func Start(tb testing.TB, opts Options) *Instance {
	tb.Helper()
	if opts.Executable == "" {
		opts.Executable = Server(tb)
	}
	if opts.Model == "" && opts.ModelsDir == "" {
		opts.Model = TinyModel(tb)
	}
	if opts.Parallel == 0 {
		opts.Parallel = 2
	}
	if opts.ContextSize == 0 {
		opts.ContextSize = 1024
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	var lastErr error
	// A free port can be taken between FreePort and the server's bind: try a few.
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(opts, FreePort(tb))
		if err == nil {
			tb.Cleanup(func() {
				if err := s.Stop(); err != nil {
					tb.Errorf("stop llama-server: %v", err)
				}
				if left := ProcessesWithArgs("--port", strconv.Itoa(s.Port)); len(left) > 0 {
					tb.Errorf("llama-server processes left behind: %v", left)
				}
				if opts.ModelsDir != "" { // a router's models run in child processes on other ports
					models, _ := filepath.Glob(filepath.Join(opts.ModelsDir, "*.gguf"))
					for _, m := range models {
						if left := ProcessesWithArgs("--model", m); len(left) > 0 {
							tb.Errorf("a router's llama-server for %s left behind: %v", m, left)
						}
					}
				}
			})
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), "bind") {
			break
		}
	}
	tb.Fatalf("start llama-server: %v", lastErr)
	return nil
}

func start(opts Options, port int) (*Instance, error) {
	argv := []string{opts.Executable}
	if opts.ModelsDir != "" {
		argv = append(argv, "--models-dir", opts.ModelsDir)
	} else {
		argv = append(argv, "--model", opts.Model)
	}
	argv = append(argv,
		"--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"-np", strconv.Itoa(opts.Parallel), "-c", strconv.Itoa(opts.ContextSize),
		"--metrics", "--slots",
	)
	if opts.Alias != "" {
		argv = append(argv, "--alias", opts.Alias)
	}
	argv = append(argv, opts.Args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), opts.Env...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Instance{
		URL: "http://127.0.0.1:" + strconv.Itoa(port), Port: port, PID: cmd.Process.Pid, Argv: argv,
		cmd: cmd, logs: logs, done: make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(opts.ReadyTimeout); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("%w; last log lines:\n%s", err, s.LogTail(15))
	}
	return s, nil
}

func (s *Instance) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/health", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("llama-server exited before it was ready: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("llama-server not ready after %v", timeout)
		case <-tick.C:
		}
	}
}

// Stop sends SIGTERM to the server's process group, then SIGKILL after 10 s, and waits for it
// to exit. It is safe to call more than once.
func (s *Instance) Stop() error {
	var err error
	s.stop.Do(func() {
		select {
		case <-s.done:
			return
		default:
		}
		_ = signalGroup(s.PID, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = signalGroup(s.PID, syscall.SIGKILL)
			<-s.done
			err = errors.New("llama-server ignored SIGTERM for 10s and was killed")
		}
	})
	return err
}

// Done is closed when the server process has exited.
func (s *Instance) Done() <-chan struct{} { return s.done }

// Logs returns everything the server wrote to stdout and stderr so far.
func (s *Instance) Logs() string { return s.logs.String() }

// LogTail returns the last n lines of Logs.
func (s *Instance) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(s.logs.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
