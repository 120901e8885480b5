// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// fakeLedger follows launcherapi.EnergyLedger's contract: ids from Begin, a result that is not
// ready until released, then returned once.
type fakeLedger struct {
	mu        sync.Mutex
	gpus      []launcherapi.GPU
	next      uint64
	began     map[uint64]time.Time
	ended     map[uint64]time.Time
	completed map[uint64]launcherapi.Timeline
	ready     map[uint64]launcherapi.RequestEnergy
}

func newFakeLedger(gpus ...launcherapi.GPU) *fakeLedger {
	return &fakeLedger{gpus: gpus, began: map[uint64]time.Time{}, ended: map[uint64]time.Time{},
		completed: map[uint64]launcherapi.Timeline{}, ready: map[uint64]launcherapi.RequestEnergy{}}
}

func (f *fakeLedger) AttachMeter(launcherapi.GPUMeter) func()     { return func() {} }
func (f *fakeLedger) GPUs() []launcherapi.GPU                     { return f.gpus }
func (f *fakeLedger) Observe(time.Time, []launcherapi.GPUReading) {}
func (f *fakeLedger) Totals() []launcherapi.GPUEnergyTotals       { return nil }
func (f *fakeLedger) Begin(t time.Time) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	f.began[f.next] = t
	return f.next
}
func (f *fakeLedger) End(id uint64, t time.Time) { f.mu.Lock(); defer f.mu.Unlock(); f.ended[id] = t }
func (f *fakeLedger) Complete(id uint64, tl launcherapi.Timeline) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.completed[id] = tl
}
func (f *fakeLedger) release(id uint64, e launcherapi.RequestEnergy) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ready[id] = e
}
func (f *fakeLedger) completedTimeline(id uint64) (launcherapi.Timeline, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tl, ok := f.completed[id]
	return tl, ok
}

func (f *fakeLedger) Result(id uint64) (launcherapi.RequestEnergy, bool, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.began[id]; !ok {
		return launcherapi.RequestEnergy{}, true, false
	}
	e, ok := f.ready[id]
	if ok {
		delete(f.began, id)
	}
	return e, ok, true
}

func startEnergyGateway(t *testing.T, up string, ledger launcherapi.EnergyLedger) *testGateway {
	sink := new(consumertest.TracesSink)
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "gateway-test")
	g, err := New(Config{Server: listenOn("127.0.0.1:0")}, Settings{
		Upstream: fixedURL(up), Traces: sink, Telemetry: testTelemetry(t),
		Resource: func() pcommon.Resource { return res }, Energy: ledger,
		ScopeName: "llamacppreceiver/gateway", ScopeVersion: "test",
	})
	require.NoError(t, err)
	require.NoError(t, g.Start(context.Background(), nil))
	t.Cleanup(func() { assert.NoError(t, g.Shutdown(context.Background())) })
	return &testGateway{Gateway: g, sink: sink, url: "http://" + g.Addr()}
}

// A request is reported to the ledger with llama-server's timings, its span waits until the
// ledger's result is ready, and then carries the energy and the GPU.
func TestSpanWaitsForEnergy(t *testing.T) {
	up := newFakeUpstream(t, jsonAnswer(http.StatusOK, fixture(t, "b11669/chat-completion.json")))
	gpu := launcherapi.GPU{ID: "GPU-5a1e0000-0000-4000-8000-000000000001", Name: "gpu0", Model: "NVIDIA H200", Index: 0}
	ledger := newFakeLedger(gpu)
	gw := startEnergyGateway(t, up.URL, ledger)

	resp, _ := post(t, gw.url+"/v1/chat/completions", chatRequest)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tl launcherapi.Timeline
	require.Eventually(t, func() (ok bool) { tl, ok = ledger.completedTimeline(1); return ok }, 5*time.Second, 10*time.Millisecond)
	// The fixture's timings: prompt_n 67 over 3.693 ms, predicted_n 16 over 4.848 ms.
	assert.True(t, tl.HasTimings)
	assert.Equal(t, 67, tl.PromptTokens)
	assert.Equal(t, 16, tl.OutputTokens)
	assert.Equal(t, time.Duration(3.693*float64(time.Millisecond)), tl.PromptDuration)
	assert.Equal(t, time.Duration(4.848*float64(time.Millisecond)), tl.OutputDuration)
	assert.Equal(t, ledger.ended[1], tl.End)

	time.Sleep(3 * processEvery)
	assert.Zero(t, gw.sink.SpanCount(), "the span waits for its energy")
	ledger.release(1, launcherapi.RequestEnergy{Joules: 8, GPUSeconds: 0.02})
	a := attrs(waitServerSpans(t, gw.sink, 1)[0])
	assert.Equal(t, 8.0, a[attrGPUEnergy])
	assert.Equal(t, 0.5, a[attrGPUEnergyPerOutput]) // 8 J / 16 output tokens
	assert.Equal(t, 0.02, a[attrGPUTime])
	assert.Equal(t, "tokens", a[attrGPUEnergyMethod])
	assert.Equal(t, gpu.ID, a[attrHWID])
	assert.Equal(t, "gpu0", a[attrHWName])
	assert.Equal(t, "NVIDIA H200", a[attrHWModel])
	assert.Len(t, allSpans(t, gw.sink), 4, "the gateway span and its queue, prompt and generation children")
}

// Several GPUs are listed; spans still held at shutdown leave without energy, not lost.
func TestHeldSpansLeaveAtShutdown(t *testing.T) {
	up := newFakeUpstream(t, jsonAnswer(http.StatusOK, fixture(t, "b11669/chat-completion.json")))
	ledger := newFakeLedger(launcherapi.GPU{ID: "GPU-a", Name: "gpu0"}, launcherapi.GPU{ID: "GPU-b", Name: "gpu1"})
	gw := startEnergyGateway(t, up.URL, ledger)
	resp, _ := post(t, gw.url+"/v1/chat/completions", chatRequest)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Eventually(t, func() bool { _, ok := ledger.completedTimeline(1); return ok }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, gw.Shutdown(context.Background()))
	spans := serverSpans(allSpans(t, gw.sink))
	require.Len(t, spans, 1)
	a := attrs(spans[0])
	assert.Equal(t, []any{"GPU-a", "GPU-b"}, a[attrHWID])
	assert.Equal(t, []any{"gpu0", "gpu1"}, a[attrHWName])
	assert.NotContains(t, a, attrGPUEnergy)
}
