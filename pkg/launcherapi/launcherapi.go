// Package launcherapi is the contract between the llamalauncher extension and the components
// that use the llama-server it runs (the llamacpp and nvml receivers, the genaienrich
// processor). It is a package of its own so that a component depends on the contract, not on
// the launcher's implementation.
//
// A component names the launcher in its config (`launcher: llamalauncher`, a component.ID) and
// finds it in Start with Find:
//
//	l, err := launcherapi.Find(host, cfg.Launcher)
//	if err != nil {
//		return err
//	}
//	if err := l.WaitReady(ctx); err != nil { ... }
//	url := l.BaseURL()
package launcherapi // import "github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
	"github.com/llamatelemetry/otelcol-llt/pkg/llamalog"
)

// State is where the launcher's llama-server is in its life.
type State int

const (
	// StateStopped: not started yet, or stopped by Shutdown.
	StateStopped State = iota
	// StateStarting: the process runs and its /health does not answer 200 yet (model loading).
	StateStarting
	// StateReady: /health answered 200; requests can be sent to BaseURL.
	StateReady
	// StateRestarting: the process exited unexpectedly and a restart is scheduled.
	StateRestarting
	// StateFailed: the launcher gave up (max_restarts reached, or the executable cannot run).
	StateFailed
)

// String returns the state's lower-case name.
func (s State) String() string {
	switch s {
	case StateStopped:
		return "stopped"
	case StateStarting:
		return "starting"
	case StateReady:
		return "ready"
	case StateRestarting:
		return "restarting"
	case StateFailed:
		return "failed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Model describes the served model.
type Model struct {
	// Path is the GGUF file given to llama-server.
	Path string
	// Alias is the name llama-server serves the model as (`--alias`; `model` in OpenAI responses).
	Alias string
	// Facts are read from the GGUF header when the launcher starts.
	Facts gguf.ModelFacts
}

// LogRecord is one line that llama-server wrote, parsed.
type LogRecord struct {
	llamalog.Record
	// PID is the process that wrote the line (it changes across restarts).
	PID int
	// Stream is "stdout" or "stderr".
	Stream string
	// Time is when the launcher read the line.
	Time int64 // Unix nanoseconds
}

// Launcher is what the llamalauncher extension offers other components. All methods are safe
// for concurrent use.
type Launcher interface {
	// BaseURL is the server's URL, e.g. http://127.0.0.1:8080 (known once the port is chosen,
	// before the server is ready).
	BaseURL() string
	// APIKey is the key llama-server requires (Authorization: Bearer KEY), or "" when none.
	APIKey() string
	// PID is the process id of the current llama-server, or 0 when none runs.
	PID() int
	// Model describes the served model.
	Model() Model
	// State is the current state.
	State() State
	// WaitReady blocks until the state is StateReady, ctx ends, or the launcher fails or stops.
	WaitReady(ctx context.Context) error
	// SubscribeLogs calls fn for every line llama-server writes from now on, in order, from one
	// goroutine; fn must not block. The returned function unsubscribes.
	SubscribeLogs(fn func(LogRecord)) (unsubscribe func())
}

// Find returns the Launcher that host knows by id, with an error that names id when there is
// no such extension or it is not a launcher.
func Find(host component.Host, id component.ID) (Launcher, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("launcher %q: no such extension (add it under `extensions:` and to `service::extensions`)", id)
	}
	l, ok := ext.(Launcher)
	if !ok {
		return nil, fmt.Errorf("launcher %q: extension is a %q, not a llamalauncher", id, id.Type())
	}
	return l, nil
}
