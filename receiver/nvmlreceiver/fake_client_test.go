package nvmlreceiver

import (
	"fmt"
	"sync"
)

// fakeLibrary is a gpuLibrary that behaves as the NVML API Reference documents
// (https://docs.nvidia.com/deploy/nvml-api/), with the return codes mapped to the client's
// errors:
//   - nvmlInit_v2 returns NVML_ERROR_LIBRARY_NOT_FOUND (go-nvml, when dlopen fails),
//     NVML_ERROR_DRIVER_NOT_LOADED or NVML_ERROR_NO_PERMISSION; after such a failure no other
//     function may be called (fakeLibrary records any call as a violation, as the real library
//     would end the process).
//   - nvmlDeviceGetHandleByIndex_v2 returns NVML_ERROR_INVALID_ARGUMENT for an index out of
//     range and NVML_ERROR_NO_PERMISSION when the user may not open the device.
//   - nvmlDeviceGetSamples returns NVML_ERROR_NOT_FOUND when no sample is newer than
//     lastSeenTimeStamp, and NVML_ERROR_NOT_SUPPORTED on MIG-enabled GPUs.
//   - nvmlDeviceGetFanSpeed returns NVML_ERROR_NOT_SUPPORTED on boards without a fan (the H200:
//     testdata fixture nvml-capabilities-h200.json), nvmlDeviceGetTotalEccErrors returns it
//     when ECC is off, and any query returns NVML_ERROR_GPU_IS_LOST once the GPU fell off the bus.
//   - nvmlEventSetWait returns NVML_ERROR_TIMEOUT when no event is queued.
//
// Every method counts its calls; errs injects an error per method name.
type fakeLibrary struct {
	mu sync.Mutex

	initErr  error
	countErr error
	watchErr error
	driver   string
	cuda     int
	devices  []*fakeDevice
	xids     *fakeXIDs

	calls       map[string]int
	initialized bool
	initFailed  bool
	violations  []string
}

func newFakeLibrary(devs ...*fakeDevice) *fakeLibrary {
	l := &fakeLibrary{driver: "580.159.04", cuda: 13000, devices: devs, calls: map[string]int{}, xids: &fakeXIDs{}}
	for _, d := range devs {
		d.lib = l
	}
	return l
}

// use records a call of name and whether NVML was usable then.
func (l *fakeLibrary) use(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[name]++
	if !l.initialized {
		state := "without a successful Init (or after Shutdown)"
		if l.initFailed {
			state = "after a failed Init"
		}
		l.violations = append(l.violations, fmt.Sprintf("%s called %s", name, state))
	}
}

func (l *fakeLibrary) count(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[name]
}

func (l *fakeLibrary) Init() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls["Init"]++
	if l.initErr != nil {
		l.initFailed = true
		return fmt.Errorf("nvmlInit: %w", l.initErr)
	}
	l.initialized = true
	return nil
}

func (l *fakeLibrary) Shutdown() error {
	l.use("Shutdown")
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initialized = false
	return nil
}

func (l *fakeLibrary) DriverVersion() (string, error) {
	l.use("DriverVersion")
	return l.driver, nil
}

func (l *fakeLibrary) CUDADriverVersion() (int, error) {
	l.use("CUDADriverVersion")
	return l.cuda, nil
}

func (l *fakeLibrary) DeviceCount() (int, error) {
	l.use("DeviceCount")
	return len(l.devices), l.countErr
}

func (l *fakeLibrary) DeviceByIndex(i int) (device, error) {
	l.use("DeviceByIndex")
	if i < 0 || i >= len(l.devices) {
		return nil, fmt.Errorf("nvmlDeviceGetHandleByIndex(%d): NVML_ERROR_INVALID_ARGUMENT", i)
	}
	d := l.devices[i]
	if err := d.errs["handle"]; err != nil {
		return nil, fmt.Errorf("nvmlDeviceGetHandleByIndex(%d): %w", i, err)
	}
	return d, nil
}

func (l *fakeLibrary) DeviceByUUID(uuid string) (device, error) {
	l.use("DeviceByUUID")
	for _, d := range l.devices {
		if d.uuid == uuid {
			return d, nil
		}
	}
	return nil, fmt.Errorf("nvmlDeviceGetHandleByUUID(%s): %w", uuid, ErrNotFound)
}

func (l *fakeLibrary) WatchXIDs(devs []device) (xidSource, error) {
	l.use("WatchXIDs")
	if l.watchErr != nil {
		return nil, l.watchErr
	}
	return l.xids, nil
}

// fakeXIDs is an event set: Poll hands out the queued events.
type fakeXIDs struct {
	mu     sync.Mutex
	queue  []xidEvent
	closed int
}

func (x *fakeXIDs) push(e ...xidEvent) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.queue = append(x.queue, e...)
}

func (x *fakeXIDs) Poll(maxEvents int) ([]xidEvent, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := min(maxEvents, len(x.queue))
	out := x.queue[:n:n]
	x.queue = x.queue[n:]
	return out, nil
}

func (x *fakeXIDs) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.closed++
	return nil
}

// fakeDevice is one GPU. Its values are in NVML's units.
type fakeDevice struct {
	lib *fakeLibrary

	uuid, name, bus  string
	index            int
	samples          []utilizationSample
	gpuUtil, memUtil uint32
	enc, dec         uint32
	mem              memoryInfo
	temp, memTemp    uint32
	powerMW          uint32
	energyMJ         uint64
	smMHz, memMHz    uint32
	reasons          uint64
	fan              uint32
	pstate           int
	pcieTx, pcieRx   uint64
	tputTx, tputRx   uint32
	eccCorrected     uint64
	eccUncorrected   uint64
	procs            []processInfo

	errs map[string]error
}

// h200 is a device with the values of the H200 capture (testdata fixtures
// nvml-capabilities-h200.json and nvidia-smi-q.txt), shifted a little per index.
func h200(index int) *fakeDevice {
	const total = 150754820096 // 143771 MiB
	reserved := uint64(644939776)
	used := uint64(3175940096) + uint64(index)<<30 // nvidia-smi: 3029 MiB
	return &fakeDevice{
		uuid:    fmt.Sprintf("GPU-ff2b91cf-a824-0da0-8e94-d655b794027%d", index),
		name:    "NVIDIA H200",
		bus:     fmt.Sprintf("00000000:%02X:00.0", 6+index),
		index:   index,
		samples: []utilizationSample{{Timestamp: 1_000_000, Percent: 70}, {Timestamp: 1_166_666, Percent: 67}, {Timestamp: 1_333_333, Percent: 68}},
		gpuUtil: 45, memUtil: 5,
		mem:  memoryInfo{Total: total, Reserved: reserved, Used: used, Free: total - reserved - used},
		temp: 41 + uint32(index), memTemp: 42 + uint32(index),
		powerMW:  315159 + uint32(index)*1000,
		energyMJ: 33363246 + uint64(index)*1000,
		smMHz:    1980, memMHz: 3201,
		pstate: 0,
		tputTx: 1267, tputRx: 379,
		procs: []processInfo{{PID: uint32(12895 + index), UsedMemory: 3166699520, MemoryOK: true}},
		// No fan on an H200 (NVML_ERROR_NOT_SUPPORTED); its PCIe byte counters read 0.
		errs: map[string]error{"FanSpeed": ErrNotSupported},
	}
}

func (d *fakeDevice) call(name string) error {
	d.lib.use(name)
	if err := d.errs[name]; err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (d *fakeDevice) UUID() (string, error)     { return d.uuid, d.call("UUID") }
func (d *fakeDevice) Name() (string, error)     { return d.name, d.call("Name") }
func (d *fakeDevice) Index() (int, error)       { return d.index, d.call("Index") }
func (d *fakeDevice) PCIBusID() (string, error) { return d.bus, d.call("PCIBusID") }

func (d *fakeDevice) UtilizationSamples(since uint64) ([]utilizationSample, error) {
	if err := d.call("UtilizationSamples"); err != nil {
		return nil, err
	}
	var out []utilizationSample
	for _, s := range d.samples {
		if s.Timestamp > since {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("UtilizationSamples: %w", ErrNotFound)
	}
	return out, nil
}

func (d *fakeDevice) UtilizationRates() (uint32, uint32, error) {
	return d.gpuUtil, d.memUtil, d.call("UtilizationRates")
}
func (d *fakeDevice) EncoderUtilization() (uint32, error) { return d.enc, d.call("EncoderUtilization") }
func (d *fakeDevice) DecoderUtilization() (uint32, error) { return d.dec, d.call("DecoderUtilization") }
func (d *fakeDevice) Memory() (memoryInfo, error)         { return d.mem, d.call("Memory") }
func (d *fakeDevice) Temperature() (uint32, error)        { return d.temp, d.call("Temperature") }
func (d *fakeDevice) MemoryTemperature() (uint32, error) {
	return d.memTemp, d.call("MemoryTemperature")
}
func (d *fakeDevice) PowerUsage() (uint32, error)  { return d.powerMW, d.call("PowerUsage") }
func (d *fakeDevice) TotalEnergy() (uint64, error) { return d.energyMJ, d.call("TotalEnergy") }

func (d *fakeDevice) ClockMHz(c clockDomain) (uint32, error) {
	if c == clockMemory {
		return d.memMHz, d.call("ClockMHz")
	}
	return d.smMHz, d.call("ClockMHz")
}

func (d *fakeDevice) ClockEventReasons() (uint64, error) {
	return d.reasons, d.call("ClockEventReasons")
}
func (d *fakeDevice) FanSpeed() (uint32, error)      { return d.fan, d.call("FanSpeed") }
func (d *fakeDevice) PerformanceState() (int, error) { return d.pstate, d.call("PerformanceState") }
func (d *fakeDevice) PCIeCounters() (uint64, uint64, error) {
	return d.pcieTx, d.pcieRx, d.call("PCIeCounters")
}

func (d *fakeDevice) PCIeThroughput() (uint32, uint32, error) {
	return d.tputTx, d.tputRx, d.call("PCIeThroughput")
}

func (d *fakeDevice) ECCErrors(corrected bool) (uint64, error) {
	if corrected {
		return d.eccCorrected, d.call("ECCErrors")
	}
	return d.eccUncorrected, d.call("ECCErrors")
}

func (d *fakeDevice) ComputeProcesses() ([]processInfo, error) {
	return d.procs, d.call("ComputeProcesses")
}
