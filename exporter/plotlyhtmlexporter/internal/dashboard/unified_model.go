// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"fmt"
	"path"
	"strconv"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/store"
)

// modelColumns bounds the models the model panel shows side by side.
const modelColumns = 4

const needModel = "llamacpp.model.* facts: resource attributes of the llamacpp receiver's metrics (metrics pipeline), " +
	"or the model facts the genaienrich processor puts on request spans"

// modelFactRows are the rows of the model panel, in order.
var modelFactRows = []string{"name", "architecture", "parameters", "quantization", "context (train)",
	"layers", "heads (kv)", "embedding", "vocab", "file size", "file"}

// modelFactColumn is one column of the model panel: a value per row of modelFactRows, "—" when
// unknown, HTML-escaped.
func modelFactColumn(m *store.ModelFacts) []string {
	heads := "—"
	switch {
	case m.HeadCount > 0 && m.HeadCountKV > 0:
		heads = fmt.Sprintf("%d (kv %d)", m.HeadCount, m.HeadCountKV)
	case m.HeadCount > 0:
		heads = strconv.FormatInt(m.HeadCount, 10)
	case m.HeadCountKV > 0:
		heads = fmt.Sprintf("— (kv %d)", m.HeadCountKV)
	}
	file := "—"
	if m.Path != "" {
		file = Text(path.Base(m.Path))
	}
	return []string{
		Text(m.Name),
		factOrDash(Text(m.Architecture)),
		factParams(m.Parameters),
		factOrDash(Text(m.Quantization)),
		factInt(m.ContextTrain, " tokens"),
		factInt(m.BlockCount, ""),
		heads,
		factInt(m.EmbeddingLength, ""),
		factInt(m.VocabSize, " tokens"),
		factBytes(m.SizeBytes),
		file,
	}
}

// modelPanel is a table of the served models' GGUF facts.
func modelPanel(d *Data) *Figure {
	const id, title = "unified-model", "Model: the served model's GGUF facts"
	models := d.Snap.Models
	if len(models) == 0 {
		return emptyPanel(id, title, needModel, false)
	}
	if len(models) > modelColumns {
		models = models[:modelColumns]
	}
	header := []string{"<b>fact</b>"}
	cols := [][]string{make([]string, len(modelFactRows))}
	for i, r := range modelFactRows {
		cols[0][i] = "<b>" + r + "</b>"
	}
	for i := range models {
		header = append(header, "<b>"+Text(clipRunes(models[i].Name, 48))+"</b>")
		cols = append(cols, modelFactColumn(&models[i]))
	}
	widths := []float64{1.1}
	for range models {
		widths = append(widths, 2)
	}
	return &Figure{ID: id, Title: title, Height: internals3DHeight, Layout: Obj{"margin": Obj{"l": 10, "r": 10, "t": 10, "b": 10}},
		Data: []Obj{{
			"type": "table", "columnwidth": widths,
			"header": Obj{"values": header, "align": "left", "fill": Obj{"color": "#eef1f4"}, "font": Obj{"size": 13}, "height": 30},
			"cells":  Obj{"values": cols, "align": "left", "font": Obj{"size": 13}, "height": 30},
		}}}
}

func factOrDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// factInt prints a positive integer with thousands separators, "—" otherwise.
func factInt(v int64, unit string) string {
	if v <= 0 {
		return "—"
	}
	s := strconv.FormatInt(v, 10)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out) + unit
}

// factUnit is a unit of factScaled: values of at least div are shown in it.
type factUnit struct {
	div  float64
	name string
}

var (
	paramUnits = []factUnit{{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}}
	byteUnits  = []factUnit{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}}
)

// factScaled prints v in the largest unit it reaches, to 3 significant digits, else v and
// small; "—" when unknown (v <= 0).
func factScaled(v int64, units []factUnit, small string) string {
	if v <= 0 {
		return "—"
	}
	f := float64(v)
	for _, u := range units {
		if f >= u.div {
			return factSig3(f/u.div) + " " + u.name
		}
	}
	return strconv.FormatInt(v, 10) + small
}

// factParams prints a parameter count as 1.54 B, 125 M, ...; "—" when unknown.
func factParams(v int64) string { return factScaled(v, paramUnits, "") }

// factBytes prints a size in binary units (1.79 GiB); "—" when unknown.
func factBytes(v int64) string { return factScaled(v, byteUnits, " B") }

// factSig3 prints x (1 <= x < 1000 or so) with three significant digits: 1.54, 70.6, 405.
func factSig3(x float64) string {
	switch {
	case x >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}
