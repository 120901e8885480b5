// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

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
	"time"

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

// GPU is one GPU the launcher's llama-server runs on, named as the nvml receiver names it, so
// that a span can be joined to the GPU's metrics.
type GPU struct {
	// ID is hw.id: the GPU's UUID (GPU-…).
	ID string
	// Name is hw.name: gpu<index>, e.g. gpu0.
	Name string
	// Model is hw.model: the product name, e.g. NVIDIA H200.
	Model string
	// Index is the NVML index (hw.gpu.index).
	Index int
}

// GPUReading is one reading of a GPU's counters.
type GPUReading struct {
	// EnergyMJ is the energy the GPU consumed since the driver was loaded, in millijoules
	// (nvmlDeviceGetTotalEnergyConsumption).
	EnergyMJ uint64
	// Utilization is the share of time a kernel ran over the driver's last sample period, 0 to
	// 1 (nvmlDeviceGetUtilizationRates); negative when unknown.
	Utilization float64
}

// GPUMeter reads the GPUs a launcher's llama-server runs on. The nvml receiver provides one
// when its `launcher` names the launcher.
type GPUMeter interface {
	// GPUs are the GPUs read, in the order of Read's readings.
	GPUs() []GPU
	// Read reads every GPU once, now.
	Read() ([]GPUReading, error)
}

// Timeline is what a gateway knows of a finished request, for splitting the GPU's energy.
type Timeline struct {
	// End is when the answer ended, as the gateway saw it.
	End time.Time
	// PromptTokens and PromptDuration: the prompt tokens llama-server processed and how long
	// that took (timings prompt_n and prompt_ms).
	PromptTokens   int
	PromptDuration time.Duration
	// OutputTokens and OutputDuration: the tokens generated and how long that took (timings
	// predicted_n and predicted_ms).
	OutputTokens   int
	OutputDuration time.Duration
	// HasTimings says llama-server reported timings. Without them, the request's tokens (or 1
	// when it reported none) are spread over its whole time at the gateway.
	HasTimings bool
}

// RequestEnergy is the share of the GPUs' energy and time that went to one request.
type RequestEnergy struct {
	// Joules is the request's energy, summed over the GPUs.
	Joules float64
	// GPUSeconds is the request's GPU time (utilization × time), summed over the GPUs.
	GPUSeconds float64
	// ByTime reports that at least one period of the request was split by time in flight
	// rather than by tokens, because another request in it was still running max_wait later.
	ByTime bool
}

// GPUEnergyTotals is what one GPU consumed, split between the launcher's requests and idle.
type GPUEnergyTotals struct {
	GPU GPU
	// RequestJoules went to requests; IdleJoules to the time no request was being processed
	// (whatever else ran on the GPU then included).
	RequestJoules, IdleJoules float64
}

// EnergyLedger splits the energy of the launcher's GPUs among the requests a gateway forwards
// to its llama-server. The gateway reports each request (Begin, End, Complete) and reads the
// result (Result); the nvml receiver attaches the meter (AttachMeter) and may hand over the
// readings its scrapes take anyway (Observe). All methods are safe for concurrent use; with no
// meter attached, Begin returns 0 and the rest do nothing.
type EnergyLedger interface {
	// AttachMeter makes m the ledger's meter until detach is called.
	AttachMeter(m GPUMeter) (detach func())
	// GPUs are the meter's GPUs; nil without a meter.
	GPUs() []GPU
	// Observe hands over readings of the meter's GPUs taken at t.
	Observe(t time.Time, readings []GPUReading)
	// Begin registers a request the gateway starts forwarding at t and returns its id (0: no
	// meter, nothing is recorded).
	Begin(t time.Time) uint64
	// End says the request's answer ended at t; the ledger reads the GPUs soon after.
	End(id uint64, t time.Time)
	// Complete gives the request's timeline, once its answer is parsed.
	Complete(id uint64, tl Timeline)
	// Result returns the request's energy once final: ready is false while a period the request
	// ran in still waits for another request's timeline or for a reading; ok is false for an id
	// the ledger does not know (0, or forgotten). A final result is returned once and then
	// forgotten.
	Result(id uint64) (e RequestEnergy, ready, ok bool)
	// Totals are the energies split so far, per GPU.
	Totals() []GPUEnergyTotals
}

// GPULauncher is implemented by a launcher that runs llama-server on GPUs.
type GPULauncher interface {
	Launcher
	// GPUDevices are the NVML indexes of the GPUs llama-server may use (the launcher orders
	// CUDA devices by PCI bus id, as NVML does); empty on a CPU-only launcher.
	GPUDevices() []int
	// EnergyLedger is the launcher's ledger of GPU energy per request.
	EnergyLedger() EnergyLedger
}

// ErrorReporter is offered by launchers that say why their llama-server is not ready, so that a
// component can tell its users (the gateway says it to a request whose server stopped answering).
type ErrorReporter interface {
	// LastError is why the server is not ready now (it exited, hung, is being restarted, or the
	// launcher gave up), or nil while it is ready. A *HungError says it stopped answering.
	LastError() error
}

// HungError is the launcher's error when it killed its llama-server because the server had
// stopped answering (a hang: no /health answer for HungAfter).
type HungError struct {
	// PID is the killed process.
	PID int
	// Silent is how long it had answered no /health probe.
	Silent time.Duration
	// HungAfter is the launcher's health_check::hung_after.
	HungAfter time.Duration
	// Why says what else showed the hang, e.g. "it is stopped (state T)".
	Why string
	// LastProbe is the last probe's error.
	LastProbe error
}

func (e *HungError) Error() string {
	return fmt.Sprintf("llama-server (pid %d) hung: it answered no /health probe for %s and %s (last probe: %v)",
		e.PID, e.Silent.Round(100*time.Millisecond), e.Why, e.LastProbe)
}

// Unwrap returns the last probe's error.
func (e *HungError) Unwrap() error { return e.LastProbe }
