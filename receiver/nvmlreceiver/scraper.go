package nvmlreceiver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
	// maxFailureLogs is how many failures of one query are logged per GPU.
	maxFailureLogs = 3
	// maxXIDsPerScrape bounds the XID events taken from NVML's queue per scrape.
	maxXIDsPerScrape = 256
	// maxXIDLogs is how many XID events are logged one by one per scrape.
	maxXIDLogs = 8
	// energyInterval is the shortest time between two reads of the energy counter:
	// nvmlDeviceGetTotalEnergyConsumption costs about 4 ms of CPU per call on an H200 (driver
	// 580), more than all the other queries of a scrape together. A counter loses nothing by
	// being read less often.
	energyInterval = 10 * time.Second
)

// Clock event reasons (nvmlClocksEventReasons in nvml.h), in the order of the throttle_reason enum.
var throttleReasons = []struct {
	bit  uint64
	attr metadata.AttributeNvidiaGpuClockThrottleReason
}{
	{0x1, metadata.AttributeNvidiaGpuClockThrottleReasonGpuIdle},
	{0x2, metadata.AttributeNvidiaGpuClockThrottleReasonApplicationsClocksSetting},
	{0x4, metadata.AttributeNvidiaGpuClockThrottleReasonSwPowerCap},
	{0x8, metadata.AttributeNvidiaGpuClockThrottleReasonHwSlowdown},
	{0x10, metadata.AttributeNvidiaGpuClockThrottleReasonSyncBoost},
	{0x20, metadata.AttributeNvidiaGpuClockThrottleReasonSwThermalSlowdown},
	{0x40, metadata.AttributeNvidiaGpuClockThrottleReasonHwThermalSlowdown},
	{0x80, metadata.AttributeNvidiaGpuClockThrottleReasonHwPowerBrakeSlowdown},
	{0x100, metadata.AttributeNvidiaGpuClockThrottleReasonDisplayClockSetting},
}

// degradingReasons are the clock event reasons that mean the hardware protects itself:
// SW thermal, HW slowdown, HW thermal and HW power brake slowdown.
const degradingReasons = 0x20 | 0x8 | 0x40 | 0x80

// A query is one NVML call (or group of calls) the scraper makes per GPU; it names the call in
// logs and keys the per-GPU bookkeeping of failures.
type query string

const (
	qSamples        query = "nvmlDeviceGetSamples"
	qRates          query = "nvmlDeviceGetUtilizationRates"
	qEncoder        query = "nvmlDeviceGetEncoderUtilization"
	qDecoder        query = "nvmlDeviceGetDecoderUtilization"
	qMemory         query = "nvmlDeviceGetMemoryInfo"
	qTemperature    query = "nvmlDeviceGetTemperature"
	qMemoryTemp     query = "nvmlDeviceGetFieldValues(NVML_FI_DEV_MEMORY_TEMP)"
	qPower          query = "nvmlDeviceGetPowerUsage"
	qEnergy         query = "nvmlDeviceGetTotalEnergyConsumption"
	qClockSM        query = "nvmlDeviceGetClockInfo(NVML_CLOCK_SM)"
	qClockMemory    query = "nvmlDeviceGetClockInfo(NVML_CLOCK_MEM)"
	qThrottle       query = "nvmlDeviceGetCurrentClocksEventReasons"
	qFan            query = "nvmlDeviceGetFanSpeed"
	qPState         query = "nvmlDeviceGetPerformanceState"
	qPCIeCounters   query = "nvmlDeviceGetFieldValues(NVML_FI_DEV_PCIE_COUNT_*_BYTES)"
	qPCIeThroughput query = "nvmlDeviceGetPcieThroughput"
	qECCCorrected   query = "nvmlDeviceGetTotalEccErrors(corrected)"
	qECCUncorrected query = "nvmlDeviceGetTotalEccErrors(uncorrected)"
	qProcesses      query = "nvmlDeviceGetComputeRunningProcesses"
	qProcessUtil    query = "nvmlDeviceGetProcessUtilization"
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
	launcher launcherapi.Launcher

	// The launcher's energy ledger, when its GPUs are read here (meter.go).
	metered     []*gpuState
	detachMeter func()
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
	if s.cfg.Launcher != nil {
		l, err := launcherapi.Find(host, *s.cfg.Launcher)
		if err != nil {
			return err
		}
		s.launcher = l
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
	s.metered, s.detachMeter = s.attachMeter()

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

// discover opens the selected GPUs, and the MIG devices of those in MIG mode, and reads their
// identity. A MIG device selected by UUID is read alone, without its GPU.
func (s *nvmlScraper) discover(lib gpuLibrary) (gpus []*gpuState, skipped []error) {
	driver, err := lib.DriverVersion()
	if err != nil {
		s.logger.Debug("driver version unknown", zap.Error(err))
	}
	cuda := ""
	if v, err := lib.CUDADriverVersion(); err == nil {
		cuda = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	} else {
		s.logger.Debug("CUDA driver version unknown", zap.Error(err))
	}

	selected := s.cfg.Devices
	if len(selected) == 0 {
		n, err := lib.DeviceCount()
		if err != nil {
			return nil, []error{err}
		}
		for i := range n {
			selected = append(selected, strconv.Itoa(i))
		}
	}
	seen := map[string]bool{}
	add := func(g *gpuState) bool {
		if seen[g.uuid] {
			return false
		}
		seen[g.uuid] = true
		gpus = append(gpus, g)
		return true
	}
	for _, sel := range selected {
		var dev device
		var err error
		if i, convErr := strconv.Atoi(sel); convErr == nil {
			dev, err = lib.DeviceByIndex(i)
		} else {
			dev, err = lib.DeviceByUUID(sel)
		}
		if err != nil {
			skipped = append(skipped, fmt.Errorf("GPU %s: %w", sel, err))
			continue
		}
		g, err := s.identify(dev, sel, driver, cuda, nil)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("GPU %s: %w", sel, err))
			continue
		}
		if !add(g) || g.mig {
			continue
		}
		migs, errs := s.migDevices(g, driver, cuda)
		skipped = append(skipped, errs...)
		for _, m := range migs {
			add(m)
		}
	}
	return gpus, skipped
}

// migDevices opens the MIG devices of g when its MIG mode is enabled.
func (s *nvmlScraper) migDevices(g *gpuState, driver, cuda string) (migs []*gpuState, skipped []error) {
	on, err := g.dev.MIGEnabled()
	switch {
	case errors.Is(err, ErrNotSupported), errors.Is(err, ErrFunctionNotFound):
		return nil, nil // a GPU without MIG, or a driver older than MIG
	case err != nil:
		return nil, []error{fmt.Errorf("MIG devices of GPU %s: %w", g.name, err)}
	case !on:
		return nil, nil
	}
	g.migEnabled = true
	devs, err := g.dev.MIGDevices()
	if err != nil {
		skipped = append(skipped, fmt.Errorf("MIG devices of GPU %s: %w", g.name, err))
	}
	for _, d := range devs {
		m, err := s.identify(d, "", driver, cuda, g)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("a MIG device of GPU %s: %w", g.name, err))
			continue
		}
		migs = append(migs, m)
	}
	if len(devs) == 0 && err == nil {
		s.logger.Debug("GPU in MIG mode has no MIG device (no compute instance)", zap.String("gpu", g.name), zap.String("uuid", g.uuid))
	}
	return migs, skipped
}

// identify reads the identity of a GPU or MIG device (the UUID is required) and builds its
// resource. parent is the GPU a MIG device was found under, nil when it was selected itself.
func (s *nvmlScraper) identify(dev device, sel, driver, cuda string, parent *gpuState) (*gpuState, error) {
	uuid, err := dev.UUID()
	if err != nil {
		return nil, err
	}
	g := &gpuState{dev: dev, uuid: uuid, index: -1, name: uuid, unsupported: map[query]bool{}, failures: map[query]int{}}
	rb := s.mb.NewResourceBuilder()
	mig, err := dev.MIGInfo()
	if err != nil {
		s.logger.Debug("MIG identity incomplete", zap.String("uuid", uuid), zap.Error(err))
	}
	// A MIG device whose MIG identity NVML did not give is still known by its UUID.
	if mig.IsMIG || (err != nil && strings.HasPrefix(uuid, "MIG-")) {
		g.mig = true
		s.identifyMIG(g, rb, mig, parent)
	} else {
		if g.index, err = dev.Index(); err != nil {
			// Use the index the config gave, if any.
			if g.index, err = strconv.Atoi(sel); err != nil {
				g.index = -1
			}
		}
		if g.index >= 0 {
			g.name = "gpu" + strconv.Itoa(g.index)
			rb.SetHwGpuIndex(int64(g.index))
		}
	}
	name, err := dev.Name()
	if err != nil {
		s.logger.Debug("GPU name unknown", zap.String("uuid", uuid), zap.Error(err))
	}
	bus, err := dev.PCIBusID()
	if err != nil {
		s.logger.Debug("GPU PCI bus id unknown", zap.String("uuid", uuid), zap.Error(err))
	}
	rb.SetHwID(uuid)
	rb.SetHwName(g.name)
	rb.SetHwType("gpu")
	rb.SetHwVendor("NVIDIA")
	if name != "" {
		rb.SetHwModel(name)
	}
	if bus != "" {
		rb.SetHwGpuPciBusID(bus)
	}
	if driver != "" {
		rb.SetNvidiaDriverVersion(driver)
	}
	if cuda != "" {
		rb.SetNvidiaCudaDriverVersion(cuda)
	}
	g.resource = rb.Emit()
	return g, nil
}

// identifyMIG names a MIG device after its GPU (gpu0/mig1, as nvidia-smi numbers MIG devices)
// and links it to the GPU with hw.parent, the semantic conventions' attribute for the hw.id of
// the component a component is part of.
func (s *nvmlScraper) identifyMIG(g *gpuState, rb *metadata.ResourceBuilder, mig migInfo, parent *gpuState) {
	parentUUID, parentIndex := "", -1
	switch {
	case parent != nil:
		parentUUID, parentIndex = parent.uuid, parent.index
	case mig.Parent != nil: // selected by its UUID
		var err error
		if parentUUID, err = mig.Parent.UUID(); err != nil {
			s.logger.Debug("UUID of a MIG device's GPU unknown", zap.String("uuid", g.uuid), zap.Error(err))
		}
		if parentIndex, err = mig.Parent.Index(); err != nil {
			parentIndex = -1
			s.logger.Debug("index of a MIG device's GPU unknown", zap.String("uuid", g.uuid), zap.Error(err))
		}
	}
	if parentIndex >= 0 && mig.Index >= 0 {
		g.name = fmt.Sprintf("gpu%d/mig%d", parentIndex, mig.Index)
	}
	if parentUUID != "" {
		rb.SetHwParent(parentUUID)
	}
	if mig.GPUInstanceID >= 0 {
		rb.SetNvidiaGpuMigGpuInstanceID(int64(mig.GPUInstanceID))
	}
	if mig.ComputeInstanceID >= 0 {
		rb.SetNvidiaGpuMigComputeInstanceID(int64(mig.ComputeInstanceID))
	}
}

// watchXIDs registers for critical XID events when hw.errors is wanted.
func (s *nvmlScraper) watchXIDs() {
	if !s.cfg.Metrics.HwErrors.Enabled {
		return
	}
	// NVML reports events per GPU, not per MIG device: a MIG device's XIDs count on its GPU.
	var devs []device
	for _, g := range s.gpus {
		if !g.mig {
			devs = append(devs, g.dev)
		}
	}
	if len(devs) == 0 {
		return
	}
	x, err := s.lib.WatchXIDs(devs)
	if err != nil {
		s.logger.Debug("XID events cannot be watched; hw.errors has no error.type=xid", zap.Error(err))
		return
	}
	s.xids = x
	for _, g := range s.gpus {
		g.xidWatched = !g.mig
	}
}

func (s *nvmlScraper) shutdown(context.Context) error {
	if s.lib == nil {
		return nil
	}
	if s.detachMeter != nil { // before NVML goes: the ledger's goroutine reads the devices
		s.detachMeter()
		s.detachMeter, s.metered = nil, nil
	}
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
	launcherPID := 0
	if s.launcher != nil {
		launcherPID = s.launcher.PID()
	}
	s.observeEnergy(now)
	for _, g := range s.gpus {
		s.scrapeGPU(g, now, ts, launcherPID)
		s.recordEnergyAttribution(g, ts)
		s.mb.EmitForResource(metadata.WithResource(g.resource))
	}
	s.proc.forget()
	return s.mb.Emit(), nil
}

func (s *nvmlScraper) scrapeGPU(g *gpuState, now time.Time, ts pcommon.Timestamp, launcherPID int) {
	m := &s.cfg.Metrics
	g.lost = false
	if m.HwGpuUtilization.Enabled {
		s.recordUtilization(g, ts)
	}
	if m.HwGpuMemoryUsage.Enabled || m.HwGpuMemoryLimit.Enabled || m.HwGpuMemoryUtilization.Enabled {
		s.recordMemory(g, ts)
	}
	// A GPU in MIG mode gives its processes' aggregate to privileged users only; they are read on
	// its MIG devices instead, which also keeps them from being counted twice.
	if (m.NvidiaGpuProcessMemoryUsage.Enabled || m.NvidiaGpuProcessUtilization.Enabled) && !g.migEnabled {
		s.recordProcesses(g, ts, launcherPID)
	}
	if !g.mig {
		s.scrapeBoard(g, now, ts)
	}
}

// scrapeBoard records what a GPU and its MIG devices share: sensors, power, clocks, PCIe link,
// ECC memory, XIDs and health. It comes last, so that hw.status sees a GPU lost during any query.
func (s *nvmlScraper) scrapeBoard(g *gpuState, now time.Time, ts pcommon.Timestamp) {
	m := &s.cfg.Metrics
	if m.HwTemperature.Enabled {
		if v, ok := readValue(s, g, qTemperature, g.dev.Temperature); ok {
			s.mb.RecordHwTemperatureDataPoint(ts, float64(v), metadata.AttributeHwSensorLocationGpu)
		}
		if v, ok := readValue(s, g, qMemoryTemp, g.dev.MemoryTemperature); ok {
			s.mb.RecordHwTemperatureDataPoint(ts, float64(v), metadata.AttributeHwSensorLocationMemory)
		}
	}
	if m.HwPower.Enabled {
		if v, ok := readValue(s, g, qPower, g.dev.PowerUsage); ok {
			s.mb.RecordHwPowerDataPoint(ts, float64(v)/1e3)
		}
	}
	// Half an interval of slack, so that scrapes every energyInterval, a little early, still read.
	if m.HwEnergy.Enabled && (g.energyRead.IsZero() || now.Sub(g.energyRead) >= energyInterval-s.cfg.CollectionInterval/2) {
		g.energyRead = now
		if v, ok := readValue(s, g, qEnergy, g.dev.TotalEnergy); ok {
			s.mb.RecordHwEnergyDataPoint(ts, float64(v)/1e3)
			g.energyMJ, g.energyAt = v, now
		}
	}
	if m.NvidiaGpuClockFrequency.Enabled {
		if v, ok := readValue(s, g, qClockSM, func() (uint32, error) { return g.dev.ClockMHz(clockSM) }); ok {
			s.mb.RecordNvidiaGpuClockFrequencyDataPoint(ts, int64(v)*1e6, metadata.AttributeNvidiaGpuClockDomainSm)
		}
		if v, ok := readValue(s, g, qClockMemory, func() (uint32, error) { return g.dev.ClockMHz(clockMemory) }); ok {
			s.mb.RecordNvidiaGpuClockFrequencyDataPoint(ts, int64(v)*1e6, metadata.AttributeNvidiaGpuClockDomainMemory)
		}
	}
	var reasons uint64
	if m.NvidiaGpuClockThrottled.Enabled || m.HwStatus.Enabled {
		var ok bool
		if reasons, ok = readValue(s, g, qThrottle, g.dev.ClockEventReasons); ok && m.NvidiaGpuClockThrottled.Enabled {
			for _, r := range throttleReasons {
				s.mb.RecordNvidiaGpuClockThrottledDataPoint(ts, boolInt(reasons&r.bit != 0), r.attr)
			}
		}
	}
	if m.NvidiaGpuFanSpeedRatio.Enabled {
		if v, ok := readValue(s, g, qFan, g.dev.FanSpeed); ok {
			s.mb.RecordNvidiaGpuFanSpeedRatioDataPoint(ts, float64(v)/100)
		}
	}
	if m.NvidiaGpuPerformanceState.Enabled {
		if v, ok := readValue(s, g, qPState, g.dev.PerformanceState); ok {
			s.mb.RecordNvidiaGpuPerformanceStateDataPoint(ts, int64(v))
		}
	}
	if m.HwGpuIo.Enabled {
		s.recordPCIe(g, now, ts)
	}
	var uncorrected uint64
	if m.HwErrors.Enabled || m.HwStatus.Enabled {
		uncorrected = s.recordErrors(g, ts, m.HwErrors.Enabled)
	}
	if m.HwStatus.Enabled {
		state := metadata.AttributeHwStateOk
		switch {
		case g.lost:
			state = metadata.AttributeHwStateFailed
		case uncorrected > 0 || reasons&degradingReasons != 0:
			state = metadata.AttributeHwStateDegraded
		}
		for _, st := range []metadata.AttributeHwState{metadata.AttributeHwStateOk, metadata.AttributeHwStateDegraded, metadata.AttributeHwStateFailed} {
			s.mb.RecordHwStatusDataPoint(ts, boolInt(st == state), st)
		}
	}
}

// recordUtilization records general, encoder and decoder utilization.
func (s *nvmlScraper) recordUtilization(g *gpuState, ts pcommon.Timestamp) {
	if v, ok := s.generalUtilization(g); ok {
		s.mb.RecordHwGpuUtilizationDataPoint(ts, v/100, metadata.AttributeHwGpuTaskGeneral)
	}
	if v, ok := readValue(s, g, qEncoder, g.dev.EncoderUtilization); ok {
		s.mb.RecordHwGpuUtilizationDataPoint(ts, float64(v)/100, metadata.AttributeHwGpuTaskEncoder)
	}
	if v, ok := readValue(s, g, qDecoder, g.dev.DecoderUtilization); ok {
		s.mb.RecordHwGpuUtilizationDataPoint(ts, float64(v)/100, metadata.AttributeHwGpuTaskDecoder)
	}
}

// generalUtilization is the average of the driver's utilization samples since the previous
// scrape (percent), falling back to nvmlDeviceGetUtilizationRates when there is none.
func (s *nvmlScraper) generalUtilization(g *gpuState) (float64, bool) {
	if !g.unsupported[qSamples] {
		samples, err := g.dev.UtilizationSamples(g.lastSample)
		if err == nil {
			if v, ok := g.averageNewSamples(samples, s.cfg.CollectionInterval); ok {
				return v, true
			}
		} else if !errors.Is(err, ErrNotFound) { // NOT_FOUND: no sample since lastSample
			s.failed(g, qSamples, err)
		}
	}
	if g.unsupported[qRates] {
		return 0, false
	}
	gpu, _, err := g.dev.UtilizationRates()
	if err != nil {
		s.failed(g, qRates, err)
		return 0, false
	}
	return float64(gpu), true
}

// averageNewSamples averages the samples newer than the last one used. The first time, when
// the driver returns everything it keeps (up to minutes), only the last interval counts.
func (g *gpuState) averageNewSamples(samples []utilizationSample, interval time.Duration) (float64, bool) {
	var newest uint64
	for _, smp := range samples {
		newest = max(newest, smp.Timestamp)
	}
	after := g.lastSample
	if after == 0 && newest > uint64(interval.Microseconds()) {
		after = newest - uint64(interval.Microseconds())
	}
	var sum float64
	var n int
	for _, smp := range samples {
		if smp.Timestamp > after {
			sum += smp.Percent
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	g.lastSample = newest
	return sum / float64(n), true
}

func (s *nvmlScraper) recordMemory(g *gpuState, ts pcommon.Timestamp) {
	if g.unsupported[qMemory] {
		return
	}
	mem, err := g.dev.Memory()
	if err != nil {
		s.failed(g, qMemory, err)
		return
	}
	s.mb.RecordHwGpuMemoryUsageDataPoint(ts, int64(mem.Used))
	s.mb.RecordHwGpuMemoryLimitDataPoint(ts, int64(mem.Total))
	if mem.Total > 0 {
		s.mb.RecordHwGpuMemoryUtilizationDataPoint(ts, float64(mem.Used)/float64(mem.Total))
	}
}

// recordErrors records the ECC and XID counts and returns the uncorrected ECC count.
func (s *nvmlScraper) recordErrors(g *gpuState, ts pcommon.Timestamp, record bool) uint64 {
	if record {
		if v, ok := readValue(s, g, qECCCorrected, func() (uint64, error) { return g.dev.ECCErrors(true) }); ok {
			s.mb.RecordHwErrorsDataPoint(ts, int64(v), metadata.AttributeErrorTypeCorrected)
		}
	}
	uncorrected, ok := readValue(s, g, qECCUncorrected, func() (uint64, error) { return g.dev.ECCErrors(false) })
	if ok && record {
		s.mb.RecordHwErrorsDataPoint(ts, int64(uncorrected), metadata.AttributeErrorTypeUncorrected)
	}
	if g.xidWatched && record {
		s.mb.RecordHwErrorsDataPoint(ts, g.xids, metadata.AttributeErrorTypeXid)
	}
	return uncorrected
}

// recordProcesses records the GPU memory and the utilization of each process. The list of compute
// processes is read for either metric: the utilization reports 0 for a listed process without a
// sample.
func (s *nvmlScraper) recordProcesses(g *gpuState, ts pcommon.Timestamp, launcherPID int) {
	m := &s.cfg.Metrics
	procs, _ := readValue(s, g, qProcesses, g.dev.ComputeProcesses)
	type procAttrs struct {
		name  string
		child bool
	}
	known := map[uint32]procAttrs{}
	attrs := func(pid uint32) procAttrs {
		a, ok := known[pid]
		if !ok {
			a = procAttrs{s.proc.name(pid), s.proc.descendsFrom(pid, launcherPID)}
			known[pid] = a
		}
		return a
	}
	if m.NvidiaGpuProcessMemoryUsage.Enabled {
		for _, p := range procs {
			if !p.MemoryOK {
				continue
			}
			a := attrs(p.PID)
			s.mb.RecordNvidiaGpuProcessMemoryUsageDataPoint(ts, int64(p.UsedMemory), int64(p.PID), a.name, a.child)
		}
	}
	if !m.NvidiaGpuProcessUtilization.Enabled {
		return
	}
	usage, ok := s.processUtilization(g)
	if !ok {
		return
	}
	// The listed processes first, in NVML's order, then those with samples only (a process that
	// ended since, or one with a graphics context only), by PID.
	pids := make([]uint32, 0, len(procs)+len(usage))
	listed := make(map[uint32]bool, len(procs))
	for _, p := range procs {
		if !listed[p.PID] {
			listed[p.PID] = true
			pids = append(pids, p.PID)
		}
	}
	for _, pid := range slices.Sorted(maps.Keys(usage)) {
		if !listed[pid] {
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		u := usage[pid] // zero for a listed process without a sample: it was idle
		a := attrs(pid)
		s.mb.RecordNvidiaGpuProcessUtilizationDataPoint(ts, u.sm/100, int64(pid), a.name, a.child, metadata.AttributeHwGpuTaskGeneral)
		s.mb.RecordNvidiaGpuProcessUtilizationDataPoint(ts, u.encoder/100, int64(pid), a.name, a.child, metadata.AttributeHwGpuTaskEncoder)
		s.mb.RecordNvidiaGpuProcessUtilizationDataPoint(ts, u.decoder/100, int64(pid), a.name, a.child, metadata.AttributeHwGpuTaskDecoder)
	}
}

// processUsage is a process's mean utilization (percent) over its samples in an interval.
type processUsage struct {
	sm, encoder, decoder float64
}

// processUtilization returns each process's mean utilization over the samples the driver took
// since the previous scrape; ok is false when there is nothing to report. The first query only
// notes the newest timestamp: with 0 the driver returns its whole buffer, which reaches back
// further than one interval, and a process idle since would be reported busy.
func (s *nvmlScraper) processUtilization(g *gpuState) (usage map[uint32]processUsage, ok bool) {
	if g.unsupported[qProcessUtil] {
		return nil, false
	}
	samples, err := g.dev.ProcessUtilization(g.lastProcSample)
	if err != nil && !errors.Is(err, ErrNotFound) { // NOT_FOUND: no sample since lastProcSample
		s.failed(g, qProcessUtil, err)
		return nil, false
	}
	after, primed := g.lastProcSample, g.procPrimed
	g.procPrimed = true
	for _, smp := range samples {
		g.lastProcSample = max(g.lastProcSample, smp.Timestamp)
	}
	if !primed {
		return nil, false
	}
	return averageProcessSamples(samples, after), true
}

// averageProcessSamples averages each PID's samples newer than after (NVML returns only those;
// older ones are dropped all the same).
func averageProcessSamples(samples []processUtilizationSample, after uint64) map[uint32]processUsage {
	type acc struct {
		sum processUsage
		n   int
	}
	accs := map[uint32]*acc{}
	for _, smp := range samples {
		if smp.Timestamp <= after {
			continue
		}
		a := accs[smp.PID]
		if a == nil {
			a = &acc{}
			accs[smp.PID] = a
		}
		a.sum.sm += float64(smp.SM)
		a.sum.encoder += float64(smp.Encoder)
		a.sum.decoder += float64(smp.Decoder)
		a.n++
	}
	out := make(map[uint32]processUsage, len(accs))
	for pid, a := range accs {
		n := float64(a.n)
		out[pid] = processUsage{sm: a.sum.sm / n, encoder: a.sum.encoder / n, decoder: a.sum.decoder / n}
	}
	return out
}

// pcieState follows how hw.gpu.io is measured on one GPU. The driver's byte counters (fields
// 197/198) are preferred, but some GPUs report 0 in them (an H200 with driver 580 did, with
// traffic on the bus); while they read 0, the throughput is integrated, and once the
// throughput shows traffic the counters are no longer trusted.
type pcieState struct {
	mode   pcieMode
	last   time.Time
	tx, rx float64 // integrated bytes
}

type pcieMode int

const (
	pcieUndecided pcieMode = iota
	pcieCounters
	pcieIntegrated
)

func (s *nvmlScraper) recordPCIe(g *gpuState, now time.Time, ts pcommon.Timestamp) {
	p := &g.pcie
	var counterTx, counterRx uint64
	countersOK := false
	if p.mode != pcieIntegrated && !g.unsupported[qPCIeCounters] {
		tx, rx, err := g.dev.PCIeCounters()
		if err != nil {
			s.failed(g, qPCIeCounters, err)
		} else {
			counterTx, counterRx, countersOK = tx, rx, true
			if tx != 0 || rx != 0 {
				p.mode = pcieCounters
			}
		}
	}
	if p.mode == pcieCounters {
		if countersOK {
			s.mb.RecordHwGpuIoDataPoint(ts, int64(counterTx), metadata.AttributeNetworkIoDirectionTransmit)
			s.mb.RecordHwGpuIoDataPoint(ts, int64(counterRx), metadata.AttributeNetworkIoDirectionReceive)
		}
		return
	}
	if g.unsupported[qPCIeThroughput] {
		return
	}
	tx, rx, err := g.dev.PCIeThroughput()
	if err != nil {
		s.failed(g, qPCIeThroughput, err)
		return
	}
	if tx != 0 || rx != 0 {
		p.mode = pcieIntegrated
	}
	if !p.last.IsZero() {
		// NVML's KB/s are KiB/s.
		dt := now.Sub(p.last).Seconds()
		p.tx += float64(tx) * 1024 * dt
		p.rx += float64(rx) * 1024 * dt
	}
	p.last = now
	s.mb.RecordHwGpuIoDataPoint(ts, int64(p.tx), metadata.AttributeNetworkIoDirectionTransmit)
	s.mb.RecordHwGpuIoDataPoint(ts, int64(p.rx), metadata.AttributeNetworkIoDirectionReceive)
}

// pollXIDs counts the XID events queued since the previous scrape.
func (s *nvmlScraper) pollXIDs() {
	if s.xids == nil {
		return
	}
	events, err := s.xids.Poll(maxXIDsPerScrape)
	if err != nil {
		s.xidFails++
		if s.xidFails <= maxFailureLogs {
			s.logger.Warn("reading XID events failed", zap.Error(err), zap.Bool("further_failures_logged", s.xidFails < maxFailureLogs))
		}
	}
	for i, e := range events {
		for _, g := range s.gpus {
			if g.uuid == e.DeviceUUID {
				g.xids++
			}
		}
		if i < maxXIDLogs {
			s.logger.Warn("GPU reported a critical XID error", zap.Uint64("xid", e.XID), zap.String("uuid", e.DeviceUUID))
		}
	}
	if len(events) > maxXIDLogs {
		s.logger.Warn("more XID errors were reported", zap.Int("count", len(events)-maxXIDLogs))
	}
}

// readValue runs query q on g unless it is known to be unsupported, and notes a failure.
func readValue[T any](s *nvmlScraper, g *gpuState, q query, read func() (T, error)) (T, bool) {
	var zero T
	if g.unsupported[q] {
		return zero, false
	}
	v, err := read()
	if err != nil {
		s.failed(g, q, err)
		return zero, false
	}
	return v, true
}

// failed notes that query q failed on g: NOT_SUPPORTED (or a function the driver lacks)
// disables it for good with one debug line; ErrNotFound (no value this time) is silent; other
// errors are logged the first maxFailureLogs times.
func (s *nvmlScraper) failed(g *gpuState, q query, err error) {
	switch {
	case errors.Is(err, ErrNotSupported), errors.Is(err, ErrFunctionNotFound):
		g.unsupported[q] = true
		s.logger.Debug("not supported by this GPU or driver; not queried again",
			zap.String("query", string(q)), zap.String("gpu", g.name), zap.String("uuid", g.uuid), zap.Error(err))
		return
	case errors.Is(err, ErrNotFound):
		return
	case errors.Is(err, ErrGPULost):
		g.lost = true
	}
	g.failures[q]++
	if n := g.failures[q]; n <= maxFailureLogs {
		s.logger.Warn("reading a GPU metric failed", zap.String("query", string(q)), zap.String("gpu", g.name),
			zap.String("uuid", g.uuid), zap.Error(err), zap.Bool("further_failures_logged", n < maxFailureLogs))
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
