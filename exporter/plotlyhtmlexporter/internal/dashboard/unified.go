// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

// Sizes and limits of the unified dashboard.
const (
	traceGraphHeight  = 560
	performanceHeight = 760
	internals3DHeight = 520
	indicatorsHeight  = 300
	logsHeight        = 360
	// webGLNodes is the node count above which the trace graph draws with WebGL.
	webGLNodes = 2000
	// logRows is how many log records the table shows.
	logRows = 200
	// maxEmbeddingCategories bounds the embedding plot's traces; rarer categories share one.
	maxEmbeddingCategories = 24
	// previewRunes bounds a prompt preview in hover text.
	previewRunes = 120
)

const (
	needProjection = "spans with llt.embedding.projection (the genaienrich processor with embeddings enabled)"
	needLogs       = "log records (logs pipeline: the llamacpp receiver forwards llama-server's log)"
)

// Unified is the unified production observability dashboard: a trace graph, the newest
// requests' waterfall, a performance grid, model internals (embedding projections in 3D beside
// the served model's facts, then a sampled prompt's attention as a 3D surface and a heatmap), key
// indicators, the statistics (mean, P50, P95, max of each series), recent logs, and a text summary with bottleneck verdicts.
func Unified(d *Data) *Section {
	return &Section{Name: "unified", Title: "Unified: traces, performance, model internals", Figures: []*Figure{
		traceGraph(d),
		requestWaterfall(d),
		performanceGrid(d),
		embeddingScatter(d),
		modelPanel(d),
		attentionPanel(d),
		keyIndicators(d),
		statisticsTable(d, "unified-statistics"),
		recentLogs(d),
	}, Summary: Summarize(d)}
}

// emptyPanel is an empty panel (of the usual panel height: an empty panel need not be tall).
func emptyPanel(id, title, need string, wide bool) *Figure {
	f := emptyFig(id, title, need)
	f.Wide = wide
	return f
}

// clipRunes shortens s to at most n runes (before escaping), marking the cut.
func clipRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
