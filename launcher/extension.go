// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/launcher/internal/energy"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// llamaLauncher is the extension. Start resolves the executable and reads the model, then a
// supervisor goroutine owns the process (supervisor.go); everything other components read goes
// through the mutex-guarded fields below.
type llamaLauncher struct {
	cfg    *Config
	id     component.ID // this instance's ID, e.g. llamalauncher/a
	logger *zap.Logger
	client httpGetter
	// resetAfter is healthyResetAfter; tests shorten it.
	resetAfter time.Duration

	mu      sync.Mutex
	state   launcherapi.State
	changed chan struct{} // closed and replaced at every state change
	status  componentstatus.Status
	baseURL string
	pid     int
	model   launcherapi.Model
	lastErr error

	// subsMu guards the log subscribers apart from mu, so that a subscriber may call the
	// Launcher's methods (which take mu) while it is being called.
	subsMu  sync.Mutex
	subs    map[int]func(launcherapi.LogRecord)
	nextSub int
	// repeats keeps lines llama-server repeats word for word out of the collector's log (the
	// lines copied at their own severity, see copyToLog).
	repeats *repeatFilter
	// energy splits the GPUs' energy among requests (a gateway reports them, the nvml
	// receiver attaches the meter).
	energy *energy.Ledger

	host   component.Host
	cancel context.CancelFunc
	done   chan struct{}
}

var _ launcherapi.GPULauncher = (*llamaLauncher)(nil)
var _ launcherapi.ErrorReporter = (*llamaLauncher)(nil)

func newLauncher(cfg *Config, set extension.Settings) *llamaLauncher {
	return &llamaLauncher{
		cfg:        cfg,
		id:         set.ID,
		logger:     set.Logger,
		resetAfter: healthyResetAfter,
		client:     newHealthClient(cfg.HealthCheck.Timeout),
		repeats:    newRepeatFilter(repeatWindow),
		energy:     energy.New(cfg.GPU.EnergyMaxWait),
		changed:    make(chan struct{}),
		subs:       map[int]func(launcherapi.LogRecord){},
	}
}

// resolveExecutable finds the llama-server to run: Executable, else $LLAMA_SERVER, else
// "llama-server" on PATH.
func resolveExecutable(cfg *Config) (string, error) {
	name, from := cfg.Executable, "`executable`"
	if name == "" {
		if env := os.Getenv("LLAMA_SERVER"); env != "" {
			name, from = env, "$LLAMA_SERVER"
		} else {
			name, from = "llama-server", "the default"
		}
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("llama-server executable %q (from %s) not found: %w; set `executable` or LLAMA_SERVER", name, from, err)
	}
	return filepath.Abs(path)
}

// readModel checks the model file and reads its facts from the GGUF header. In router mode it
// checks the folder and returns no model: the router serves several, each named by requests.
func readModel(cfg *Config) (launcherapi.Model, error) {
	if cfg.ModelsDir != "" {
		fi, err := os.Stat(cfg.ModelsDir)
		if err != nil {
			return launcherapi.Model{}, fmt.Errorf("`models_dir` %q: %w", cfg.ModelsDir, err)
		}
		if !fi.IsDir() {
			return launcherapi.Model{}, fmt.Errorf("`models_dir` %q is not a folder", cfg.ModelsDir)
		}
		return launcherapi.Model{}, nil
	}
	f, err := gguf.Open(cfg.Model)
	if err != nil {
		return launcherapi.Model{}, fmt.Errorf("`model` %q: %w", cfg.Model, err)
	}
	defer func() { _ = f.Close() }()
	m := launcherapi.Model{Path: cfg.Model, Alias: cfg.Alias, Facts: f.Facts()}
	if m.Alias == "" {
		m.Alias = m.Facts.Name
	}
	if m.Alias == "" {
		m.Alias = strings.TrimSuffix(filepath.Base(cfg.Model), filepath.Ext(cfg.Model))
	}
	return m, nil
}

// Start checks the executable and the model, then starts llama-server in the background: the
// collector does not wait for the model to load. Status is RecoverableError ("starting") until
// /health answers 200, then OK.
func (l *llamaLauncher) Start(_ context.Context, host component.Host) error {
	path, err := resolveExecutable(l.cfg)
	if err != nil {
		return err
	}
	model, err := readModel(l.cfg)
	if err != nil {
		return err
	}
	if err := claimPort(l); err != nil {
		return err
	}
	l.mu.Lock()
	l.model = model
	l.host = host
	l.mu.Unlock()
	// The collector marks an extension OK as soon as Start returns unless it reported another
	// status, and it cannot go back to Starting: so the model load is reported as a recoverable
	// error, cleared (OK) when /health answers 200.
	l.report(componentstatus.NewRecoverableErrorEvent(errLoading))
	l.logger.Info("Starting llama-server",
		zap.String("executable", path), zap.String("model", model.Path), zap.String("alias", model.Alias),
		zap.String("architecture", model.Facts.Architecture), zap.Uint64("parameters", model.Facts.ParameterCount),
		zap.String("quantization", model.Facts.Quantization))

	ctx, cancel := context.WithCancel(context.Background())
	l.mu.Lock()
	l.cancel, l.done = cancel, make(chan struct{})
	l.mu.Unlock()
	go l.supervise(ctx, path)
	return nil
}

// Shutdown stops llama-server (SIGTERM, then SIGKILL after shutdown_timeout) and waits for it.
// It is safe without Start and when called twice.
func (l *llamaLauncher) Shutdown(ctx context.Context) error {
	defer releasePort(l)
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("llama-server did not stop in time: %w", ctx.Err())
	}
}

// report sends a status event once per change of status (repeating OK or RecoverableError
// would emit duplicate events).
func (l *llamaLauncher) report(ev *componentstatus.Event) {
	l.mu.Lock()
	host := l.host
	same := l.status == ev.Status() && ev.Status() != componentstatus.StatusRecoverableError
	l.status = ev.Status()
	l.mu.Unlock()
	if host == nil || same {
		return
	}
	componentstatus.ReportStatus(host, ev)
}

func (l *llamaLauncher) setState(s launcherapi.State, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state, l.lastErr = s, err
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *llamaLauncher) setProcess(pid int, baseURL string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pid = pid
	if baseURL != "" {
		l.baseURL = baseURL
	}
}

// LastError implements launcherapi.ErrorReporter: why the server is not ready, nil while it is.
func (l *llamaLauncher) LastError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}

// BaseURL implements launcherapi.Launcher.
func (l *llamaLauncher) BaseURL() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.baseURL
}

// APIKey implements launcherapi.Launcher.
func (l *llamaLauncher) APIKey() string { return string(l.cfg.APIKey) }

// PID implements launcherapi.Launcher.
func (l *llamaLauncher) PID() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pid
}

// Model implements launcherapi.Launcher.
func (l *llamaLauncher) Model() launcherapi.Model {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.model
}

// State implements launcherapi.Launcher.
func (l *llamaLauncher) State() launcherapi.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

var (
	errStopped = errors.New("llama-server was stopped")
	errLoading = errors.New("llama-server is starting: waiting for /health to answer 200")
)

// WaitReady implements launcherapi.Launcher.
func (l *llamaLauncher) WaitReady(ctx context.Context) error {
	for {
		l.mu.Lock()
		state, lastErr, changed, done := l.state, l.lastErr, l.changed, l.done
		l.mu.Unlock()
		switch {
		case state == launcherapi.StateReady:
			return nil
		case state == launcherapi.StateFailed:
			return fmt.Errorf("llama-server failed: %w", lastErr)
		case state == launcherapi.StateStopped && done != nil && isClosed(done):
			return errStopped
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func isClosed(done chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// GPUDevices implements launcherapi.GPULauncher.
func (l *llamaLauncher) GPUDevices() []int { return append([]int(nil), l.cfg.GPU.Devices...) }

// EnergyLedger implements launcherapi.GPULauncher.
func (l *llamaLauncher) EnergyLedger() launcherapi.EnergyLedger { return l.energy }

// SubscribeLogs implements launcherapi.Launcher.
func (l *llamaLauncher) SubscribeLogs(fn func(launcherapi.LogRecord)) func() {
	l.subsMu.Lock()
	defer l.subsMu.Unlock()
	id := l.nextSub
	l.nextSub++
	l.subs[id] = fn
	return func() {
		l.subsMu.Lock()
		defer l.subsMu.Unlock()
		delete(l.subs, id)
	}
}
