// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"fmt"
	"testing"
	"time"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// Requests to two models of one router: the latency panel draws one line per model, each with
// its own requests; one model draws the single "latency" line as before.
func TestLatencyPerModel(t *testing.T) {
	st := utStore(100)
	t0 := utBase()
	var spans []store.Span
	for i := range 6 {
		s := utRequest(i+1, t0.Add(time.Duration(i)*time.Second), time.Duration(100+i)*time.Millisecond, 10, 5, false)
		if i%3 == 0 {
			s.Model = "beta"
		} else {
			s.Model = "alpha"
		}
		spans = append(spans, s)
	}
	st.AddSpans(spans)
	f := latencyOverTime(utData(st, 500))
	if len(f.Data) != 2 {
		t.Fatalf("%d traces, want one per model", len(f.Data))
	}
	got := map[string]int{}
	for _, tr := range f.Data {
		got[tr["name"].(string)] = len(tr["y"].(Nums))
	}
	if got["latency · alpha"] != 4 || got["latency · beta"] != 2 {
		t.Errorf("points per line %v", got)
	}

	one := utStore(100)
	one.AddSpans(spans[1:3])
	f = latencyOverTime(utData(one, 500))
	if len(f.Data) != 1 || f.Data[0]["name"] != "latency" {
		t.Errorf("one model: %d traces, first %v", len(f.Data), f.Data[0]["name"])
	}
}

// More models than lines: the rest share one "other models" line, and no request is lost.
func TestByModelBounded(t *testing.T) {
	var rs []Request
	for i := range 20 {
		s := utRequest(i+1, utBase(), time.Second, 1, 1, false)
		s.Model = fmt.Sprintf("m%02d", i)
		rs = append(rs, Request{Span: &s})
	}
	groups := byModel(rs)
	if len(groups) != maxModelGroups {
		t.Fatalf("%d groups", len(groups))
	}
	n := 0
	for _, g := range groups {
		n += len(g.Requests)
	}
	if n != 20 || groups[maxModelGroups-1].Model != "other models" || len(groups[maxModelGroups-1].Requests) != 20-(maxModelGroups-1) {
		t.Errorf("n %d, last %q with %d", n, groups[maxModelGroups-1].Model, len(groups[maxModelGroups-1].Requests))
	}
}
