// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// ---- fixtures -----------------------------------------------------------------------------

func utStore(maxLogs int) *store.Store {
	return store.New(store.Limits{Retention: time.Hour, MaxPoints: 1000, MaxSeries: 100, MaxSpans: 100000, MaxLogs: maxLogs})
}

func utData(st *store.Store, maxPoints int) *Data {
	return NewData(st.Snapshot(), Options{MaxPoints: maxPoints, TemperatureThreshold: 85})
}

// utBase is a time well inside the retention window.
func utBase() time.Time { return time.Now().Add(-20 * time.Minute).Truncate(time.Second) }

// utGauge is a gauge series of values one step apart.
func utGauge(metric, label string, attrs map[string]string, t0, stepMs int64, vals ...float64) []store.Point {
	pts := make([]store.Point, len(vals))
	for i, v := range vals {
		pts[i] = store.Point{Key: metric + "|" + label, Metric: metric, Label: label, Attrs: attrs, Kind: store.Gauge,
			TimeMs: t0 + int64(i)*stepMs, Value: v}
	}
	return pts
}

func utRepeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// utSpan is a span of trace tr with id id (parent 0: none) starting at start and lasting dur.
func utSpan(tr, id, parent int, name string, status int8, start time.Time, dur time.Duration) store.Span {
	s := store.NewSpan()
	s.TraceID = [16]byte{1, byte(tr >> 8), byte(tr)}
	s.SpanID = [8]byte{1, byte(id >> 8), byte(id)}
	if parent > 0 {
		s.ParentID = [8]byte{1, byte(parent >> 8), byte(parent)}
	}
	s.Name, s.Status, s.Service = name, status, "gateway"
	s.StartNs = start.UnixNano()
	s.EndNs = start.Add(dur).UnixNano()
	return s
}

// utRequest is an inference request span.
func utRequest(tr int, start time.Time, dur time.Duration, in, out int64, failed bool) store.Span {
	st := int8(statusOK)
	if failed {
		st = statusError
	}
	s := utSpan(tr, 1, 0, "chat model-x", st, start, dur)
	s.GenAI, s.Model, s.Operation = true, "model-x", "chat"
	s.InputTokens, s.OutputTokens = in, out
	return s
}

func utFigure(t *testing.T, sec *Section, id string) *Figure {
	t.Helper()
	for _, f := range sec.Figures {
		if f.ID == id {
			return f
		}
	}
	t.Fatalf("figure %q missing", id)
	return nil
}

func utMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

// utFull is a store with every kind of data the unified dashboard draws.
func utFull(t *testing.T) *store.Store {
	t.Helper()
	st := utStore(100)
	b := utBase()
	t0 := b.UnixMilli()
	var pts []store.Point
	gpu := map[string]string{"hw.gpu.task": "general"}
	pts = append(pts, utGauge("hw.gpu.utilization", "GPU 0", gpu, t0, 1000, 0.2, 0.5, 0.7, 0.9, 0.4)...)
	pts = append(pts, utGauge("hw.gpu.memory.usage", "GPU 0", nil, t0, 1000, 1<<30, 2<<30, 3<<30, 3<<30, 2<<30)...)
	pts = append(pts, utGauge("hw.gpu.memory.limit", "GPU 0", nil, t0, 1000, utRepeat(8<<30, 5)...)...)
	pts = append(pts, utGauge("hw.temperature", "GPU 0", nil, t0, 1000, 60, 65, 70, 72, 71)...)
	pts = append(pts, utGauge("hw.power", "GPU 0", nil, t0, 1000, 100, 150, 200, 210, 190)...)
	pts = append(pts, utGauge("llamacpp.slots.busy", "", nil, t0, 1000, 1, 2, 4, 4, 2)...)
	pts = append(pts, utGauge("llamacpp.slots.total", "", nil, t0, 1000, utRepeat(4, 5)...)...)
	pts = append(pts, utGauge("llamacpp.requests.deferred", "", nil, t0, 1000, 0, 0, 1, 2, 0)...)
	pts = append(pts, utGauge("llamacpp.requests.processing", "", nil, t0, 1000, 1, 2, 4, 4, 2)...)
	st.AddPoints(pts)
	var spans []store.Span
	for i := range 40 {
		start := b.Add(time.Duration(i) * 10 * time.Second)
		r := utRequest(i+1, start, time.Duration(100+i*20)*time.Millisecond, int64(50+i*30), int64(20+i), i%9 == 0)
		r.HasProjection = true
		r.Projection = [3]float64{float64(i), float64(i % 5), float64(i % 3)}
		r.Category = []string{"code", "chat", "math"}[i%3]
		r.Preview = fmt.Sprintf("prompt %d", i)
		spans = append(spans, r)
		child := utSpan(i+1, 2, 1, "llama-server completion", statusUnset, start.Add(5*time.Millisecond), 80*time.Millisecond)
		spans = append(spans, child)
	}
	st.AddSpans(spans)
	var logs []store.Log
	for i := range 10 {
		logs = append(logs, store.Log{TimeNs: b.Add(time.Duration(i) * time.Second).UnixNano(), Severity: "INFO",
			SeverityNumber: 9, Body: fmt.Sprintf("slot %d done", i), Service: "llama-server", TraceID: [16]byte{0xab, 0xcd, 0xef, 0x01, 2}})
	}
	st.AddLogs(logs)
	if err := st.AddAttention(utAttention("model-x", []int64{0, 14}, 4, 12, utTokens, b)); err != nil {
		t.Fatal(err)
	}
	st.SetModelFacts([]store.ModelFacts{utQwen()})
	return st
}

var utIDs = []string{"unified-trace-graph", "unified-waterfall", "unified-performance", "unified-embeddings-3d",
	"unified-model", "unified-attention", "unified-indicators", "unified-statistics", "unified-logs"}

// ---- section ------------------------------------------------------------------------------

func TestUnifiedFigures(t *testing.T) {
	sec := Unified(utData(utFull(t), 500))
	if sec.Name != "unified" || sec.Summary == nil {
		t.Fatalf("section %q summary %v", sec.Name, sec.Summary)
	}
	if len(sec.Figures) != len(utIDs) {
		t.Fatalf("%d figures, want %d", len(sec.Figures), len(utIDs))
	}
	for _, id := range utIDs {
		f := utFigure(t, sec, id)
		if f.Empty != "" {
			t.Errorf("%s empty with full data: %s", id, f.Empty)
		}
		if len(f.Data) == 0 {
			t.Errorf("%s has no traces", id)
		}
	}
	for id, size := range map[string]struct {
		height int
		wide   bool
	}{
		"unified-trace-graph": {traceGraphHeight, true}, "unified-performance": {performanceHeight, true},
		"unified-embeddings-3d": {internals3DHeight, false}, "unified-attention": {internals3DHeight, true},
		"unified-model": {internals3DHeight, false}, "unified-waterfall": {waterfallBasePx + waterfallRowPx*waterfallRows, true},
		"unified-indicators": {indicatorsHeight, true}, "unified-logs": {logsHeight, true},
	} {
		if f := utFigure(t, sec, id); f.Height != size.height || f.Wide != size.wide {
			t.Errorf("%s: height %d wide %v", id, f.Height, f.Wide)
		}
	}
	utMarshal(t, sec)
}

func TestUnifiedEmptySnapshot(t *testing.T) {
	sec := Unified(utData(utStore(100), 500))
	want := map[string]string{
		"unified-trace-graph":   "gateway (traces pipeline)",
		"unified-performance":   "nvml",
		"unified-embeddings-3d": "llt.embedding.projection",
		"unified-attention":     "attention::enabled: true",
		"unified-waterfall":     "gateway",
		"unified-model":         "llamacpp.model.*",
		"unified-logs":          "log records",
	}
	for id, need := range want {
		f := utFigure(t, sec, id)
		if !strings.Contains(f.Empty, need) {
			t.Errorf("%s: empty text %q lacks %q", id, f.Empty, need)
		}
	}
	ind := utFigure(t, sec, "unified-indicators")
	if ind.Empty != "" || len(ind.Data) != 4 {
		t.Fatalf("indicators: empty %q, %d traces", ind.Empty, len(ind.Data))
	}
	for _, tr := range ind.Data {
		if tr["type"] != "indicator" || tr["mode"] != "number" {
			t.Errorf("indicator without data: %v", tr)
		}
		if title := tr["title"].(Obj)["text"].(string); !strings.Contains(title, "n/a") {
			t.Errorf("indicator title %q does not say n/a", title)
		}
	}
	if v := sec.Summary.Verdicts; len(v) != 1 || v[0].Kind != VerdictInsufficientData {
		t.Errorf("verdicts %+v", v)
	}
	b := utMarshal(t, sec)
	if !bytes.Contains(b, []byte(`"latency_p50_s":null`)) {
		t.Errorf("unknown latency not null: %s", b)
	}
}

func TestUnifiedNoPanicOnOddInput(t *testing.T) {
	st := utStore(100)
	b := utBase()
	t0 := b.UnixMilli()
	nan := math.NaN()
	st.AddPoints(utGauge("hw.gpu.utilization", "GPU 0", nil, t0, 1000, nan, math.Inf(1), nan))
	st.AddPoints(utGauge("hw.temperature", "GPU 0", nil, t0, 1000, nan, nan, nan))
	st.AddPoints(utGauge("llamacpp.slots.busy", "", nil, t0, 1000, nan, 1, 2))
	st.AddPoints(utGauge("llamacpp.slots.total", "", nil, t0, 1000, 0, nan, 0))
	st.AddPoints(utGauge("llamacpp.requests.deferred", "", nil, t0, 1000, nan, nan, 1))
	var spans []store.Span
	for i := range 5 {
		s := utRequest(i+1, b, 0, -1, -1, false) // zero duration, no tokens
		s.HasProjection = true
		s.Projection = [3]float64{nan, 1, 2}
		s.TTFTSeconds = math.Inf(1)
		spans = append(spans, s)
	}
	// A parent cycle and a self-parent.
	spans = append(spans, utSpan(99, 1, 2, "a", statusOK, b, 0), utSpan(99, 2, 1, "b", statusOK, b, 0), utSpan(99, 3, 3, "c", 7, b, 0))
	st.AddSpans(spans)
	st.AddLogs([]store.Log{{}})
	sec := Unified(utData(st, 500))
	utMarshal(t, sec)
	if f := utFigure(t, sec, "unified-embeddings-3d"); f.Empty == "" {
		t.Errorf("NaN projections drawn")
	}
	g := utFigure(t, sec, "unified-trace-graph")
	if n := utNodeCount(g); n != 8 {
		t.Errorf("%d nodes, want 8", n)
	}
}

// ---- trace graph --------------------------------------------------------------------------

func utNodeTraces(f *Figure) []Obj {
	var out []Obj
	for _, tr := range f.Data {
		if tr["mode"] == "markers" {
			out = append(out, tr)
		}
	}
	return out
}

func utNodeCount(f *Figure) int {
	n := 0
	for _, tr := range utNodeTraces(f) {
		n += len(tr["x"].(Nums))
	}
	return n
}

func utEdgeCount(t *testing.T, f *Figure) int {
	t.Helper()
	for _, tr := range f.Data {
		if tr["mode"] == "lines" {
			x := tr["x"].(Nums)
			if len(x)%3 != 0 {
				t.Fatalf("edge x has %d values", len(x))
			}
			for i := 2; i < len(x); i += 3 {
				if !math.IsNaN(x[i]) {
					t.Fatalf("edge separator %d is %v", i, x[i])
				}
			}
			return len(x) / 3
		}
	}
	t.Fatal("no edge trace")
	return 0
}

// utNodeName is the span name from a node's hover text.
func utNodeName(h string) string {
	h = strings.TrimPrefix(h, "<b>")
	name, _, _ := strings.Cut(h, "</b>")
	return name
}

func TestUnifiedTraceGraphColoursAndSizes(t *testing.T) {
	st := utStore(100)
	b := utBase()
	durs := map[string]time.Duration{"root": time.Second, "child-err": 500 * time.Millisecond, "child-unset": 100 * time.Millisecond,
		"grandchild": 10 * time.Millisecond, "instant": 0}
	st.AddSpans([]store.Span{
		utSpan(1, 1, 0, "root", statusOK, b, durs["root"]),
		utSpan(1, 2, 1, "child-err", statusError, b.Add(time.Millisecond), durs["child-err"]),
		utSpan(1, 3, 1, "child-unset", statusUnset, b.Add(2*time.Millisecond), durs["child-unset"]),
		utSpan(1, 4, 3, "grandchild", statusOK, b.Add(3*time.Millisecond), durs["grandchild"]),
		utSpan(1, 5, 1, "instant", statusUnset, b.Add(4*time.Millisecond), durs["instant"]),
	})
	f := Unified(utData(st, 500)).Figures[0]
	if f.ID != "unified-trace-graph" || !f.Wide {
		t.Fatalf("first figure %q wide %v", f.ID, f.Wide)
	}
	// UNSET without error.type is success: green, in the legend's "ok".
	colour := map[string]string{"ok": colorOK, "error": colorError}
	status := map[string]string{"root": "ok", "grandchild": "ok", "child-err": "error", "child-unset": "ok", "instant": "ok"}
	type node struct {
		dur  time.Duration
		size float64
	}
	var nodes []node
	nodeTraces := utNodeTraces(f)
	if len(nodeTraces) != 2 {
		t.Fatalf("%d node traces, want 2", len(nodeTraces))
	}
	for _, tr := range nodeTraces {
		name := tr["name"].(string)
		m := tr["marker"].(Obj)
		if m["color"] != colour[name] {
			t.Errorf("trace %s colour %v", name, m["color"])
		}
		if tr["type"] != "scatter" {
			t.Errorf("type %v for 5 nodes", tr["type"])
		}
		for i, h := range tr["text"].([]string) {
			n := utNodeName(h)
			if status[n] != name {
				t.Errorf("span %s in trace %s", n, name)
			}
			nodes = append(nodes, node{durs[n], m["size"].(Nums)[i]})
		}
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].dur < nodes[j].dur })
	for i := 1; i < len(nodes); i++ {
		if nodes[i].size <= nodes[i-1].size {
			t.Errorf("size %v for %v not above %v for %v", nodes[i].size, nodes[i].dur, nodes[i-1].size, nodes[i-1].dur)
		}
	}
	if nodes[0].size != 8 || nodes[len(nodes)-1].size != 30 {
		t.Errorf("sizes from %v to %v, want 8 to 30", nodes[0].size, nodes[len(nodes)-1].size)
	}
	if n := utEdgeCount(t, f); n != 4 {
		t.Errorf("%d edges, want 4", n)
	}
	lay := f.Layout
	for _, ax := range []string{"xaxis", "yaxis"} {
		a := lay[ax].(Obj)
		if a["showgrid"] != false || a["zeroline"] != false || a["showticklabels"] != false {
			t.Errorf("%s visible: %v", ax, a)
		}
	}
}

func TestUnifiedTraceGraphBudget(t *testing.T) {
	b := utBase()
	cases := []struct {
		name      string
		traceSize []int
		maxPoints int
		wantNodes int
		wantKinds string
	}{
		{"whole traces, newest first", slices.Repeat([]int{10}, 60), 500, 500, "scatter"},
		{"stops at the first that does not fit", slices.Repeat([]int{7}, 100), 500, 497, "scatter"},
		{"one trace over the budget", []int{5, 800}, 500, 500, "scatter"},
		{"older bigger trace skipped", []int{600, 5}, 500, 5, "scatter"},
		{"webgl above 2000 nodes", slices.Repeat([]int{50}, 50), 3000, 2500, "scattergl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := utStore(100)
			var spans []store.Span
			size := map[string]int{}
			for tr, n := range c.traceSize {
				// Trace tr starts tr seconds after the base: later traces are newer.
				start := b.Add(time.Duration(tr) * time.Second)
				name := fmt.Sprintf("t%d", tr)
				size[name] = n
				for k := 1; k <= n; k++ {
					parent := k / 2 // a binary tree; span 1 is the root
					if k%13 == 0 {
						parent = 9999 // parent never seen: a root
					}
					spans = append(spans, utSpan(tr+1, k, parent, fmt.Sprintf("%s/%d", name, k), statusOK,
						start.Add(time.Duration(k)*time.Microsecond), time.Duration(k)*time.Microsecond))
				}
			}
			st.AddSpans(spans)
			f := Unified(utData(st, c.maxPoints)).Figures[0]
			if n := utNodeCount(f); n != c.wantNodes {
				t.Fatalf("%d nodes, want %d", n, c.wantNodes)
			}
			got := map[string]map[int]bool{}
			for _, tr := range utNodeTraces(f) {
				if tr["type"] != c.wantKinds {
					t.Errorf("node trace type %v, want %s", tr["type"], c.wantKinds)
				}
				for _, h := range tr["text"].([]string) {
					name, k, _ := strings.Cut(utNodeName(h), "/")
					if got[name] == nil {
						got[name] = map[int]bool{}
					}
					var ki int
					_, _ = fmt.Sscan(k, &ki)
					got[name][ki] = true
				}
			}
			// Whole traces (or the first spans of the one over the budget), newest first.
			edges := 0
			for name, ks := range got {
				n := size[name]
				if n > c.maxPoints {
					n = c.maxPoints
				}
				if len(ks) != n {
					t.Errorf("trace %s: %d of %d spans", name, len(ks), size[name])
				}
				for k := range ks {
					if k > n {
						t.Errorf("trace %s: span %d beyond the first %d", name, k, n)
					}
					if p := k / 2; k%13 != 0 && p >= 1 && ks[p] {
						edges++
					}
				}
			}
			newestOut, oldestIn := -1, len(c.traceSize)
			for tr := range c.traceSize {
				if got[fmt.Sprintf("t%d", tr)] != nil {
					oldestIn = min(oldestIn, tr)
				} else {
					newestOut = max(newestOut, tr)
				}
			}
			if newestOut > oldestIn {
				t.Errorf("trace %d left out while older trace %d shown", newestOut, oldestIn)
			}
			if n := utEdgeCount(t, f); n != edges {
				t.Errorf("%d edges, want %d", n, edges)
			}
		})
	}
}

func TestUnifiedDeterministic(t *testing.T) {
	build := func() []byte {
		st := utFull(t)
		return utMarshal(t, Unified(utData(st, 500)).Figures[0])
	}
	a, b := build(), build()
	if !bytes.Equal(a, b) {
		t.Fatal("trace graph differs between two builds of the same input")
	}
	st := utFull(t)
	d := utData(st, 500)
	x, y := utMarshal(t, Unified(d)), utMarshal(t, Unified(d))
	if !bytes.Equal(x, y) {
		t.Fatal("section differs between two builds of the same data")
	}
}

// ---- escaping -----------------------------------------------------------------------------

var utHostile = []string{
	"</script><script>alert(1)</script>",
	"<img src=x onerror=alert(1)>",
	`"quoted" 'single' & amp`,
	"line\u2028separator\u2029para",
}

func utWalkStrings(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case []any:
		for _, e := range x {
			utWalkStrings(e, fn)
		}
	case map[string]any:
		for k, e := range x {
			fn(k)
			utWalkStrings(e, fn)
		}
	}
}

func TestUnifiedEscapesTelemetryStrings(t *testing.T) {
	st := utStore(100)
	b := utBase()
	t0 := b.UnixMilli()
	var spans []store.Span
	var logs []store.Log
	for i, h := range utHostile {
		for j := range 3 {
			r := utRequest(i*10+j+1, b.Add(time.Duration(i*3+j)*time.Minute), time.Duration(100+i*50+j*10)*time.Millisecond, int64(10+100*j+i), 5, j == 1)
			r.Name, r.Model, r.Preview, r.Category, r.Service, r.ErrorType = h, h, h, h, h, h
			r.HasProjection = true
			r.Projection = [3]float64{float64(i), float64(j), 1}
			spans = append(spans, r)
			c := utSpan(i*10+j+1, 2, 1, h, statusUnset, b, time.Millisecond)
			spans = append(spans, c)
		}
		logs = append(logs, store.Log{TimeNs: b.UnixNano(), Severity: h, Body: h, Service: h})
		st.AddPoints(utGauge("hw.gpu.utilization", h, nil, t0, 1000, 0.5, 0.6))
		st.AddPoints(utGauge("hw.gpu.memory.usage", h, nil, t0, 1000, 1, 2))
		st.AddPoints(utGauge("hw.temperature", h, nil, t0, 1000, 50, 60))
		st.AddPoints(utGauge("hw.power", h, nil, t0, 1000, 50, 60))
	}
	st.AddSpans(spans)
	st.AddLogs(logs)
	// The attention sample's model and token labels and the model panel's facts, hostile too.
	labels := make([]string, 4)
	for i := range labels {
		labels[i] = utHostile[i%len(utHostile)]
	}
	if err := st.AddAttention(utAttention(utHostile[0], []int64{0}, 2, 4, labels, b)); err != nil {
		t.Fatal(err)
	}
	facts := utQwen()
	facts.Name, facts.Architecture, facts.Quantization = utHostile[1], utHostile[0], utHostile[2]
	st.SetModelFacts([]store.ModelFacts{facts})
	sec := Unified(utData(st, 500))
	for _, f := range sec.Figures {
		if f.Empty != "" {
			t.Errorf("%s empty: %s", f.ID, f.Empty)
		}
		raw := utMarshal(t, f)
		for _, bad := range []string{"<img", "</script", "<script"} {
			if bytes.Contains(raw, []byte(bad)) {
				t.Errorf("%s: raw JSON contains %q", f.ID, bad)
			}
		}
		if bytes.Contains(raw, []byte("\u2028")) || bytes.Contains(raw, []byte("\u2029")) {
			t.Errorf("%s: raw JSON contains a raw line/paragraph separator", f.ID)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		// Figures that show telemetry strings must show them escaped.
		// (The indicators and the statistics show numbers only.)
		found := f.ID == "unified-indicators" || f.ID == "unified-statistics"
		utWalkStrings(v, func(s string) {
			for _, bad := range []string{"<img", "</script", "<script", `"quoted"`} {
				if strings.Contains(s, bad) {
					t.Errorf("%s: string %q contains %q after decoding", f.ID, s, bad)
				}
			}
			if strings.Contains(s, "&lt;img") || strings.Contains(s, "&lt;/script") {
				found = true
			}
		})
		if !found {
			t.Errorf("%s: no escaped telemetry string found", f.ID)
		}
	}
	utMarshal(t, sec)
}

// ---- performance grid ---------------------------------------------------------------------

func TestUnifiedPerformance(t *testing.T) {
	f := utFigure(t, Unified(utData(utFull(t), 500)), "unified-performance")
	if !f.Wide || f.Height < 700 {
		t.Errorf("wide %v height %d", f.Wide, f.Height)
	}
	for i := 1; i <= 6; i++ {
		s := ""
		if i > 1 {
			s = fmt.Sprint(i)
		}
		if f.Layout["xaxis"+s] == nil || f.Layout["yaxis"+s] == nil {
			t.Errorf("axes of subplot %d missing", i)
		}
	}
	y7, _ := f.Layout["yaxis7"].(Obj)
	if y7 == nil || y7["overlaying"] != "y6" || y7["side"] != "right" {
		t.Errorf("yaxis7 %v", y7)
	}
	if a := f.Layout["annotations"].([]Obj); len(a) != 6 {
		t.Errorf("%d annotations, want 6 titles", len(a))
	}
	axes := map[string]bool{}
	for _, tr := range f.Data {
		axes[tr["xaxis"].(string)+"/"+tr["yaxis"].(string)] = true
	}
	for _, want := range []string{"x/y", "x2/y2", "x3/y3", "x4/y4", "x5/y5", "x6/y6", "x6/y7"} {
		if !axes[want] {
			t.Errorf("no trace on %s (have %v)", want, axes)
		}
	}

	// Only GPU data: the request cells say what they need.
	st := utStore(100)
	st.AddPoints(utGauge("hw.gpu.utilization", "GPU 0", nil, utBase().UnixMilli(), 1000, 0.5, 0.6))
	f = utFigure(t, Unified(utData(st, 500)), "unified-performance")
	if f.Empty != "" {
		t.Fatalf("empty with GPU data: %s", f.Empty)
	}
	n := 0
	for _, a := range f.Layout["annotations"].([]Obj) {
		if strings.HasPrefix(a["text"].(string), "no data: needs") {
			n++
		}
	}
	if n != 5 {
		t.Errorf("%d no-data notes, want 5", n)
	}
	if _, ok := f.Layout["yaxis7"]; ok {
		t.Error("power axis without power data")
	}
	utMarshal(t, f)
}

// ---- 3D panels ----------------------------------------------------------------------------

func TestUnifiedEmbeddings(t *testing.T) {
	b := utBase()
	st := utStore(100)
	var spans []store.Span
	for i := range 700 {
		s := utSpan(i+1, 1, 0, fmt.Sprintf("s%d", i), statusOK, b.Add(time.Duration(i)*time.Second), time.Millisecond)
		s.HasProjection = i%7 != 0
		s.Projection = [3]float64{float64(i), 1, 2}
		s.Category = []string{"code", "chat", ""}[i%3]
		spans = append(spans, s)
	}
	st.AddSpans(spans)
	f := utFigure(t, Unified(utData(st, 500)), "unified-embeddings-3d")
	if f.Empty != "" {
		t.Fatalf("empty: %s", f.Empty)
	}
	n := 0
	names := map[string]bool{}
	minX := math.Inf(1)
	for _, tr := range f.Data {
		if tr["type"] != "scatter3d" {
			t.Errorf("type %v", tr["type"])
		}
		names[tr["name"].(string)] = true
		for _, x := range tr["x"].(Nums) {
			minX = min(minX, x)
		}
		n += len(tr["x"].(Nums))
	}
	if n != 500 {
		t.Errorf("%d points, want 500", n)
	}
	if len(names) != 3 || !names["code"] || !names["chat"] || !names["(no category)"] {
		t.Errorf("categories %v", names)
	}
	if minX < 100 {
		t.Errorf("oldest point x=%v: not the newest points", minX)
	}

	// Many categories share a trace beyond the bound.
	st = utStore(100)
	spans = spans[:0]
	for i := range 100 {
		s := utSpan(i+1, 1, 0, "s", statusOK, b, time.Millisecond)
		s.HasProjection, s.Category = true, fmt.Sprintf("cat%d", i)
		spans = append(spans, s)
	}
	st.AddSpans(spans)
	f = utFigure(t, Unified(utData(st, 500)), "unified-embeddings-3d")
	if len(f.Data) != maxEmbeddingCategories {
		t.Errorf("%d traces, want %d", len(f.Data), maxEmbeddingCategories)
	}
}

// ---- indicators ---------------------------------------------------------------------------

func TestUnifiedIndicators(t *testing.T) {
	f := utFigure(t, Unified(utData(utFull(t), 500)), "unified-indicators")
	if len(f.Data) != 4 || !f.Wide {
		t.Fatalf("%d traces, wide %v", len(f.Data), f.Wide)
	}
	gpu, sr, lat, temp := f.Data[0], f.Data[1], f.Data[2], f.Data[3]
	for i, tr := range f.Data {
		if tr["type"] != "indicator" {
			t.Errorf("trace %d type %v", i, tr["type"])
		}
		x := tr["domain"].(Obj)["x"].([]float64)
		if x[0] < float64(i)*0.25 || x[1] > float64(i+1)*0.25 {
			t.Errorf("trace %d domain %v", i, x)
		}
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if gpu["mode"] != "gauge+number" || !near(float64(gpu["value"].(Num)), 40) {
		t.Errorf("gpu %v", gpu)
	}
	if sr["mode"] != "gauge+number+delta" || sr["delta"].(Obj)["reference"] == nil {
		t.Errorf("success rate %v", sr)
	}
	if lat["mode"] != "number+delta" || lat["delta"].(Obj)["increasing"].(Obj)["color"] != colorError {
		t.Errorf("latency %v", lat)
	}
	// Older half: requests 0..19 (latency 100..480 ms), newer 20..39 (500..880 ms).
	if v, ref := float64(lat["value"].(Num)), float64(lat["delta"].(Obj)["reference"].(Num)); !near(v, 690) || !near(ref, 290) {
		t.Errorf("latency %v ms, reference %v ms", v, ref)
	}
	th := temp["gauge"].(Obj)["threshold"].(Obj)
	if float64(temp["value"].(Num)) != 71 || th["value"] != 85.0 {
		t.Errorf("temperature %v threshold %v", temp["value"], th)
	}
	utMarshal(t, f)
}

// ---- logs ---------------------------------------------------------------------------------

func TestUnifiedLogs(t *testing.T) {
	st := utStore(300)
	b := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Hour / 60)
	var logs []store.Log
	for i := range 250 {
		logs = append(logs, store.Log{TimeNs: b.Add(time.Duration(i) * time.Second).UnixNano(), Body: fmt.Sprintf("record %d", i),
			SeverityNumber: int32(9 + 4*(i%3)), TraceID: [16]byte{0xde, 0xad, 0xbe, 0xef, byte(i)}, Service: "llama-server"})
	}
	st.AddLogs(logs)
	f := utFigure(t, Unified(utData(st, 500)), "unified-logs")
	if f.Empty != "" || f.Data[0]["type"] != "table" {
		t.Fatalf("figure %+v", f)
	}
	cols := f.Data[0]["cells"].(Obj)["values"].([][]string)
	if len(cols) != 5 || len(cols[0]) != 200 {
		t.Fatalf("%d columns of %d rows", len(cols), len(cols[0]))
	}
	if cols[3][0] != "record 249" || cols[3][199] != "record 50" {
		t.Errorf("rows from %q to %q", cols[3][0], cols[3][199])
	}
	if want := b.Add(249 * time.Second).Format("15:04:05.000"); cols[0][0] != want {
		t.Errorf("time %q, want %q", cols[0][0], want)
	}
	if cols[1][0] != "INFO" || cols[1][1] != "ERROR" || cols[2][0] != "llama-server" || cols[4][0] != "deadbeef" {
		t.Errorf("row 0: %q %q %q", cols[1][0], cols[2][0], cols[4][0])
	}
}
