// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

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
//     lastSeenTimeStamp, and NVML_ERROR_NOT_SUPPORTED on MIG-enabled GPUs and MIG devices, as
//     nvmlDeviceGetUtilizationRates does.
//   - nvmlDeviceGetProcessUtilization returns NVML_ERROR_NOT_FOUND when no sample is newer than
//     lastSeenTimeStamp ("If no valid sample entries are found since the lastSeenTimeStamp") and
//     NVML_ERROR_NOT_SUPPORTED on MIG-enabled GPUs ("querying process utilization is not
//     currently supported") and MIG devices.
//   - MIG ("Multi Instance GPU Management"): nvmlDeviceGetMigMode gives the current mode;
//     nvmlDeviceGetMaxMigDeviceCount and nvmlDeviceGetMigDeviceHandleByIndex enumerate the MIG
//     devices of a MIG-enabled GPU; nvmlDeviceGetIndex of a MIG handle is its index under the GPU;
//     nvmlDeviceGetHandleByUUID also finds MIG devices (MIG-…), nvmlDeviceGetHandleByIndex never.
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
	watched  []device // the devices WatchXIDs was given

	calls       map[string]int
	initialized bool
	initFailed  bool
	violations  []string
}

func newFakeLibrary(devs ...*fakeDevice) *fakeLibrary {
	l := &fakeLibrary{driver: "580.159.04", cuda: 13000, devices: devs, calls: map[string]int{}, xids: &fakeXIDs{}}
	for _, d := range devs {
		d.lib = l
		for _, m := range d.migs {
			m.lib = l
		}
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
		for _, m := range d.migs {
			if m.uuid == uuid {
				return m, nil
			}
		}
	}
	return nil, fmt.Errorf("nvmlDeviceGetHandleByUUID(%s): %w", uuid, ErrNotFound)
}

func (l *fakeLibrary) WatchXIDs(devs []device) (xidSource, error) {
	l.use("WatchXIDs")
	l.mu.Lock()
	l.watched = append(l.watched, devs...)
	l.mu.Unlock()
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
	procSamples      []processUtilizationSample

	// MIG: a GPU with migMode has the MIG devices migs; a MIG device has a parent and the ids of
	// its GPU and compute instances.
	migMode bool
	migs    []*fakeDevice
	parent  *fakeDevice
	gi, ci  int

	errs  map[string]error
	calls map[string]int // this device's calls (the library counts all devices')
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
		procSamples: []processUtilizationSample{
			{PID: uint32(12895 + index), Timestamp: 1_000_000, SM: 62, Memory: 30},
			{PID: uint32(12895 + index), Timestamp: 1_166_666, SM: 66, Memory: 31},
		},
		// No fan on an H200 (NVML_ERROR_NOT_SUPPORTED); its PCIe byte counters read 0.
		errs: map[string]error{"FanSpeed": ErrNotSupported},
	}
}

// enableMIG puts GPU d in MIG mode with n MIG devices, each a 1g.18gb instance of an H200
// (GPU instance i+1, compute instance 0) with its share of the memory and no processes.
func enableMIG(d *fakeDevice, n int) {
	d.migMode = true
	for i := range n {
		const total = 16_106_127_360 // 15 GiB usable of a 1g.18gb slice
		used := uint64(1+i) << 30
		d.migs = append(d.migs, &fakeDevice{
			lib:    d.lib,
			uuid:   fmt.Sprintf("MIG-6b2898f0-50e7-b133-%04d-%s", i, d.uuid[len(d.uuid)-12:]),
			name:   "NVIDIA H200 MIG 1g.18gb",
			bus:    d.bus,
			index:  i,
			mem:    memoryInfo{Total: total, Used: used, Free: total - used},
			parent: d, gi: i + 1, ci: 0,
			errs: map[string]error{},
		})
	}
}

// isMIG reports whether d is a MIG device or a GPU in MIG mode, on which NVML does not support
// utilization queries.
func (d *fakeDevice) isMIG() bool { return d.parent != nil || d.migMode }

// count is how often this device's method name was called.
func (d *fakeDevice) count(name string) int {
	d.lib.mu.Lock()
	defer d.lib.mu.Unlock()
	return d.calls[name]
}

func (d *fakeDevice) call(name string) error {
	d.lib.use(name)
	d.lib.mu.Lock()
	if d.calls == nil {
		d.calls = map[string]int{}
	}
	d.calls[name]++
	d.lib.mu.Unlock()
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
	if d.isMIG() {
		return nil, fmt.Errorf("UtilizationSamples: %w", ErrNotSupported)
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
	if err := d.call("UtilizationRates"); err != nil {
		return 0, 0, err
	}
	if d.isMIG() {
		return 0, 0, fmt.Errorf("UtilizationRates: %w", ErrNotSupported)
	}
	return d.gpuUtil, d.memUtil, nil
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

func (d *fakeDevice) ProcessUtilization(since uint64) ([]processUtilizationSample, error) {
	if err := d.call("ProcessUtilization"); err != nil {
		return nil, err
	}
	if d.isMIG() {
		return nil, fmt.Errorf("ProcessUtilization: %w", ErrNotSupported)
	}
	var out []processUtilizationSample
	for _, s := range d.procSamples {
		if s.Timestamp > since {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ProcessUtilization: %w", ErrNotFound)
	}
	return out, nil
}

func (d *fakeDevice) MIGEnabled() (bool, error) { return d.migMode, d.call("MIGEnabled") }

func (d *fakeDevice) MIGDevices() ([]device, error) {
	if err := d.call("MIGDevices"); err != nil {
		return nil, err
	}
	if !d.migMode {
		return nil, nil
	}
	out := make([]device, len(d.migs))
	for i, m := range d.migs {
		out[i] = m
	}
	return out, nil
}

func (d *fakeDevice) MIGInfo() (migInfo, error) {
	info := migInfo{Index: -1, GPUInstanceID: -1, ComputeInstanceID: -1}
	if err := d.call("MIGInfo"); err != nil {
		return info, err
	}
	if d.parent == nil {
		return info, nil
	}
	return migInfo{IsMIG: true, Parent: d.parent, Index: d.index, GPUInstanceID: d.gi, ComputeInstanceID: d.ci}, nil
}
