// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The metric shapes come from the receivers' own golden files (one scrape of a real H200 box and
// of a CUDA llama-server on it); the feed replays them over time with moving values.
var (
	nvmlGolden     = filepath.Join("..", "..", "receiver", "nvmlreceiver", "testdata", "scraper", "one_gpu.yaml")
	llamacppGolden = filepath.Join("..", "..", "receiver", "llamacppreceiver", "testdata", "scraper", "upstream-2026-05-cuda-h200", "expected.yaml")
)

// feed produces telemetry the way the receivers and the gateway in this repository shape it.
type feed struct {
	templates []pmetric.Metrics
	seq       uint64
	// Hostile, when set, is put into span names, models, prompts and log bodies.
	Hostile string
	// Projections gives request spans llt.embedding.projection and a category.
	Projections bool
	// GPUEnergy gives request spans the GPU attributes the gateway adds when a request ran on a
	// GPU (llt.gen_ai.gpu.energy, .energy_per_output_token, .time) and hw.id: one GPU's UUID as
	// a string, or two GPUs' as an array, every other request.
	GPUEnergy bool
	// EnergyJ, EnergyOutputTokens and GPUSeconds total what the GPUEnergy spans carried.
	EnergyJ            float64
	EnergyOutputTokens int64
	GPUSeconds         float64
	genTokens          float64
}

// The GPUs of the feed's hw.id attributes.
const (
	feedGPU0 = "GPU-5f1c8e7a-0b1d-4c52-9a3e-7d2b6c4f8a10"
	feedGPU1 = "GPU-9a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
)

func newFeed(tb testing.TB) *feed {
	f := &feed{}
	for _, p := range []string{nvmlGolden, llamacppGolden} {
		md, err := golden.ReadMetrics(p)
		require.NoError(tb, err, p)
		f.templates = append(f.templates, md)
	}
	return f
}

// metricsAt is one scrape of both receivers at t; step moves the values.
func (f *feed) metricsAt(t time.Time, step int) pmetric.Metrics {
	out := pmetric.NewMetrics()
	phase := float64(step) / 7
	f.genTokens += 40 + 10*math.Sin(phase)
	for _, tmpl := range f.templates {
		md := pmetric.NewMetrics()
		tmpl.CopyTo(md)
		rms := md.ResourceMetrics()
		for i := 0; i < rms.Len(); i++ {
			sms := rms.At(i).ScopeMetrics()
			for j := 0; j < sms.Len(); j++ {
				ms := sms.At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					f.move(ms.At(k), t, phase)
				}
			}
		}
		md.ResourceMetrics().MoveAndAppendTo(out.ResourceMetrics())
	}
	return out
}

func (f *feed) move(m pmetric.Metric, t time.Time, phase float64) {
	var dps pmetric.NumberDataPointSlice
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps = m.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		dps = m.Sum().DataPoints()
	default:
		return
	}
	wave := 0.5 + 0.45*math.Sin(phase)
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		dp.SetTimestamp(pcommon.NewTimestampFromTime(t))
		switch m.Name() {
		case "hw.gpu.utilization":
			dp.SetDoubleValue(wave)
		case "hw.temperature":
			dp.SetDoubleValue(45 + 30*wave)
		case "hw.power":
			dp.SetDoubleValue(120 + 500*wave)
		case "hw.gpu.memory.usage":
			dp.SetIntValue(int64(20<<30 + wave*float64(40<<30)))
		case "llamacpp.slots.busy", "llamacpp.requests.processing":
			dp.SetIntValue(int64(math.Round(4 * wave)))
		case "llamacpp.requests.deferred":
			dp.SetIntValue(int64(math.Max(0, math.Round(6*wave-3))))
		case "llamacpp.generation.tokens":
			dp.SetIntValue(int64(f.genTokens))
		case "llamacpp.generation.window_throughput":
			dp.SetDoubleValue(300 * wave)
		}
	}
}

func (f *feed) id() uint64 { f.seq++; return f.seq }

// request is one traced inference request as the gateway records it: a server span with
// queue, prompt and generation children.
func (f *feed) request(end time.Time, latency time.Duration, in, out int64, failed bool) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "otelcol-llt")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	var tid pcommon.TraceID
	binary.BigEndian.PutUint64(tid[8:], f.id())
	start := end.Add(-latency)
	model := "llt-tiny"
	name := "chat " + model
	if f.Hostile != "" {
		model = f.Hostile
		name = "chat " + f.Hostile
	}
	root := ss.AppendEmpty()
	root.SetTraceID(tid)
	root.SetSpanID(f.spanID())
	root.SetName(name)
	root.SetKind(ptrace.SpanKindServer)
	root.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	root.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
	a := root.Attributes()
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("gen_ai.provider.name", "llama_cpp")
	a.PutStr("gen_ai.request.model", model)
	a.PutStr("gen_ai.response.model", model)
	a.PutInt("gen_ai.usage.input_tokens", in)
	a.PutInt("gen_ai.usage.output_tokens", out)
	a.PutDouble("gen_ai.response.time_to_first_chunk", latency.Seconds()/4)
	if f.Hostile != "" {
		a.PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+f.Hostile+`"}]}]`)
	}
	if failed {
		root.Status().SetCode(ptrace.StatusCodeError)
		root.Status().SetMessage("upstream 500")
		a.PutStr("error.type", "500")
	} else {
		root.Status().SetCode(ptrace.StatusCodeOk)
	}
	if f.Projections {
		cat := "prose"
		off := 0.0
		if f.seq%2 == 0 {
			cat, off = "code", 3
		}
		p := a.PutEmptySlice("llt.embedding.projection")
		for i := range 3 {
			p.AppendEmpty().SetDouble(off + math.Sin(float64(f.seq)+float64(i)))
		}
		a.PutStr("llt.embedding.category", cat)
	}
	if f.GPUEnergy {
		energy := float64(out)*(0.2+0.05*float64(f.seq%4)) + 0.5
		gpuTime := 0.8 * latency.Seconds()
		a.PutDouble("llt.gen_ai.gpu.energy", energy)
		if out > 0 {
			a.PutDouble("llt.gen_ai.gpu.energy_per_output_token", energy/float64(out))
		}
		a.PutDouble("llt.gen_ai.gpu.time", gpuTime)
		switch {
		case f.Hostile != "":
			a.PutStr("hw.id", f.Hostile)
		case f.seq%2 == 0:
			a.PutStr("hw.id", feedGPU0)
		default:
			ids := a.PutEmptySlice("hw.id")
			ids.AppendEmpty().SetStr(feedGPU0)
			ids.AppendEmpty().SetStr(feedGPU1)
		}
		f.EnergyJ += energy
		f.EnergyOutputTokens += out
		f.GPUSeconds += gpuTime
	}
	t := start
	for i, child := range []string{"queue", "prompt", "generation"} {
		d := latency / 10
		if i == 2 {
			d = end.Sub(t)
		}
		c := ss.AppendEmpty()
		c.SetTraceID(tid)
		c.SetSpanID(f.spanID())
		c.SetParentSpanID(root.SpanID())
		c.SetName(child)
		c.SetKind(ptrace.SpanKindInternal)
		c.SetStartTimestamp(pcommon.NewTimestampFromTime(t))
		c.SetEndTimestamp(pcommon.NewTimestampFromTime(t.Add(d)))
		t = t.Add(d)
	}
	return td
}

func (f *feed) spanID() pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], f.id())
	return id
}

// logs is a few llama-server log records, one an error.
func (f *feed) logs(t time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "llama-server")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i, body := range []string{"slot launch_slot_: id  0 | task 12 | processing task", "srv  update_slots: all slots are idle", "failed to decode the batch"} {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t.Add(time.Duration(i) * time.Millisecond)))
		if f.Hostile != "" {
			body = f.Hostile + " " + body
		}
		lr.Body().SetStr(body)
		if i == 2 {
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.SetSeverityText("ERROR")
		} else {
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.SetSeverityText("INFO")
		}
	}
	return ld
}

// run feeds steps scrapes (one per second of telemetry time, ending now) with two requests each.
func (f *feed) run(e *plotlyExporter, steps int) {
	now := time.Now()
	for s := range steps {
		t := now.Add(time.Duration(s-steps) * time.Second)
		e.ingestMetrics(f.metricsAt(t, s))
		for r := range 2 {
			in := int64(20 + (s*7+r*13)%200)
			out := int64(8 + (s*5+r*3)%64)
			lat := time.Duration(50+in+out*4) * time.Millisecond
			e.ingestTraces(f.request(t.Add(time.Duration(r)*100*time.Millisecond), lat, in, out, (s+r)%11 == 0))
		}
		if s%5 == 0 {
			e.ingestLogs(f.logs(t))
		}
	}
}

func hostileStrings() []string {
	return []string{
		`</script><script>window.__pwned=1</script>`,
		`<img src=x onerror="window.__pwned=2">`,
		`"'><svg onload=window.__pwned=3>`,
		"line\u2028separator\u2029end",
		`<a href="javascript:window.__pwned=4">click</a>`,
	}
}
