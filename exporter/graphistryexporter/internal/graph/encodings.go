// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

// Colours of the categorical colour encodings.
const (
	ColorOK    = "#2ca02c" // green: status OK, and "ok" (UNSET without error.type)
	ColorError = "#d62728" // red: status ERROR or error.type
	ColorUnset = "#9e9e9e" // grey: UNSET (trace roots, external spans) and anything else
	ColorChild = "#9e9e9e" // grey: child edges and anything else
	ColorLink  = "#1f77b4" // blue: link edges
)

// Encodings returns the dataset's node_encodings and edge_encodings, ready
// for encoding/json, for POST /api/v2/upload/datasets/. Each call returns
// new maps.
//
// Shapes follow pygraphistry:
//   - bindings: graphistry/arrow_uploader.py (ArrowUploader.g_to_node_bindings
//     and g_to_edge_bindings: point_title -> node_title, point_size ->
//     node_size, ...) and graphistry/io/metadata.py
//     (serialize_node_bindings, serialize_edge_bindings);
//   - complex encodings: graphistry/PlotterBase.py (PlotterBase.__encode, as
//     called by encode_point_color and encode_edge_color with a
//     categorical_mapping and default_mapping): {"graphType", "encodingType":
//     "color", "attribute", "variation": "categorical", "mapping":
//     {"categorical": {"fixed": {...}, "other": ...}}}, stored under
//     complex.default.pointColorEncoding / edgeColorEncoding
//     (ArrowUploader.g_to_node_encodings puts complex[mode] next to
//     bindings); checked by graphistry/validate/validate_encodings.py.
//
// Nodes: node=id, node_title=name, node_label=name, node_size=size; colour by
// the computed status (OK and ok green, ERROR red, UNSET and other grey). Edges: source=src,
// destination=dst; colour by edge_type (child grey, link blue).
func Encodings() (nodeEncodings, edgeEncodings map[string]any) {
	nodeEncodings = map[string]any{
		"bindings": map[string]any{
			"node":       ColID,
			"node_title": ColName,
			"node_label": ColName,
			"node_size":  ColSize,
		},
		"complex": map[string]any{
			"default": map[string]any{
				"pointColorEncoding": colorEncoding("point", ColStatus, map[string]any{
					StatusOK:      ColorOK,
					StatusOKUnset: ColorOK,
					StatusError:   ColorError,
					StatusUnset:   ColorUnset,
				}, ColorUnset),
			},
		},
	}
	edgeEncodings = map[string]any{
		"bindings": map[string]any{
			"source":      ColSrc,
			"destination": ColDst,
		},
		"complex": map[string]any{
			"default": map[string]any{
				"edgeColorEncoding": colorEncoding("edge", ColEdgeType, map[string]any{
					EdgeChild: ColorChild,
					EdgeLink:  ColorLink,
				}, ColorChild),
			},
		},
	}
	return nodeEncodings, edgeEncodings
}

// colorEncoding is PlotterBase.__encode's categorical colour encoding.
func colorEncoding(graphType, attribute string, fixed map[string]any, other string) map[string]any {
	return map[string]any{
		"graphType":    graphType,
		"encodingType": "color",
		"attribute":    attribute,
		"variation":    "categorical",
		"mapping": map[string]any{
			"categorical": map[string]any{
				"fixed": fixed,
				"other": other,
			},
		},
	}
}
