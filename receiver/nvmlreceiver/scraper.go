// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver/internal/metadata"
)

const (
	// energyInterval is the shortest time between two reads of the energy counter:
	// nvmlDeviceGetTotalEnergyConsumption costs about 4 ms of CPU per call on an H200 (driver
	// 580), more than all the other queries of a scrape together. A counter loses nothing by
	// being read less often.
	energyInterval = 10 * time.Second
)

// nvmlScraper reads every selected GPU once per scrape and emits one ResourceMetrics per GPU, and
// one per MIG device of a MIG-enabled GPU.
//
// How it treats failures:
//   - NVML cannot be used (no library, no driver, no permission, a build without cgo) or there
//     is no GPU: Start succeeds, ONE warning says why, and every scrape returns no metrics and no
//     error. After a failed Init, NVML is never called again.
//   - A query returns NOT_SUPPORTED (or the driver lacks the function): that metric is dropped
//     for that GPU from then on, with one debug line.
//   - Any other failure skips the value for that scrape; the first maxFailureLogs failures of
//     a query are logged per GPU. Scrapes never return an error, so that a GPU that misbehaves
//     does not fill the log through the scraper controller.
//
// All methods are called from one goroutine (the scraper controller's).
type nvmlScraper struct {
	cfg      *Config
	settings receiver.Settings
	logger   *zap.Logger
	mb       *metadata.MetricsBuilder

	// newLibrary returns the NVML client (go-nvml, or a fake in tests).
	newLibrary func(path string) gpuLibrary
	proc       *procFS
	now        func() time.Time

	lib      gpuLibrary // nil unless Init succeeded and at least one GPU is usable
	gpus     []*gpuState
	xids     xidSource
	xidFails int
	// launchers are the launchers named by `launcher` or `launchers`, in their order.
	launchers []namedLauncher

	// meters are the launchers' energy ledgers whose GPUs are read here (meter.go).
	meters []*ledgerMeter
}

// namedLauncher is a launcher with the ID the configuration names it by.
type namedLauncher struct {
	id string // component.ID.String(): the llamacpp.launcher attribute
	launcherapi.Launcher
}

// gpuState is what the scraper keeps about one GPU or MIG device.
type gpuState struct {
	dev      device
	uuid     string
	index    int    // NVML index; -1 for a MIG device or when unknown
	name     string // hw.name
	resource pcommon.Resource
	// mig is true for a MIG device. It shares its GPU's sensors, clocks, power, PCIe link and ECC
	// memory, which are reported on the GPU's resource only.
	mig bool
	// migEnabled is true for a GPU in MIG mode: its processes run in its MIG devices and are
	// reported there.
	migEnabled bool

	unsupported map[query]bool
	failures    map[query]int

	lastSample uint64    // driver timestamp (µs) of the newest utilization sample used
	energyRead time.Time // when the energy counter was last read
	energyMJ   uint64    // what it read then (mJ), once it succeeded
	energyAt   time.Time // when that was
	xidWatched bool
	xids       int64
	pcie       pcieState
	lost       bool // the driver said NVML_ERROR_GPU_IS_LOST during this scrape

	// lastProcSample is the driver timestamp (µs) of the newest process utilization sample seen,
	// once procPrimed says that the first query was made.
	lastProcSample uint64
	procPrimed     bool
}

func newScraper(cfg *Config, set receiver.Settings) *nvmlScraper {
	return &nvmlScraper{
		cfg:        cfg,
		settings:   set,
		logger:     set.Logger,
		newLibrary: newLibrary,
		proc:       newProcFS("/proc"),
		now:        time.Now,
	}
}

func (s *nvmlScraper) start(_ context.Context, host component.Host) error {
	s.mb = metadata.NewMetricsBuilder(s.cfg.MetricsBuilderConfig, s.settings)
	s.launchers = nil
	for _, id := range s.cfg.launcherIDs() {
		l, err := launcherapi.Find(host, id)
		if err != nil {
			return err
		}
		s.launchers = append(s.launchers, namedLauncher{id: id.String(), Launcher: l})
	}

	lib := s.newLibrary(s.cfg.LibraryPath)
	if err := lib.Init(); err != nil {
		s.logger.Warn("NVIDIA GPU metrics are off: NVML cannot be used; the receiver emits nothing",
			zap.Error(err), zap.String("hint", initHint(err)))
		return nil
	}
	gpus, skipped := s.discover(lib)
	if len(gpus) == 0 {
		fields := []zap.Field{zap.String("hint", "check `devices`, and that this user may open /dev/nvidia*")}
		if len(skipped) > 0 {
			fields = append(fields, zap.Error(errors.Join(skipped...)))
		}
		s.logger.Warn("NVIDIA GPU metrics are off: no usable GPU; the receiver emits nothing", fields...)
		if err := lib.Shutdown(); err != nil {
			s.logger.Debug("nvmlShutdown failed", zap.Error(err))
		}
		return nil
	}
	for _, err := range skipped {
		s.logger.Warn("GPU skipped", zap.Error(err))
	}
	s.lib, s.gpus = lib, gpus
	s.watchXIDs()
	s.attachMeters()

	names := make([]string, len(gpus))
	for i, g := range gpus {
		names[i] = g.name + ":" + g.uuid
	}
	s.logger.Info("reading NVIDIA GPUs through NVML", zap.Strings("gpus", names))
	return nil
}

// initHint says what to check for a failed Init.
func initHint(err error) string {
	switch {
	case errors.Is(err, ErrUnavailable):
		return "this collector was built without NVML support (cgo off or not linux): use a build with CGO_ENABLED=1"
	case errors.Is(err, ErrLibraryNotFound):
		return "no NVIDIA driver here, or libnvidia-ml.so.1 is installed where the loader does not look: set `library_path`"
	case errors.Is(err, ErrDriverNotLoaded):
		return "the NVIDIA kernel module is not loaded (does nvidia-smi work?)"
	case errors.Is(err, ErrNoPermission):
		return "this user may not open /dev/nvidia*"
	}
	return "does nvidia-smi work on this host?"
}

func (s *nvmlScraper) shutdown(context.Context) error {
	if s.lib == nil {
		return nil
	}
	for _, m := range s.meters { // before NVML goes: the ledgers' goroutines read the devices
		m.detach()
	}
	s.meters = nil
	if s.xids != nil {
		if err := s.xids.Close(); err != nil {
			s.logger.Debug("freeing the XID event set failed", zap.Error(err))
		}
		s.xids = nil
	}
	err := s.lib.Shutdown()
	s.lib, s.gpus = nil, nil
	if err != nil {
		s.logger.Debug("nvmlShutdown failed", zap.Error(err))
	}
	return nil
}

func (s *nvmlScraper) scrape(context.Context) (pmetric.Metrics, error) {
	if s.lib == nil {
		return pmetric.NewMetrics(), nil
	}
	now := s.now()
	ts := pcommon.NewTimestampFromTime(now)
	s.pollXIDs()
	servers := s.launcherPIDs()
	s.observeEnergy(now)
	totals := s.energyTotals()
	for _, g := range s.gpus {
		s.scrapeGPU(g, now, ts, servers)
		s.recordEnergyAttribution(g, ts, totals)
		s.mb.EmitForResource(metadata.WithResource(g.resource))
	}
	s.proc.forget()
	return s.mb.Emit(), nil
}

// launcherPIDs maps the PID of each launcher's llama-server, asked once per scrape (it changes
// at every restart), to the launcher's ID; a launcher without a running server is left out.
func (s *nvmlScraper) launcherPIDs() map[int]string {
	if len(s.launchers) == 0 {
		return nil
	}
	out := make(map[int]string, len(s.launchers))
	for _, l := range s.launchers {
		if pid := l.PID(); pid > 0 {
			out[pid] = l.id
		}
	}
	return out
}
