// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// utGateway is a gateway request (server span, id 1 of trace tr) and its phases (ids 2..4):
// queue 10 ms, prompt 30 ms, generation for the rest.
func utGateway(tr int, start time.Time, total time.Duration, failed bool) (parent store.Span, phases []store.Span) {
	parent = utRequest(tr, start, total, 100, 20, failed)
	parent.Kind = spanKindServer
	parent.Model = fmt.Sprintf("model-%d", tr%2)
	at := start
	for i, p := range []struct {
		name string
		d    time.Duration
	}{{phaseQueue, 10 * time.Millisecond}, {phasePrompt, 30 * time.Millisecond}, {phaseGeneration, total - 40*time.Millisecond}} {
		phases = append(phases, utSpan(tr, 2+i, 1, p.name, statusUnset, at, p.d))
		at = at.Add(p.d)
	}
	return parent, phases
}

func utBars(f *Figure, name string) Obj {
	for _, tr := range f.Data {
		if tr["name"] == name {
			return tr
		}
	}
	return nil
}

func TestWaterfallJoinsPhasesAcrossBatches(t *testing.T) {
	b := utBase()
	st := utStore(10)
	var parents, early, late []store.Span
	for i := range 20 {
		p, ph := utGateway(i+1, b.Add(time.Duration(i)*time.Second), time.Duration(100+10*i)*time.Millisecond, i == 17)
		parents = append(parents, p)
		if i%2 == 0 {
			early = append(early, ph...) // before their parent
		} else {
			late = append(late, ph...) // after it, in another batch
		}
	}
	st.AddSpans(early)
	st.AddSpans(parents)
	// Before the late children: those rows show the total only.
	f := utFigure(t, Unified(utData(st, 500)), "unified-waterfall")
	if n := len(utBars(f, phaseQueue)["y"].(Nums)); n != 7 {
		t.Errorf("%d queue bars before the late batch, want 7 (the even requests of the newest 15)", n)
	}
	if !strings.Contains(f.Title, "8 of 15 without phase spans") {
		t.Errorf("title %q", f.Title)
	}
	st.AddSpans(late)
	f = utFigure(t, Unified(utData(st, 500)), "unified-waterfall")
	if f.Empty != "" || !f.Wide || f.Layout["barmode"] != "overlay" {
		t.Fatalf("figure %+v", f)
	}
	ticks := f.Layout["yaxis"].(Obj)["ticktext"].([]string)
	if len(ticks) != waterfallRows {
		t.Fatalf("%d rows, want the newest %d", len(ticks), waterfallRows)
	}
	// Newest on top (highest y), labelled by start time (UTC) and model.
	newest := b.Add(19 * time.Second).UTC().Format("15:04:05.000")
	if ticks[14] != newest+" · model-0" {
		t.Errorf("top row %q, want %q", ticks[14], newest+" · model-0")
	}
	if !strings.HasPrefix(ticks[12], "✕ ") {
		t.Errorf("failed request's row %q not marked", ticks[12])
	}
	for _, ph := range []struct {
		name      string
		base, len func(i int) float64
	}{
		{phaseQueue, func(int) float64 { return 0 }, func(int) float64 { return 10 }},
		{phasePrompt, func(int) float64 { return 10 }, func(int) float64 { return 30 }},
		{phaseGeneration, func(int) float64 { return 40 }, func(i int) float64 { return float64(100+10*i) - 40 }},
	} {
		bars := utBars(f, ph.name)
		if bars == nil || bars["type"] != "bar" || bars["orientation"] != "h" {
			t.Fatalf("%s: %v", ph.name, bars)
		}
		y, x, base := bars["y"].(Nums), bars["x"].(Nums), bars["base"].(Nums)
		if len(y) != waterfallRows {
			t.Fatalf("%s: %d bars", ph.name, len(y))
		}
		for j := range y {
			i := int(y[j]) + 5 // row 0 is request 5
			if math.Abs(base[j]-ph.base(i)) > 1e-6 || math.Abs(x[j]-ph.len(i)) > 1e-6 {
				t.Errorf("%s of request %d: from %v ms for %v ms", ph.name, i, base[j], x[j])
			}
		}
	}
	total := utBars(f, "request (total)")
	if x := total["x"].(Nums); len(x) != waterfallRows || x[14] != 290 {
		t.Errorf("totals %v", x)
	}
	if c := total["marker"].(Obj)["line"].(Obj)["color"].([]string); c[12] != colorError || c[11] != colorTotal {
		t.Errorf("outline colours %v", c)
	}
	failed := utBars(f, "failed")
	if failed == nil || len(failed["y"].(Nums)) != 1 || failed["y"].(Nums)[0] != 12 {
		t.Errorf("failed marker %v", failed)
	}
	utMarshal(t, f)
}

func TestWaterfallEmptyAndWithoutGateway(t *testing.T) {
	f := utFigure(t, Unified(utData(utStore(10), 500)), "unified-waterfall")
	if !strings.Contains(f.Empty, "gateway") || !strings.Contains(f.Empty, "queue, prompt and generation") {
		t.Errorf("empty text %q", f.Empty)
	}
	// A client span around the gateway's: the gateway's span is the row, its phases drawn from
	// its own start.
	b := utBase()
	st := utStore(10)
	client := utRequest(1, b, 500*time.Millisecond, 10, 10, false)
	client.Kind = 3
	server, phases := utGateway(1, b.Add(50*time.Millisecond), 400*time.Millisecond, false)
	server.SpanID, server.ParentID = [8]byte{7}, client.SpanID
	for i := range phases {
		phases[i].ParentID = server.SpanID
	}
	st.AddSpans(append([]store.Span{client, server}, phases...))
	f = utFigure(t, Unified(utData(st, 500)), "unified-waterfall")
	if x := utBars(f, "request (total)")["x"].(Nums); len(x) != 1 || x[0] != 400 {
		t.Errorf("totals %v, want the gateway's 400 ms", x)
	}
	if base := utBars(f, phasePrompt)["base"].(Nums); len(base) != 1 || base[0] != 10 {
		t.Errorf("prompt from %v ms", base)
	}
}
