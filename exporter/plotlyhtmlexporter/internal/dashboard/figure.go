// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package dashboard turns a store snapshot into the dashboards' figures (plotly.js traces and
// layouts as JSON-ready values) and writes them as an HTML page.
//
// Safety: every string that comes from telemetry goes through Text (HTML-escaped for plotly's
// pseudo-HTML text rendering) before it enters a figure; the figures reach the page as JSON from
// encoding/json, which escapes <, >, &, U+2028 and U+2029, inside a script element of type
// application/json; the page's own script writes text into the DOM with textContent only.
package dashboard // import "github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/dashboard"

import (
	"html"
	"math"
	"strconv"
	"unicode/utf8"
)

// Obj is a JSON object (a plotly trace, layout or config).
type Obj = map[string]any

// Figure is one panel: a plotly figure, or an empty panel saying which data would fill it.
type Figure struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Data   []Obj  `json:"data"`
	Layout Obj    `json:"layout"`
	// Empty, when set, is shown instead of data: what would fill the panel.
	Empty string `json:"empty,omitempty"`
	// Height in pixels; Wide panels take a whole row.
	Height int  `json:"height"`
	Wide   bool `json:"wide,omitempty"`
}

// Section is one dashboard on a page.
type Section struct {
	Name    string    `json:"name"`
	Title   string    `json:"title"`
	Figures []*Figure `json:"figures"`
	// Summary is the unified dashboard's text summary (nil elsewhere).
	Summary *Summary `json:"summary,omitempty"`
}

// Page is everything a page draws.
type Page struct {
	Title string `json:"title"`
	// GeneratedMs is when the page's data was taken (Unix ms); FromMs the start of the window.
	GeneratedMs int64      `json:"generated_ms"`
	FromMs      int64      `json:"from_ms"`
	Sections    []*Section `json:"sections"`
	// Live, when set, makes the page fetch fresh data from URL every RefreshMs.
	Live *LiveConfig `json:"live,omitempty"`
	// Links are extra links shown in the header (for example a trace graph on a Graphistry server).
	Links []Link `json:"links,omitempty"`
}

// LiveConfig configures a page that refreshes itself.
type LiveConfig struct {
	URL       string `json:"url"`
	RefreshMs int64  `json:"refresh_ms"`
}

// Link is a header link.
type Link struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// Nums is a float series that marshals NaN and ±Inf as null (a gap in plotly) and uses the
// shortest exact decimal form.
type Nums []float64

// MarshalJSON implements json.Marshaler.
func (n Nums) MarshalJSON() ([]byte, error) {
	if n == nil {
		return []byte("[]"), nil
	}
	b := make([]byte, 0, 2+len(n)*8)
	b = append(b, '[')
	for i, v := range n {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, round(v), 'g', -1, 64)
	}
	return append(b, ']'), nil
}

// round keeps 5 significant digits: plenty for a chart, and it keeps pages small.
func round(v float64) float64 {
	if v == 0 || math.Abs(v) >= 1e15 {
		return v
	}
	f, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 5, 64), 64)
	if err != nil {
		return v
	}
	return f
}

// Times is a time axis in Unix milliseconds. It marshals as {"t0": first, "d": [deltas]}, which
// the page expands back into an array: deltas of a scrape interval take 4 digits, not 13.
type Times []int64

// MarshalJSON implements json.Marshaler.
func (ts Times) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 16+len(ts)*5)
	b = append(b, `{"t0":`...)
	var prev int64
	if len(ts) > 0 {
		prev = ts[0]
	}
	b = strconv.AppendInt(b, prev, 10)
	b = append(b, `,"d":[`...)
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, t-prev, 10)
		prev = t
	}
	return append(b, "]}"...), nil
}

// Num is one float that marshals like Nums.
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	v := float64(n)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, round(v), 'g', -1, 64), nil
}

// maxText bounds any telemetry string put on a page.
const maxText = 240

// Text makes a telemetry string safe to show in a plotly text field: at most maxText runes,
// invalid UTF-8 replaced, and HTML-escaped, because plotly renders a subset of HTML tags in
// hover text, titles and table cells.
func Text(s string) string {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // replaces invalid bytes with U+FFFD
	}
	if utf8.RuneCountInString(s) > maxText {
		r := []rune(s)
		s = string(r[:maxText]) + "…"
	}
	return html.EscapeString(s)
}
