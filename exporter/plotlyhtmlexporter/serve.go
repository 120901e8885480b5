// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/dashboard"
	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/plotlyjs"
)

const dataPath = "/api/dashboard.json"

// handler serves the live pages:
//
//	/                    every configured dashboard
//	/overview, /live, /unified   one dashboard
//	/api/dashboard.json?d=a,b    the data the pages fetch every refresh
//	/plotly.min.js       the plotly.js bundle
func (e *plotlyExporter) handler(refresh time.Duration) http.Handler {
	mux := http.NewServeMux()
	page := func(dashboards []string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			p := e.page(dashboards)
			p.Live = &dashboard.LiveConfig{URL: "api/dashboard.json?d=" + strings.Join(dashboards, ","), RefreshMs: refresh.Milliseconds()}
			var buf bytes.Buffer
			if err := dashboard.WriteHTML(&buf, p, e.serveLoader()); err != nil {
				e.logger.Warn("rendering a live page failed", zap.Error(err))
				http.Error(w, "rendering failed", http.StatusInternalServerError)
				return
			}
			e.securityHeaders(w)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(buf.Bytes())
		}
	}
	mux.HandleFunc("GET /{$}", page(e.cfg.Dashboards))
	for _, d := range e.cfg.Dashboards {
		mux.HandleFunc("GET /"+d, page([]string{d}))
	}
	mux.HandleFunc("GET "+dataPath, func(w http.ResponseWriter, r *http.Request) {
		var ds []string
		for _, d := range strings.Split(r.URL.Query().Get("d"), ",") {
			if slices.Contains(e.cfg.Dashboards, d) && !slices.Contains(ds, d) {
				ds = append(ds, d)
			}
		}
		if len(ds) == 0 {
			ds = e.cfg.Dashboards
		}
		b, err := e.page(ds).JSON()
		if err != nil {
			e.logger.Warn("encoding live data failed", zap.Error(err))
			http.Error(w, "encoding failed", http.StatusInternalServerError)
			return
		}
		e.securityHeaders(w)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	})
	if e.bundle != nil {
		mux.HandleFunc("GET /"+plotlyjs.FileName, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Header().Set("Cache-Control", "public, max-age=86400")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			http.ServeContent(w, r, plotlyjs.FileName, time.Time{}, bytes.NewReader(e.bundle))
		})
	}
	return mux
}

// serveLoader is how served pages get plotly.js: from this server when the bundle is here.
func (e *plotlyExporter) serveLoader() dashboard.Loader {
	if e.bundle != nil {
		return dashboard.Loader{Src: plotlyjs.FileName}
	}
	return dashboard.Loader{Src: plotlyjs.CDNURL, Integrity: plotlyjs.SRI}
}

// securityHeaders limit what a served page may load and run: its own scripts and data, plus the
// CDN when plotly.js comes from there. plotly.js's WebGL traces compile functions at run time,
// hence 'unsafe-eval'.
func (e *plotlyExporter) securityHeaders(w http.ResponseWriter) {
	scriptSrc := "'self' 'unsafe-inline' 'unsafe-eval'"
	if e.bundle == nil {
		scriptSrc += " https://cdn.plot.ly"
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src "+scriptSrc+
		"; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
}
