// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"encoding/json"

	"github.com/apache/arrow-go/v18/arrow"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncodingsJSON(t *testing.T) {
	nodes, edges := Encodings()
	nj, err := json.Marshal(nodes)
	require.NoError(t, err)
	ej, err := json.Marshal(edges)
	require.NoError(t, err)

	// The shape pygraphistry uploads (arrow_uploader.py g_to_node_encodings,
	// PlotterBase.__encode for encode_point_color/encode_edge_color with a
	// categorical_mapping and default_mapping).
	assert.JSONEq(t, `{
		"bindings": {"node": "id", "node_title": "name", "node_label": "name", "node_size": "size"},
		"complex": {"default": {"pointColorEncoding": {
			"graphType": "point", "encodingType": "color", "attribute": "status",
			"variation": "categorical",
			"mapping": {"categorical": {
				"fixed": {"OK": "#2ca02c", "ok": "#2ca02c", "ERROR": "#d62728", "UNSET": "#9e9e9e"},
				"other": "#9e9e9e"}}}}}}`, string(nj))
	assert.JSONEq(t, `{
		"bindings": {"source": "src", "destination": "dst"},
		"complex": {"default": {"edgeColorEncoding": {
			"graphType": "edge", "encodingType": "color", "attribute": "edge_type",
			"variation": "categorical",
			"mapping": {"categorical": {
				"fixed": {"child": "#9e9e9e", "link": "#1f77b4"},
				"other": "#9e9e9e"}}}}}}`, string(ej))

	// Each call returns new maps.
	nodes["bindings"].(map[string]any)["node"] = "changed"
	again, _ := Encodings()
	assert.Equal(t, "id", again["bindings"].(map[string]any)["node"])
}

// TestEncodingsMatchColumns checks what graphistry/validate/validate_encodings.py
// checks: bound and encoded attributes are columns of their table, encoding
// names follow its pattern and start with point/edge, complex modes are
// default/current, and categorical keys are values the column can hold.
func TestEncodingsMatchColumns(t *testing.T) {
	name := regexp.MustCompile(`^(point|edge)(Legend(Type|Pivot))?(Axis|Badge|Color|Icon|Kepler|Opacity|Size|Weight)(Top|Middle|Bottom|Left|Right|TopLeft|TopRight|BottomLeft|BottomRight|Cover)?Encoding$`)
	nodes, edges := Encodings()
	for _, tc := range []struct {
		enc    map[string]any
		cols   []string
		prefix string
		values map[string][]string
	}{
		{nodes, names(NodeSchema), "point", map[string][]string{ColStatus: {StatusOK, StatusOKUnset, StatusError, StatusUnset}}},
		{edges, names(EdgeSchema), "edge", map[string][]string{ColEdgeType: {EdgeChild, EdgeLink}}},
	} {
		for k, col := range tc.enc["bindings"].(map[string]any) {
			assert.Contains(t, tc.cols, col, "binding %s", k)
		}
		complexEnc := tc.enc["complex"].(map[string]any)
		require.Len(t, complexEnc, 1)
		for encName, e := range complexEnc["default"].(map[string]any) {
			assert.Regexp(t, name, encName)
			assert.Regexp(t, "^"+tc.prefix, encName)
			e := e.(map[string]any)
			assert.Equal(t, tc.prefix, e["graphType"])
			attr := e["attribute"].(string)
			assert.Contains(t, tc.cols, attr)
			fixed := e["mapping"].(map[string]any)["categorical"].(map[string]any)["fixed"].(map[string]any)
			keys := make([]string, 0, len(fixed))
			for k, v := range fixed {
				keys = append(keys, k)
				assert.Regexp(t, `^#[0-9a-f]{6}$`, v)
			}
			assert.ElementsMatch(t, tc.values[attr], keys)
		}
	}
}

func names(s *arrow.Schema) []string {
	out := make([]string, 0, s.NumFields())
	for _, f := range s.Fields() {
		out = append(out, f.Name)
	}
	return out
}
