// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"math"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// The seed corpora in testdata/fuzz/FuzzSlots and testdata/fuzz/FuzzMetrics are real answers of
// both llama-server generations (see testdata/scraper/README.md); crashers found by fuzzing are
// kept there as regression cases.

// FuzzSlots: parseSlots never panics, and what it accepts has unique ids and can be recorded.
func FuzzSlots(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		slots, err := parseSlots(body)
		if err != nil {
			if slots != nil {
				t.Fatalf("slots %v returned with error %v", slots, err)
			}
			return
		}
		seen := map[int64]bool{}
		for _, s := range slots {
			if seen[s.ID] {
				t.Fatalf("duplicate id %d accepted", s.ID)
			}
			seen[s.ID] = true
		}
		mb := newTestBuilder()
		recordSlots(mb, pcommon.NewTimestampFromTime(testTime), slots)
		md := mb.Emit()
		if got := points(md, "llamacpp.slots.total"); got.Len() != 1 || got.At(0).IntValue() != int64(len(slots)) {
			t.Fatalf("llamacpp.slots.total does not say %d", len(slots))
		}
	})
}

// FuzzMetrics: the /metrics text → OTel conversion (decodeMetrics, then record) never panics;
// everything it emits is a llamacpp.* metric, and counters are finite and not negative.
func FuzzMetrics(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		pm, err := decodeMetrics(body)
		if err != nil {
			return
		}
		for k, v := range pm.counters() {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("counter %s = %v", k, v)
			}
		}
		mb := newTestBuilder()
		_, _ = pm.record(mb, pcommon.NewTimestampFromTime(testTime))
		md := mb.Emit()
		rms := md.ResourceMetrics()
		for i := 0; i < rms.Len(); i++ {
			ms := rms.At(i).ScopeMetrics().At(0).Metrics()
			for j := 0; j < ms.Len(); j++ {
				m := ms.At(j)
				if !strings.HasPrefix(m.Name(), "llamacpp.") {
					t.Fatalf("emitted %q", m.Name())
				}
				if m.Type() == pmetric.MetricTypeSum && !m.Sum().IsMonotonic() {
					t.Fatalf("%s is a non-monotonic sum", m.Name())
				}
			}
		}
		if n := len(pm.known) + len(pm.unknown); md.DataPointCount() > n {
			t.Fatalf("%d data points from %d samples", md.DataPointCount(), n)
		}
	})
}

// FuzzRouterModels: a router's /models body never panics the parser, and what it returns is
// sorted by id, without empty or repeated ids, with a known status or none.
func FuzzRouterModels(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		models, err := parseRouterModels(body)
		if err != nil {
			if models != nil {
				t.Fatalf("models %v returned with error %v", models, err)
			}
			return
		}
		for i, m := range models {
			if m.ID == "" {
				t.Fatal("empty id accepted")
			}
			if i > 0 && models[i-1].ID >= m.ID {
				t.Fatalf("ids not sorted or repeated: %q then %q", models[i-1].ID, m.ID)
			}
			if m.Status != 0 && !slices.Contains(allModelStatuses, m.Status) {
				t.Fatalf("status %v", m.Status)
			}
		}
	})
}
