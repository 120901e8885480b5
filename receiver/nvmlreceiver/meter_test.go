// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// gpuLauncher is a fakeLauncher that runs llama-server on devices, with a ledger that records
// what the receiver gives it (launcherapi.EnergyLedger's contract: AttachMeter, Observe, Totals).
type gpuLauncher struct {
	fakeLauncher
	devices []int
	ledger  *recordingLedger
}

func (l *gpuLauncher) GPUDevices() []int                      { return l.devices }
func (l *gpuLauncher) EnergyLedger() launcherapi.EnergyLedger { return l.ledger }

type recordingLedger struct {
	mu       sync.Mutex
	meter    launcherapi.GPUMeter
	detached bool
	observed [][]launcherapi.GPUReading
	totals   []launcherapi.GPUEnergyTotals
}

func (r *recordingLedger) AttachMeter(m launcherapi.GPUMeter) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.meter = m
	return func() { r.mu.Lock(); defer r.mu.Unlock(); r.detached = true }
}
func (r *recordingLedger) GPUs() []launcherapi.GPU { return nil }
func (r *recordingLedger) Observe(_ time.Time, rs []launcherapi.GPUReading) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observed = append(r.observed, rs)
}
func (r *recordingLedger) Begin(time.Time) uint64                { return 0 }
func (r *recordingLedger) End(uint64, time.Time)                 {}
func (r *recordingLedger) Complete(uint64, launcherapi.Timeline) {}
func (r *recordingLedger) Result(uint64) (launcherapi.RequestEnergy, bool, bool) {
	return launcherapi.RequestEnergy{}, true, false
}
func (r *recordingLedger) Totals() []launcherapi.GPUEnergyTotals { return r.totals }

// The launcher's GPU (its `devices`, NVML indexes) gets a meter that reads its energy counter
// and utilization; the scrape hands over its energy readings and reports the ledger's split for
// that GPU only; shutdown detaches the meter.
func TestMeterForLaunchersGPU(t *testing.T) {
	devs := []*fakeDevice{h200(0), h200(1)}
	devs[1].gpuUtil = 55
	lib := newFakeLibrary(devs...)
	s, logs := newTestScraper(t, lib, "", func(c *Config) { c.Launcher = &launcherID; c.CollectionInterval = 10 * time.Second })
	ledger := &recordingLedger{}
	l := &gpuLauncher{devices: []int{1}, ledger: ledger}
	require.NoError(t, s.start(context.Background(), hostWith{launcherID: l}))
	require.NotNil(t, ledger.meter)
	assert.Equal(t, []launcherapi.GPU{{ID: devs[1].uuid, Name: "gpu1", Model: "NVIDIA H200", Index: 1}}, ledger.meter.GPUs())
	rs, err := ledger.meter.Read()
	require.NoError(t, err)
	assert.Equal(t, []launcherapi.GPUReading{{EnergyMJ: devs[1].energyMJ, Utilization: 0.55}}, rs)
	assert.Equal(t, 1, logs.FilterMessage("GPU energy per request: on").Len())

	ledger.totals = []launcherapi.GPUEnergyTotals{{GPU: ledger.meter.GPUs()[0], RequestJoules: 12.5, IdleJoules: 80}}
	scrapeOnce(t, s) // reads the energy counter
	m := scrapeOnce(t, s)
	require.Len(t, ledger.observed, 1, "the first scrape's energy reading is handed over once")
	assert.Equal(t, []launcherapi.GPUReading{{EnergyMJ: devs[1].energyMJ, Utilization: -1}}, ledger.observed[0])
	split := map[string]map[string]float64{}
	for _, rm := range m.ResourceMetrics().All() {
		id, _ := rm.Resource().Attributes().Get("hw.id")
		for _, sm := range rm.ScopeMetrics().All() {
			for _, metric := range sm.Metrics().All() {
				if metric.Name() != "nvidia.gpu.energy.attribution" {
					continue
				}
				assert.Equal(t, pmetric.AggregationTemporalityCumulative, metric.Sum().AggregationTemporality())
				split[id.Str()] = map[string]float64{}
				for _, dp := range metric.Sum().DataPoints().All() {
					use, _ := dp.Attributes().Get("nvidia.gpu.energy.use")
					split[id.Str()][use.Str()] = dp.DoubleValue()
				}
			}
		}
	}
	assert.Equal(t, map[string]map[string]float64{devs[1].uuid: {"requests": 12.5, "idle": 80}}, split)

	require.NoError(t, s.shutdown(context.Background()))
	assert.True(t, ledger.detached)
}

// A launcher GPU this receiver does not read (left out of `devices`), or one without an energy
// counter, turns energy per request off with a warning; a CPU-only launcher is simply left alone.
func TestMeterOff(t *testing.T) {
	for name, tc := range map[string]struct {
		devices []int
		mutate  func(*Config, []*fakeDevice)
		warn    string
	}{
		"not read":  {[]int{1}, func(c *Config, _ []*fakeDevice) { c.Devices = []string{"0"} }, "the launcher's GPUs are not all read"},
		"no energy": {[]int{0}, func(_ *Config, d []*fakeDevice) { d[0].errs = map[string]error{"TotalEnergy": ErrNotSupported} }, "no energy counter"},
		"cpu only":  {nil, func(*Config, []*fakeDevice) {}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			devs := []*fakeDevice{h200(0), h200(1)}
			lib := newFakeLibrary(devs...)
			s, logs := newTestScraper(t, lib, "", func(c *Config) { c.Launcher = &launcherID; tc.mutate(c, devs) })
			ledger := &recordingLedger{}
			require.NoError(t, s.start(context.Background(), hostWith{launcherID: &gpuLauncher{devices: tc.devices, ledger: ledger}}))
			defer func() { require.NoError(t, s.shutdown(context.Background())) }()
			assert.Nil(t, ledger.meter)
			if tc.warn != "" {
				require.Equal(t, 1, logs.FilterMessageSnippet(tc.warn).Len(), "%v", logs.All())
			}
		})
	}
}

// Two launchers on one GPU would each split that GPU's whole energy among their own requests:
// neither gets a meter, each with a warning that names the GPU and both launchers; a third
// launcher on a GPU of its own is metered.
func TestMeterOffForASharedGPU(t *testing.T) {
	devs := []*fakeDevice{h200(0), h200(1), h200(2)}
	idA, idB, idC := component.MustNewIDWithName("llamalauncher", "a"), component.MustNewIDWithName("llamalauncher", "b"), component.MustNewIDWithName("llamalauncher", "c")
	s, logs := newTestScraper(t, newFakeLibrary(devs...), "", func(c *Config) { c.Launchers = []component.ID{idA, idB, idC} })
	a := &gpuLauncher{devices: []int{0}, ledger: &recordingLedger{}}
	b := &gpuLauncher{devices: []int{1, 0}, ledger: &recordingLedger{}}
	c := &gpuLauncher{devices: []int{2}, ledger: &recordingLedger{}}
	require.NoError(t, s.start(context.Background(), hostWith{idA: a, idB: b, idC: c}))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()
	assert.Nil(t, a.ledger.meter)
	assert.Nil(t, b.ledger.meter)
	require.NotNil(t, c.ledger.meter)
	assert.Equal(t, devs[2].uuid, c.ledger.meter.GPUs()[0].ID)
	warned := logs.FilterMessageSnippet("another launcher uses the same GPU").All()
	require.Len(t, warned, 2, "%v", logs.All())
	for i, want := range []string{"llamalauncher/a", "llamalauncher/b"} {
		fields := warned[i].ContextMap()
		assert.Equal(t, want, fields["launcher"])
		assert.Equal(t, int64(0), fields["gpu"])
		assert.Equal(t, []any{"llamalauncher/a", "llamalauncher/b"}, fields["launchers"])
	}
}
