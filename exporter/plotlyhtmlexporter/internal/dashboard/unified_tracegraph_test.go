// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// Success is green: a server span left UNSET (as instrumentations leave successful server spans)
// is "ok" like an OK span; a span is "error" with status ERROR or an error.type attribute. The
// legend says "ok" and "error", never "unset".
func TestTraceGraphOutcomes(t *testing.T) {
	st := utStore(100)
	b := utBase()
	server := utSpan(1, 1, 0, "chat unset-ok", statusUnset, b, time.Second)
	server.Kind = spanKindServer
	unsetErr := utSpan(1, 2, 1, "unset-with-error-type", statusUnset, b, time.Millisecond)
	unsetErr.ErrorType = "timeout"
	okSpan := utSpan(1, 3, 1, "explicit-ok", statusOK, b, time.Millisecond)
	errSpan := utSpan(1, 4, 1, "explicit-error", statusError, b, time.Millisecond)
	st.AddSpans([]store.Span{server, unsetErr, okSpan, errSpan})
	f := traceGraph(utData(st, 500))
	want := map[string]string{"chat unset-ok": outcomeOK, "explicit-ok": outcomeOK,
		"unset-with-error-type": outcomeError, "explicit-error": outcomeError}
	var legend []string
	for _, tr := range utNodeTraces(f) {
		name := tr["name"].(string)
		legend = append(legend, name)
		colour := tr["marker"].(Obj)["color"]
		if (name == "ok" && colour != colorOK) || (name == "error" && colour != colorError) {
			t.Errorf("%s drawn %v", name, colour)
		}
		for _, h := range tr["text"].([]string) {
			n := utNodeName(h)
			if want[n] != name {
				t.Errorf("span %s under %q, want %q", n, name, want[n])
			}
			if !strings.Contains(h, name+" (status ") {
				t.Errorf("hover %q does not give the outcome and the status", h)
			}
		}
	}
	if !slices.Equal(legend, []string{"ok", "error"}) {
		t.Errorf("legend %v", legend)
	}
	if !strings.Contains(f.Title, "ok / error") {
		t.Errorf("title %q", f.Title)
	}
}
