// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"cmp"
	"slices"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// embeddingScatter is a 3D scatter of the spans' embedding projections, one trace per category.
func embeddingScatter(d *Data) *Figure {
	const id, title = "unified-embeddings-3d", "Prompt embeddings (3D projection, colour: category)"
	var pts []*store.Span
	d.Snap.Spans.Each(func(s *store.Span) bool {
		if s.HasProjection && finite(s.Projection[0]) && finite(s.Projection[1]) && finite(s.Projection[2]) {
			pts = append(pts, s)
		}
		return true
	})
	if len(pts) == 0 {
		return emptyPanel(id, title, needProjection, false)
	}
	slices.SortStableFunc(pts, func(a, b *store.Span) int { return cmp.Compare(a.StartNs, b.StartNs) })
	if len(pts) > d.Opts.MaxPoints {
		pts = pts[len(pts)-d.Opts.MaxPoints:]
	}
	// Categories by frequency (then name); beyond maxEmbeddingCategories they share one trace.
	count := map[string]int{}
	for _, s := range pts {
		count[s.Category]++
	}
	cats := make([]string, 0, len(count))
	for c := range count {
		cats = append(cats, c)
	}
	slices.SortFunc(cats, func(a, b string) int { return cmp.Or(cmp.Compare(count[b], count[a]), cmp.Compare(a, b)) })
	const other = "\x00other"
	group := map[string]string{}
	for i, c := range cats {
		if i < maxEmbeddingCategories-1 || len(cats) <= maxEmbeddingCategories {
			group[c] = c
		} else {
			group[c] = other
		}
	}
	if len(cats) > maxEmbeddingCategories {
		cats = append(cats[:maxEmbeddingCategories-1], other)
	}
	var traces []Obj
	for _, cat := range cats {
		var x, y, z Nums
		var text []string
		for _, s := range pts {
			if group[s.Category] != cat {
				continue
			}
			x = append(x, s.Projection[0])
			y = append(y, s.Projection[1])
			z = append(z, s.Projection[2])
			h := "<b>" + Text(s.Name) + "</b>"
			if s.Category != "" {
				h += "<br>category " + Text(s.Category)
			}
			if s.Preview != "" {
				h += "<br>" + Text(clipRunes(s.Preview, previewRunes))
			}
			text = append(text, h)
		}
		name := Text(cat)
		switch cat {
		case "":
			name = "(no category)"
		case other:
			name = "other categories"
		}
		traces = append(traces, Obj{
			"type": "scatter3d", "mode": "markers", "name": name, "x": x, "y": y, "z": z,
			"text": text, "hoverinfo": "text", "marker": Obj{"size": 4, "opacity": 0.8},
		})
	}
	lay := Obj{
		"scene": Obj{
			"xaxis": Obj{"title": Obj{"text": "projection 1"}},
			"yaxis": Obj{"title": Obj{"text": "projection 2"}},
			"zaxis": Obj{"title": Obj{"text": "projection 3"}},
		},
		"legend": Obj{"orientation": "h", "y": -0.05},
		"margin": Obj{"l": 0, "r": 0, "t": 30, "b": 30},
	}
	return &Figure{ID: id, Title: title, Height: internals3DHeight, Layout: lay, Data: traces}
}
