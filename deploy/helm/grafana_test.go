// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package helm

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	grafanaDashboard = "../grafana/otelcol-llt.json"
	llamacppDir      = "../../receiver/llamacppreceiver"
	nvmlDir          = "../../receiver/nvmlreceiver"
)

// otelMetric is a metric as a receiver documents it.
type otelMetric struct {
	name, unit, kind string // kind: gauge, counter (monotonic cumulative sum), updown (non-monotonic sum), histogram
}

// docMetrics reads the metrics of an mdatagen documentation.md: each "### name" heading followed by
// its "| Unit | Metric Type | ..." table.
func docMetrics(t *testing.T, file string) []otelMetric {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var out []otelMetric
	var name string
	var header []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "## "):
			name = ""
		case strings.HasPrefix(line, "### "):
			name, header = strings.TrimSpace(strings.TrimPrefix(line, "### ")), nil
		case name != "" && strings.HasPrefix(line, "| Unit |"):
			header = cells(line)
		case name != "" && header != nil && strings.HasPrefix(line, "|") && !strings.HasPrefix(line, "| ---"):
			row := map[string]string{}
			for i, c := range cells(line) {
				if i < len(header) {
					row[header[i]] = c
				}
			}
			m := otelMetric{name: name, unit: row["Unit"]}
			switch row["Metric Type"] {
			case "Gauge":
				m.kind = "gauge"
			case "Sum":
				m.kind = "updown"
				if row["Monotonic"] == "true" && row["Aggregation Temporality"] == "Cumulative" {
					m.kind = "counter"
				}
			case "Histogram":
				m.kind = "histogram"
			default:
				t.Fatalf("%s: %s: metric type %q", file, name, row["Metric Type"])
			}
			out = append(out, m)
			name, header = "", nil
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("%s: only %d metrics found", file, len(out))
	}
	return out
}

func cells(line string) []string {
	parts := strings.Split(strings.Trim(line, "|"), "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// gatewayMetrics reads the table of metrics the gateway adds from the llamacpp receiver's README:
// | `name` | type | unit | attributes |.
func gatewayMetrics(t *testing.T) []otelMetric {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(llamacppDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []otelMetric
	for _, line := range strings.Split(string(b), "\n") {
		c := cells(strings.TrimSpace(line))
		if len(c) < 3 || !strings.HasPrefix(c[0], "`") || !strings.HasPrefix(c[1], "histogram") && !strings.HasPrefix(c[1], "cumulative sum") {
			continue
		}
		m := otelMetric{name: strings.Trim(c[0], "`"), unit: c[2], kind: "histogram"}
		if strings.HasPrefix(c[1], "cumulative sum") {
			m.kind = "counter"
		}
		out = append(out, m)
	}
	if len(out) < 5 {
		t.Fatalf("gateway metrics: found %v", out)
	}
	return out
}

var unitNames = map[string]string{
	"d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds",
	"By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes",
	"m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams", "Cel": "celsius", "Hz": "hertz", "1": "", "%": "percent",
}
var perUnitNames = map[string]string{"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}

var nonName = regexp.MustCompile(`[^a-zA-Z0-9:]+`)

// promName is the name the collector's prometheus exporter gives a metric with its default
// translation strategy (UnderscoreEscapingWithSuffixes, the rules of prometheus/otlptranslator):
// every run of characters other than [a-zA-Z0-9:] becomes one "_"; the unit becomes a suffix
// (annotations in braces are dropped, "1" is none, "X/Y" gives "X_per_Y"), unless the name already
// has that word; monotonic cumulative sums end in "_total"; gauges with unit "1" end in "_ratio".
func promName(m otelMetric) string {
	tokens := strings.FieldsFunc(nonName.ReplaceAllString(m.name, "_"), func(r rune) bool { return r == '_' })
	main, per := m.unit, ""
	if i := strings.Index(main, "/"); i >= 0 {
		main, per = main[:i], main[i+1:]
	}
	mainSuffix, perSuffix := "", ""
	if main != "" && !strings.ContainsAny(main, "{}") {
		mainSuffix = main
		if n, ok := unitNames[main]; ok {
			mainSuffix = n
		}
	}
	if per != "" && !strings.ContainsAny(per, "{}") {
		p := per
		if n, ok := perUnitNames[per]; ok {
			p = n
		}
		perSuffix = "per_" + p
	}
	if mainSuffix != "" && !slices.Contains(tokens, mainSuffix) {
		tokens = append(tokens, mainSuffix)
	}
	if perSuffix != "" && !slices.Contains(tokens, perSuffix) {
		tokens = append(tokens, perSuffix)
	}
	if m.kind == "counter" {
		tokens = append(slices.DeleteFunc(tokens, func(s string) bool { return s == "total" }), "total")
	}
	if m.kind == "gauge" && m.unit == "1" {
		tokens = append(slices.DeleteFunc(tokens, func(s string) bool { return s == "ratio" }), "ratio")
	}
	return strings.Join(tokens, "_")
}

// emittedSeries are the Prometheus series names of every metric our receivers emit.
func emittedSeries(t *testing.T) map[string]bool {
	t.Helper()
	all := append(docMetrics(t, filepath.Join(llamacppDir, "documentation.md")), docMetrics(t, filepath.Join(nvmlDir, "documentation.md"))...)
	all = append(all, gatewayMetrics(t)...)
	out := map[string]bool{}
	for _, m := range all {
		n := promName(m)
		if m.kind == "histogram" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[n+s] = true
			}
			continue
		}
		out[n] = true
	}
	return out
}

func TestPromName(t *testing.T) {
	for _, tc := range []struct {
		m    otelMetric
		want string
	}{
		{otelMetric{"llamacpp.generation.tokens", "{token}", "counter"}, "llamacpp_generation_tokens_total"},
		{otelMetric{"llamacpp.slots.busy", "{slot}", "gauge"}, "llamacpp_slots_busy"},
		{otelMetric{"hw.gpu.utilization", "1", "gauge"}, "hw_gpu_utilization_ratio"},
		{otelMetric{"gen_ai.server.request.duration", "s", "histogram"}, "gen_ai_server_request_duration_seconds"},
		{otelMetric{"llamacpp.generation.duration", "s", "counter"}, "llamacpp_generation_duration_seconds_total"},
		{otelMetric{"llamacpp.generation.throughput", "{token}/s", "gauge"}, "llamacpp_generation_throughput_per_second"},
		{otelMetric{"hw.gpu.memory.usage", "By", "updown"}, "hw_gpu_memory_usage_bytes"},
		{otelMetric{"hw.status", "1", "updown"}, "hw_status"},
		{otelMetric{"nvidia.gpu.fan.speed_ratio", "1", "gauge"}, "nvidia_gpu_fan_speed_ratio"},
		{otelMetric{"hw.temperature", "Cel", "gauge"}, "hw_temperature_celsius"},
		{otelMetric{"hw.energy", "J", "counter"}, "hw_energy_joules_total"},
	} {
		if got := promName(tc.m); got != tc.want {
			t.Errorf("promName(%v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}

var (
	promqlStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promqlMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promqlFunctions = map[string]bool{
		"sum": true, "avg": true, "min": true, "max": true, "count": true, "rate": true, "irate": true, "increase": true,
		"histogram_quantile": true, "topk": true, "bottomk": true, "abs": true, "clamp_min": true, "clamp_max": true,
		"and": true, "or": true, "unless": true, "bool": true, "offset": true, "delta": true, "deriv": true, "avg_over_time": true,
		"max_over_time": true, "min_over_time": true, "label_values": true, "time": true, "vector": true, "scalar": true,
	}
)

// metricNames returns the metric names a PromQL expression selects.
func metricNames(expr string) []string {
	e := promqlStrings.ReplaceAllString(expr, " ")
	e = promqlMatchers.ReplaceAllString(e, " ")
	e = promqlRanges.ReplaceAllString(e, " ")
	e = promqlGrouping.ReplaceAllString(e, " ")
	var out []string
	for _, id := range promqlIdent.FindAllString(e, -1) {
		if !promqlFunctions[id] {
			out = append(out, id)
		}
	}
	return out
}

func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(grafanaDashboard)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		SchemaVersion int `json:"schemaVersion"`
		Inputs        []struct {
			Name     string `json:"name"`
			PluginID string `json:"pluginId"`
		} `json:"__inputs"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr       string `json:"expr"`
				Datasource struct {
					UID string `json:"uid"`
				} `json:"datasource"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if d.SchemaVersion != 39 {
		t.Errorf("schemaVersion %d", d.SchemaVersion)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs %+v", d.Inputs)
	}
	emitted := emittedSeries(t)
	check := func(where, expr string) {
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, n := range names {
			if !emitted[n] {
				t.Errorf("%s: %q is not a series our receivers emit through the prometheus exporter", where, n)
			}
		}
	}
	targets := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		for _, tg := range p.Targets {
			targets++
			if tg.Datasource.UID != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q: datasource %q", p.Title, tg.Datasource.UID)
			}
			check("panel "+p.Title, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if v.Definition != "" {
			check("variable "+v.Name, strings.TrimSuffix(strings.TrimPrefix(v.Definition, "label_values("), ", job)"))
		}
	}
	if targets < 15 {
		t.Errorf("only %d targets", targets)
	}
}
