// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"

	"github.com/llamatelemetry/otelcol-llt/launcher/internal/serverflags"
)

// Config is the llamalauncher configuration. Every field maps to a llama-server flag or to how
// the launcher supervises the process; there is no way to pass a raw command line.
type Config struct {
	// Executable is the llama-server to run: a name looked up on PATH or an absolute path.
	// Default: $LLAMA_SERVER when set, else "llama-server".
	Executable string `mapstructure:"executable"`
	// Model is the GGUF file to serve (--model). Required unless ModelsDir is set; it must exist
	// and start with the GGUF magic (checked at start).
	Model string `mapstructure:"model"`
	// Alias is the served model name (--alias). Default: general.name from the GGUF, else the
	// file name without its extension. Only with Model.
	Alias string `mapstructure:"alias"`
	// ModelsDir runs llama-server in router mode (--models-dir, instead of Model): it serves
	// every GGUF file of the folder under its file name without .gguf, each in a llama-server
	// child it starts when a request names the model. The folder must exist (checked at start).
	ModelsDir string `mapstructure:"models_dir"`
	// ModelsMax is how many models a router keeps loaded at once (--models-max); loading one
	// more unloads the least recently used. Default 0: llama-server's own default (4). Only with
	// ModelsDir.
	ModelsMax int `mapstructure:"models_max"`
	// Host is the address llama-server binds (--host). Default 127.0.0.1.
	Host string `mapstructure:"host"`
	// Port is the TCP port (--port). Default 8080; 0 picks a free port at every start.
	Port int `mapstructure:"port"`
	// ContextSize is the total context in tokens, shared by the slots (--ctx-size). Default 4096;
	// 0 takes the model's training context.
	ContextSize int `mapstructure:"context_size"`
	// Parallel is the number of slots, i.e. concurrent requests (--parallel). Default 4.
	Parallel int `mapstructure:"parallel"`
	// Threads is the number of CPU threads (--threads). Default 0: llama-server's choice.
	Threads int `mapstructure:"threads"`
	// GPU selects devices and offloading.
	GPU GPUConfig `mapstructure:"gpu"`
	// Embeddings enables /v1/embeddings (--embeddings). Default false.
	Embeddings bool `mapstructure:"embeddings"`
	// APIKey makes llama-server require `Authorization: Bearer <key>`. It is handed to the child
	// in its environment (LLAMA_API_KEY), never on the command line, and never logged.
	APIKey configopaque.String `mapstructure:"api_key"`
	// ExtraArgs are further llama-server flags, each checked against the allowlist of known
	// flags; flags the launcher sets itself are refused with the key to use instead.
	ExtraArgs []string `mapstructure:"extra_args"`
	// Env adds environment variables for the child. CUDA_VISIBLE_DEVICES, LLAMA_API_KEY and
	// LLAMA_ARG_* are refused: they would bypass the typed settings.
	Env map[string]string `mapstructure:"env"`
	// ReadyTimeout bounds the wait for /health to answer 200 after a start. Default 10m.
	ReadyTimeout time.Duration `mapstructure:"ready_timeout"`
	// Restart says how a crashed llama-server is restarted.
	Restart RestartConfig `mapstructure:"restart"`
	// HealthCheck says how a ready llama-server is watched for a hang.
	HealthCheck HealthCheckConfig `mapstructure:"health_check"`
	// ShutdownTimeout is how long to wait after SIGTERM before SIGKILL. Default 10s.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// LogLevel is the lowest llama-server severity written to the collector's own log at that
	// severity: debug | info | warn | error | none. Every other llama-server line is written at
	// debug, with its severity in the "severity" field. Default none: every line at debug, so
	// that at the collector's usual level its log carries only the launcher's own decisions
	// (started, ready, exited, restarting). Subscribers (the llamacpp receiver, which feeds the
	// logs pipeline) get every line whatever this says.
	LogLevel string `mapstructure:"log_level"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// GPUConfig selects the GPUs llama-server uses.
type GPUConfig struct {
	// Devices are the CUDA device indexes made visible to llama-server (CUDA_VISIBLE_DEVICES).
	// Default [0]; [] runs on the CPU only (no layers offloaded, no GPU visible).
	Devices []int `mapstructure:"devices"`
	// Layers is how many layers to offload (--n-gpu-layers): "all" (default) or a number.
	Layers string `mapstructure:"layers"`
	// MainGPU is the device, as an index into Devices, for the model with split_mode none and
	// for intermediate results (--main-gpu). Default 0.
	MainGPU int `mapstructure:"main_gpu"`
	// SplitMode is how a model spreads over several GPUs (--split-mode): none | layer | row.
	// Default layer.
	SplitMode string `mapstructure:"split_mode"`
	// TensorSplit is the share of the model per device, e.g. [0.5, 0.5] (--tensor-split).
	// Default []: proportional to free memory. When set it has one entry per device.
	TensorSplit []float64 `mapstructure:"tensor_split"`
	// FlashAttn is on | off | auto (--flash-attn). Default auto.
	FlashAttn string `mapstructure:"flash_attn"`
	// EnergyMaxWait is how long a period of GPU readings waits for the timelines of the
	// requests in it before its energy is split by time instead of by tokens (the energy ledger,
	// see README). Default 10s.
	EnergyMaxWait time.Duration `mapstructure:"energy_max_wait"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RestartConfig says how a crashed llama-server is restarted: exponential backoff from
// InitialInterval up to MaxInterval, reset after a minute of healthy running.
type RestartConfig struct {
	// Enabled restarts llama-server when it exits unexpectedly. Default true.
	Enabled bool `mapstructure:"enabled"`
	// InitialInterval is the first delay before a restart. Default 1s.
	InitialInterval time.Duration `mapstructure:"initial_interval"`
	// MaxInterval caps the delay. Default 30s.
	MaxInterval time.Duration `mapstructure:"max_interval"`
	// MaxRestarts is how many restarts in a row are tried before giving up (status
	// PermanentError). Default 0: unlimited.
	MaxRestarts int `mapstructure:"max_restarts"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// HealthCheckConfig says how a ready llama-server is watched: /health is probed every Interval,
// and a server that answers no probe for HungAfter (and, on Linux, used no CPU time meanwhile or
// is stopped) is hung: it is killed and restarted as after a crash.
type HealthCheckConfig struct {
	// Interval is the pause between two /health probes once the server is ready. Default 2s.
	Interval time.Duration `mapstructure:"interval"`
	// Timeout bounds one probe (and each poll while the model loads). Default 2s.
	Timeout time.Duration `mapstructure:"timeout"`
	// HungAfter is how long no probe may be answered before the server counts as hung.
	// Default 10s; 0 turns hang detection off.
	HungAfter time.Duration `mapstructure:"hung_after"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() *Config {
	return &Config{
		Host:        "127.0.0.1",
		Port:        8080,
		ContextSize: 4096,
		Parallel:    4,
		GPU: GPUConfig{
			Devices:   []int{0},
			Layers:    "all",
			SplitMode: "layer",
			FlashAttn: "auto",

			EnergyMaxWait: 10 * time.Second,
		},
		ReadyTimeout:    10 * time.Minute,
		Restart:         RestartConfig{Enabled: true, InitialInterval: time.Second, MaxInterval: 30 * time.Second},
		HealthCheck:     HealthCheckConfig{Interval: 2 * time.Second, Timeout: 2 * time.Second, HungAfter: 10 * time.Second},
		ShutdownTimeout: 10 * time.Second,
		LogLevel:        "none",
	}
}

var (
	errNoModel      = errors.New("`model` is required: the GGUF file to serve (or `models_dir`, a folder of them, for router mode)")
	errTwoModels    = errors.New("`model` and `models_dir` are mutually exclusive: one model, or a folder of them for router mode")
	errAliasRouter  = errors.New("`alias` is for `model`: in router mode (`models_dir`) each model is served under its file name")
	errModelsMax    = errors.New("`models_max` is for router mode: set `models_dir` too")
	errNoHost       = errors.New("`host` must not be empty")
	errReadyTimeout = errors.New("`ready_timeout` must be positive")
	errShutdown     = errors.New("`shutdown_timeout` must be positive")
)

var logLevels = map[string]bool{"debug": true, "info": true, "warn": true, "error": true, "none": true}

// Validate checks the configuration without touching the file system; the model file and
// the executable are checked when the extension starts.
func (cfg *Config) Validate() error {
	var errs []error
	model, dir := strings.TrimSpace(cfg.Model) != "", strings.TrimSpace(cfg.ModelsDir) != ""
	switch {
	case !model && !dir:
		errs = append(errs, errNoModel)
	case model && dir:
		errs = append(errs, errTwoModels)
	case dir && cfg.Alias != "":
		errs = append(errs, errAliasRouter)
	}
	if cfg.ModelsMax < 0 {
		errs = append(errs, fmt.Errorf("`models_max` must not be negative, got %d", cfg.ModelsMax))
	} else if cfg.ModelsMax > 0 && !dir {
		errs = append(errs, errModelsMax)
	}
	if cfg.Host == "" {
		errs = append(errs, errNoHost)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		errs = append(errs, fmt.Errorf("`port` must be between 0 and 65535, got %d", cfg.Port))
	}
	if cfg.ContextSize < 0 {
		errs = append(errs, fmt.Errorf("`context_size` must not be negative, got %d", cfg.ContextSize))
	}
	if cfg.Parallel < 1 {
		errs = append(errs, fmt.Errorf("`parallel` must be at least 1, got %d", cfg.Parallel))
	}
	if cfg.Threads < 0 {
		errs = append(errs, fmt.Errorf("`threads` must not be negative, got %d", cfg.Threads))
	}
	if cfg.ReadyTimeout <= 0 {
		errs = append(errs, errReadyTimeout)
	}
	if cfg.ShutdownTimeout <= 0 {
		errs = append(errs, errShutdown)
	}
	if !logLevels[cfg.LogLevel] {
		errs = append(errs, fmt.Errorf("`log_level` must be one of debug, info, warn, error, none; got %q", cfg.LogLevel))
	}
	if err := serverflags.Validate(cfg.ExtraArgs); err != nil {
		errs = append(errs, err)
	}
	for k, v := range cfg.Env {
		if err := validateEnv(k, v); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func validateEnv(k, v string) error {
	switch {
	case k == "" || strings.ContainsAny(k, "=\x00"):
		return fmt.Errorf("env: %q is not a valid variable name", k)
	case strings.ContainsRune(v, 0):
		return fmt.Errorf("env: %s: value contains a NUL byte", k)
	case k == "CUDA_VISIBLE_DEVICES":
		return errors.New("env: CUDA_VISIBLE_DEVICES is set by the launcher: use `gpu::devices`")
	case k == "CUDA_DEVICE_ORDER":
		return errors.New("env: CUDA_DEVICE_ORDER is set by the launcher (PCI_BUS_ID, so that `gpu::devices` are the indexes NVML and nvidia-smi show)")
	case k == "LLAMA_API_KEY":
		return errors.New("env: LLAMA_API_KEY is set by the launcher: use `api_key`")
	case strings.HasPrefix(k, "LLAMA_ARG_"):
		return fmt.Errorf("env: %s would bypass the launcher's checked settings: use the typed keys or `extra_args`", k)
	}
	return nil
}

// Validate checks the GPU settings.
func (g *GPUConfig) Validate() error {
	var errs []error
	seen := map[int]bool{}
	for _, d := range g.Devices {
		if d < 0 {
			errs = append(errs, fmt.Errorf("`devices` must be GPU indexes (0, 1, ...), got %d", d))
		}
		if seen[d] {
			errs = append(errs, fmt.Errorf("`devices` lists %d twice", d))
		}
		seen[d] = true
	}
	if _, err := g.layers(); err != nil {
		errs = append(errs, err)
	}
	if len(g.Devices) > 0 && (g.MainGPU < 0 || g.MainGPU >= len(g.Devices)) {
		errs = append(errs, fmt.Errorf("`main_gpu` is an index into `devices` (0..%d), got %d", len(g.Devices)-1, g.MainGPU))
	}
	switch g.SplitMode {
	case "none", "layer", "row":
	default:
		errs = append(errs, fmt.Errorf("`split_mode` must be none, layer or row; got %q", g.SplitMode))
	}
	switch g.FlashAttn {
	case "on", "off", "auto":
	default:
		errs = append(errs, fmt.Errorf("`flash_attn` must be on, off or auto; got %q", g.FlashAttn))
	}
	if len(g.TensorSplit) > 0 {
		if len(g.TensorSplit) != len(g.Devices) {
			errs = append(errs, fmt.Errorf("`tensor_split` needs one share per device: %d shares for %d devices", len(g.TensorSplit), len(g.Devices)))
		}
		sum := 0.0
		for _, s := range g.TensorSplit {
			if s < 0 {
				errs = append(errs, fmt.Errorf("`tensor_split` shares must not be negative, got %g", s))
			}
			sum += s
		}
		if sum <= 0 {
			errs = append(errs, errors.New("`tensor_split` shares must not all be zero"))
		}
	}
	if g.EnergyMaxWait <= 0 {
		errs = append(errs, fmt.Errorf("`energy_max_wait` must be positive, got %s", g.EnergyMaxWait))
	}
	return errors.Join(errs...)
}

// Unmarshal lets `layers` be written as a number (`layers: 40`) as well as "all": YAML gives
// an integer there, which the string field would otherwise refuse.
func (g *GPUConfig) Unmarshal(conf *confmap.Conf) error {
	switch v := conf.Get("layers").(type) {
	case int, int64, uint64, float64:
		m := conf.ToStringMap()
		m["layers"] = fmt.Sprint(v)
		conf = confmap.NewFromStringMap(m)
	}
	return conf.Unmarshal(g)
}

// allLayers is passed for "all": every llama.cpp build accepts a number, and it is clamped to
// the model's block count (newer builds also accept the word "all").
const allLayers = 999

// layers returns the --n-gpu-layers value.
func (g *GPUConfig) layers() (int, error) {
	if g.Layers == "" || g.Layers == "all" {
		return allLayers, nil
	}
	n, err := strconv.Atoi(g.Layers)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("`layers` must be \"all\" or a number of layers, got %q", g.Layers)
	}
	return n, nil
}

// Validate checks the restart settings.
func (r *RestartConfig) Validate() error {
	var errs []error
	if r.InitialInterval <= 0 {
		errs = append(errs, errors.New("`initial_interval` must be positive"))
	}
	if r.MaxInterval < r.InitialInterval {
		errs = append(errs, errors.New("`max_interval` must not be less than `initial_interval`"))
	}
	if r.MaxRestarts < 0 {
		errs = append(errs, fmt.Errorf("`max_restarts` must not be negative (0 = unlimited), got %d", r.MaxRestarts))
	}
	return errors.Join(errs...)
}

// Validate checks the health check settings.
func (h *HealthCheckConfig) Validate() error {
	var errs []error
	if h.Interval <= 0 {
		errs = append(errs, fmt.Errorf("`interval` must be positive, got %s", h.Interval))
	}
	if h.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("`timeout` must be positive, got %s", h.Timeout))
	}
	switch {
	case h.HungAfter < 0:
		errs = append(errs, fmt.Errorf("`hung_after` must not be negative (0 = no hang detection), got %s", h.HungAfter))
	case h.HungAfter > 0 && (h.HungAfter < h.Interval || h.HungAfter < h.Timeout):
		errs = append(errs, fmt.Errorf("`hung_after` (%s) must not be less than `interval` (%s) or `timeout` (%s): the server would count as hung before a probe could answer",
			h.HungAfter, h.Interval, h.Timeout))
	}
	return errors.Join(errs...)
}
