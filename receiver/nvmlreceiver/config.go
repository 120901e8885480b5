// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver/internal/metadata"
)

// Config is the nvml receiver's configuration.
type Config struct {
	// ControllerConfig holds `collection_interval` (default 1s), `initial_delay` and `timeout`.
	scraperhelper.ControllerConfig `mapstructure:",squash"`
	// Launcher is the ID of a llamalauncher extension: the GPU memory of the llama-server it runs
	// (and of the processes that server starts) carries llamacpp.launcher.child=true and
	// llamacpp.launcher=<the ID>, across restarts. Optional; Launchers names several.
	Launcher *component.ID `mapstructure:"launcher"`
	// Launchers are the IDs of several llamalauncher extensions (one model per GPU, say): each
	// one's processes are marked as Launcher's are, with their own ID in llamacpp.launcher, and
	// each one's GPUs are metered for its own energy ledger. Not together with Launcher.
	Launchers []component.ID `mapstructure:"launchers"`
	// LibraryPath is the NVML library to load: an absolute path, or a file name for the dynamic
	// loader to search. Default "": libnvidia-ml.so.1 through the loader's search, then the usual
	// driver locations (/usr/lib/x86_64-linux-gnu, /usr/lib64, /usr/lib/aarch64-linux-gnu,
	// /usr/local/nvidia/lib64, /run/nvidia/driver/usr/lib/x86_64-linux-gnu).
	LibraryPath string `mapstructure:"library_path"`
	// Devices selects GPUs by NVML index ("0") or UUID ("GPU-…", or "MIG-…" for a MIG device).
	// Default []: every GPU.
	Devices []string `mapstructure:"devices"`

	metadata.MetricsBuilderConfig `mapstructure:",squash"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() component.Config {
	cc := scraperhelper.NewDefaultControllerConfig()
	cc.CollectionInterval = time.Second
	return &Config{
		ControllerConfig:     cc,
		MetricsBuilderConfig: metadata.NewDefaultMetricsBuilderConfig(),
	}
}

// Unmarshal reads the configuration, taking the numbers in `devices` ([0, 1]) as indexes.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if raw, ok := conf.Get("devices").([]any); ok {
		devices := make([]any, len(raw))
		for i, d := range raw {
			switch v := d.(type) {
			case int:
				devices[i] = strconv.Itoa(v)
			case int64:
				devices[i] = strconv.FormatInt(v, 10)
			case uint64:
				devices[i] = strconv.FormatUint(v, 10)
			default:
				devices[i] = d
			}
		}
		if err := conf.Merge(confmap.NewFromStringMap(map[string]any{"devices": devices})); err != nil {
			return err
		}
	}
	return conf.Unmarshal(cfg)
}

var (
	errLibraryPathRelative  = errors.New("`library_path` must be an absolute path or a bare file name such as libnvidia-ml.so.1")
	errLauncherAndLaunchers = errors.New("`launcher` and `launchers` are both set: list every launcher under `launchers`")
)

// launcherIDs are the launchers named by Launcher or Launchers, in their order.
func (cfg *Config) launcherIDs() []component.ID {
	if cfg.Launcher != nil {
		return []component.ID{*cfg.Launcher}
	}
	return cfg.Launchers
}

// Validate checks the receiver's configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if p := cfg.LibraryPath; p != "" && !strings.HasPrefix(p, "/") && strings.Contains(p, "/") {
		errs = append(errs, errLibraryPathRelative)
	}
	if cfg.Launcher != nil && len(cfg.Launchers) > 0 {
		errs = append(errs, errLauncherAndLaunchers)
	}
	seenLaunchers := make(map[component.ID]bool, len(cfg.Launchers))
	for _, id := range cfg.Launchers {
		if seenLaunchers[id] {
			errs = append(errs, fmt.Errorf("`launchers`: %q is listed twice", id))
		}
		seenLaunchers[id] = true
	}
	seen := make(map[string]bool, len(cfg.Devices))
	for _, d := range cfg.Devices {
		if !validDevice(d) {
			errs = append(errs, fmt.Errorf("`devices`: %q is neither a GPU index (0, 1, ...) nor a UUID starting with GPU- or MIG-", d))
			continue
		}
		if seen[d] {
			errs = append(errs, fmt.Errorf("`devices`: %q is listed twice", d))
		}
		seen[d] = true
	}
	return errors.Join(errs...)
}

// validDevice reports whether d is a non-negative integer or a GPU-/MIG- UUID.
func validDevice(d string) bool {
	if strings.HasPrefix(d, "GPU-") || strings.HasPrefix(d, "MIG-") {
		return len(d) > len("GPU-")
	}
	n, err := strconv.Atoi(d)
	return err == nil && n >= 0 && strconv.Itoa(n) == d
}
