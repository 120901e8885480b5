// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/downsample"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// Builders by dashboard name.
var builders = map[string]func(*Data) *Section{
	"overview": Overview,
	"live":     Live,
	"unified":  Unified,
}

// Build draws the named dashboards from a snapshot.
func Build(snap *store.Snapshot, opts Options, dashboards []string) *Page {
	d := NewData(snap, opts)
	p := &Page{Title: opts.Title, GeneratedMs: snap.Now.UnixMilli(), FromMs: snap.From.UnixMilli()}
	for _, name := range dashboards {
		if b := builders[name]; b != nil {
			sec := b(d)
			for _, f := range sec.Figures {
				budget(f, panelBudget*d.Opts.MaxPoints)
			}
			p.Sections = append(p.Sections, sec)
		}
	}
	return p
}

// panelBudget bounds the points of all time-series lines in one panel, in units of
// max_points_per_series: a panel of 16 GPU series does not need 16 x 5000 points to look right.
const panelBudget = 4

// budget thins the time-series lines of a figure (x Times, y Nums) with LTTB when together they
// hold more than max points, giving each line an equal share.
func budget(f *Figure, limit int) {
	total, lines := 0, 0
	for _, tr := range f.Data {
		if x, ok := tr["x"].(Times); ok {
			if _, ok := tr["y"].(Nums); ok {
				total += len(x)
				lines++
			}
		}
	}
	if total <= limit || lines == 0 {
		return
	}
	share := max(limit/lines, 10)
	for _, tr := range f.Data {
		x, ok := tr["x"].(Times)
		y, ok2 := tr["y"].(Nums)
		if !ok || !ok2 || len(x) <= share {
			continue
		}
		xs := make([]float64, len(x))
		for i := range x {
			xs[i] = float64(x[i])
		}
		ox, oy := downsample.LTTB(xs, y, share)
		nx := make(Times, len(ox))
		for i := range ox {
			nx[i] = int64(ox[i])
		}
		tr["x"], tr["y"] = nx, Nums(oy)
	}
}

// Loader says how the page gets plotly.js: Inline bytes, or a script Src (with an optional
// subresource-integrity hash).
type Loader struct {
	Inline    []byte
	Src       string
	Integrity string
}

// JSON is the page's data as the page's script reads it (and as the live endpoint serves it).
// encoding/json escapes <, >, & and U+2028/U+2029, so the result is safe inside a script element.
func (p *Page) JSON() ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding dashboard data: %w", err)
	}
	return b, nil
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="otelcol-llt plotlyhtml exporter">
<title>{{.Title}}</title>
<style>{{.CSS}}</style>
<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>
{{if .Inline}}<script>{{.Inline}}</script>{{else}}<script src="{{.Src}}"{{if .Integrity}} integrity="{{.Integrity}}" crossorigin="anonymous"{{end}}></script>{{end}}
</head>
<body>
<header><h1 id="llt-title"></h1><nav id="llt-nav"></nav><span id="llt-status"></span></header>
<main id="llt-main"></main>
<script type="application/json" id="llt-data">{{.Data}}</script>
<script>{{.App}}</script>
</body>
</html>
`))

// WriteHTML writes a complete page: plotly.js as the loader says, the data, and the script
// that draws it (and, for a live page, refreshes it).
func WriteHTML(w io.Writer, p *Page, l Loader) error {
	data, err := p.JSON()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	err = pageTmpl.Execute(&buf, struct {
		Title     string
		CSS       template.CSS
		Inline    template.JS
		Src       string
		Integrity string
		// Data is encoding/json output (see JSON), which cannot close the script element.
		Data template.JS
		App  template.JS
	}{
		Title: p.Title, CSS: template.CSS(pageCSS),
		// The bundle is plotly.js's own minified source, fetched with a pinned checksum.
		Inline: template.JS(l.Inline), Src: l.Src, Integrity: l.Integrity,
		Data: template.JS(data), App: template.JS(pageJS),
	})
	if err != nil {
		return fmt.Errorf("rendering page: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

const pageCSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f7f9;color:#222}
header{display:flex;align-items:baseline;gap:1.5em;padding:.6em 1.2em;background:#1f2933;color:#fff;position:sticky;top:0;z-index:10}
header h1{font-size:1.15em;margin:0}
header a{color:#9fd3ff;margin-right:1em;text-decoration:none}
#llt-status{margin-left:auto;font-size:.85em;color:#cbd2d9}
section{padding:.4em 1.2em 1.2em}
section h2{font-size:1.05em;margin:.8em 0 .4em}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:12px}
.panel{background:#fff;border:1px solid #e1e4e8;border-radius:6px;padding:4px;min-width:0}
.panel.wide{grid-column:1/-1}
.panel h3{font-size:.9em;margin:.3em .5em;font-weight:600}
.summary{background:#fff;border:1px solid #e1e4e8;border-radius:6px;padding:.6em 1em;margin-top:12px}
.summary table{border-collapse:collapse}
.summary td{padding:.15em 1.2em .15em 0;vertical-align:top}
.verdict{margin:.3em 0}
.verdict b{display:inline-block;min-width:9em}
@media (max-width:900px){.grid{grid-template-columns:1fr}}
`

// pageJS draws the page from the JSON data. Text from the data reaches the DOM through
// textContent only; plotly receives strings that were HTML-escaped by Text on the server.
const pageJS = `(function () {
  "use strict";
  var first = JSON.parse(document.getElementById("llt-data").textContent);
  var plotConfig = {responsive: true, displaylogo: false};
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  // Time axes arrive as {t0, d: [deltas]} (see Times in figure.go).
  function expand(fig) {
    (fig.data || []).forEach(function (tr) {
      ["x", "y"].forEach(function (k) {
        var v = tr[k];
        if (v && !Array.isArray(v) && typeof v.t0 === "number" && Array.isArray(v.d)) {
          var out = new Array(v.d.length), t = v.t0;
          for (var i = 0; i < v.d.length; i++) { t += v.d[i]; out[i] = t; }
          tr[k] = out;
        }
      });
    });
    return fig.data;
  }
  // wrap breaks an (already escaped) text into lines of about n characters for a plot annotation.
  function wrap(text, n) {
    var out = [], line = "";
    text.split(" ").forEach(function (w) {
      if (line && line.length + w.length + 1 > n) { out.push(line); line = w; } else { line = line ? line + " " + w : w; }
    });
    if (line) out.push(line);
    return out.join("<br>");
  }
  function layoutOf(fig) {
    var l = Object.assign({}, fig.layout || {});
    l.height = fig.height || 340;
    l.margin = l.margin || {l: 60, r: 60, t: 30, b: 60};
    if (fig.empty) {
      l.xaxis = {visible: false}; l.yaxis = {visible: false};
      l.annotations = [{text: wrap(fig.empty.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"), 64),
        showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: {size: 13, color: "#666"}}];
    }
    return l;
  }
  function fmtSec(s) {
    if (s === null || s === undefined || isNaN(s)) return "n/a";
    return s < 1 ? (s * 1000).toFixed(0) + " ms" : s.toFixed(2) + " s";
  }
  function fmtNum(v, digits) {
    if (v === null || v === undefined || isNaN(v)) return "n/a";
    return Number(v).toFixed(digits || 0);
  }
  function summaryRows(s) {
    return [
      ["Latency P50 / P95 / P99", fmtSec(s.latency_p50_s) + " / " + fmtSec(s.latency_p95_s) + " / " + fmtSec(s.latency_p99_s)],
      ["Requests total / succeeded / failed", s.requests_total + " / " + s.requests_succeeded + " / " + s.requests_failed +
        (s.requests_total ? " (" + fmtNum(s.success_rate * 100, 1) + "% ok)" : "")],
      ["Tokens in / out", s.tokens_in + " / " + s.tokens_out],
      ["Time to first token (mean)", fmtSec(s.ttft_mean_s)],
      ["GPU utilization mean / max", s.gpu_count ? fmtNum(s.gpu_util_mean_pct, 1) + "% / " + fmtNum(s.gpu_util_max_pct, 1) + "% over " + s.gpu_count + " GPU(s)" : "no GPU data"],
      ["GPU energy per 1k output tokens", !s.gpu_energy_requests ? "n/a: no request carried llt.gen_ai.gpu.energy" :
        s.gpu_energy_j_per_1k_output_tokens === null ? "n/a: the requests with GPU energy produced no output tokens" :
        fmtNum(s.gpu_energy_j_per_1k_output_tokens, 1) + " J"],
      ["GPU energy / GPU time (total)", (s.gpu_energy_requests ? fmtNum(s.gpu_energy_j, 1) + " J over " + s.gpu_energy_requests + " request(s)" : "n/a") +
        " / " + (s.gpu_time_requests ? fmtNum(s.gpu_time_s, 2) + " s over " + s.gpu_time_requests + " request(s)" : "n/a")]
    ];
  }
  function drawSummary(box, s) {
    box.textContent = "";
    box.appendChild(el("h3", null, "Summary"));
    var table = el("table");
    summaryRows(s).forEach(function (r) {
      var tr = el("tr"); tr.appendChild(el("td", null, r[0])); tr.appendChild(el("td", null, r[1])); table.appendChild(tr);
    });
    box.appendChild(table);
    (s.verdicts || []).forEach(function (v) {
      var p = el("p", "verdict " + v.kind); p.appendChild(el("b", null, v.kind)); p.appendChild(document.createTextNode(" " + v.text));
      box.appendChild(p);
    });
  }
  var built = false;
  function build(page) {
    document.title = page.title;
    document.getElementById("llt-title").textContent = page.title;
    var nav = document.getElementById("llt-nav"), main = document.getElementById("llt-main");
    page.sections.forEach(function (sec) {
      var a = el("a", null, sec.name); a.href = "#" + sec.name; nav.appendChild(a);
      var s = el("section"); s.id = sec.name; s.appendChild(el("h2", null, sec.title));
      var grid = el("div", "grid");
      sec.figures.forEach(function (fig) {
        var p = el("div", "panel" + (fig.wide ? " wide" : ""));
        p.appendChild(el("h3", null, fig.title));
        var div = el("div", "plot"); div.id = fig.id; p.appendChild(div); grid.appendChild(p);
      });
      s.appendChild(grid);
      if (sec.summary) { var box = el("div", "summary"); box.id = sec.name + "-summary"; s.appendChild(box); }
      main.appendChild(s);
    });
    (page.links || []).forEach(function (l) {
      if (!/^https?:\/\//.test(l.url)) return;
      var a = el("a", null, l.text); a.href = l.url; a.rel = "noopener noreferrer"; a.target = "_blank"; nav.appendChild(a);
    });
    built = true;
  }
  // A figure whose data did not change since the last refresh is not redrawn: what the reader
  // chose in it (the attention panel's layer and head, a zoom) stays.
  var drawn = {};
  function draw(page) {
    if (!built) build(page);
    page.sections.forEach(function (sec) {
      sec.figures.forEach(function (fig) {
        var div = document.getElementById(fig.id);
        if (!div) return;
        var key = JSON.stringify(fig);
        if (drawn[fig.id] === key) return;
        drawn[fig.id] = key;
        Plotly.react(div, expand(fig), layoutOf(fig), plotConfig);
      });
      var box = document.getElementById(sec.name + "-summary");
      if (box && sec.summary) drawSummary(box, sec.summary);
    });
    var when = new Date(page.generated_ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
    document.getElementById("llt-status").textContent = (page.live ? "live · " : "snapshot · ") + when;
  }
  draw(first);
  if (first.live && first.live.url) {
    var busy = false;
    setInterval(function () {
      if (busy) return;
      busy = true;
      fetch(first.live.url, {cache: "no-store"}).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      }).then(function (page) { page.live = first.live; draw(page); }).catch(function (e) {
        document.getElementById("llt-status").textContent = "live · update failed: " + e.message;
      }).then(function () { busy = false; });
    }, Math.max(100, first.live.refresh_ms));
  }
})();
`
