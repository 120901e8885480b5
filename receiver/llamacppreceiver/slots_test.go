// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func ptr(v int64) *int64 { return &v }

func TestParseSlots(t *testing.T) {
	tests := []struct {
		name string
		file string // under /work/shared fixtures copied into testdata, or inline
		body string
		want []slot
	}{
		{
			name: "never used",
			body: `[{"id":0,"n_ctx":512,"speculative":false,"is_processing":false},{"id":1,"n_ctx":512,"speculative":false,"is_processing":false}]`,
			want: []slot{{ID: 0, NCtx: ptr(512)}, {ID: 1, NCtx: ptr(512)}},
		},
		{
			name: "b11669 next_token array with prompt counts",
			file: "debian-b11669-cpu/slots.json",
			want: []slot{
				{ID: 0, NCtx: ptr(512), NPromptTokens: ptr(7), NPromptTokensProcessed: ptr(0), NPromptTokensCache: ptr(0), NDecoded: ptr(0), NRemain: ptr(-1)},
				{ID: 1, NCtx: ptr(512), IsProcessing: true, NPromptTokens: ptr(260), NPromptTokensProcessed: ptr(37), NPromptTokensCache: ptr(21), NDecoded: ptr(202), NRemain: ptr(198)},
			},
		},
		{
			name: "2024 next_token object",
			body: `[{"id":3,"id_task":12,"n_ctx":2048,"speculative":true,"is_processing":true,"prompt":"","next_token":{"has_next_token":true,"n_remain":40,"n_decoded":24,"stopping_word":""}}]`,
			want: []slot{{ID: 3, NCtx: ptr(2048), Speculative: true, IsProcessing: true, NDecoded: ptr(24), NRemain: ptr(40)}},
		},
		{
			name: "empty next_token array and null",
			body: `[{"id":0,"next_token":[]},{"id":1,"next_token":null}]`,
			want: []slot{{ID: 0}, {ID: 1}},
		},
		{
			name: "no slots",
			body: `[]`,
			want: []slot{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.file != "" {
				var err error
				body, err = os.ReadFile(filepath.Join("testdata", "scraper", tt.file))
				require.NoError(t, err)
			}
			got, err := parseSlots(body)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseSlotsUpstream(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "scraper", "upstream-2026-05-cuda-h200", "slots.json"))
	require.NoError(t, err)
	got, err := parseSlots(body)
	require.NoError(t, err)
	require.Len(t, got, 4)
	for i, s := range got {
		assert.Equal(t, int64(i), s.ID)
		assert.True(t, s.IsProcessing)
		assert.Nil(t, s.NPromptTokens, "this build has no n_prompt_tokens")
		assert.Equal(t, ptr(37), s.NDecoded)
		assert.Equal(t, ptr(219), s.NRemain)
	}
}

func TestParseSlotsErrors(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"empty", ``, "not a JSON array of slots: unexpected end of JSON input"},
		{"truncated", `[{"id":0,`, "not a JSON array of slots: unexpected end of JSON input"},
		{"object", `{"error":{"code":501}}`, "not a JSON array of slots: json: cannot unmarshal object into Go value of type []json.RawMessage"},
		{"element not object", `[1]`, "slot 0: not a JSON object"},
		{"null element", `[null]`, "slot 0: not a JSON object"},
		{"no id", `[{"n_ctx":512}]`, "slot 0: no `id`"},
		{"duplicate id", `[{"id":1},{"id":1}]`, "slot 1: duplicate id 1"},
		{"fractional n_ctx", `[{"id":0,"n_ctx":1.5}]`, "slot 0: json: cannot unmarshal number 1.5 into Go struct field rawSlot.n_ctx of type int64"},
		{"next_token string", `[{"id":0,"next_token":"x"}]`, "slot 0: next_token: neither an object nor an array"},
		{"next_token array of numbers", `[{"id":0,"next_token":[1]}]`, "slot 0: next_token: array element is not an object"},
		{"n_decoded string", `[{"id":0,"next_token":{"n_decoded":"7"}}]`, "slot 0: next_token: json: cannot unmarshal string into Go struct field rawNextToken.n_decoded of type int64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSlots([]byte(tt.body))
			require.EqualError(t, err, tt.wantErr)
		})
	}
}

func TestRecordSlots(t *testing.T) {
	mb := newTestBuilder()
	recordSlots(mb, pcommon.NewTimestampFromTime(testTime), []slot{
		{ID: 0, NCtx: ptr(512)},
		{ID: 1, NCtx: ptr(512), IsProcessing: true, NDecoded: ptr(5), NRemain: ptr(3), NPromptTokens: ptr(9), NPromptTokensProcessed: ptr(4), NPromptTokensCache: ptr(5)},
	})
	md := mb.Emit()
	assert.Equal(t, int64(2), points(md, "llamacpp.slots.total").At(0).IntValue())
	assert.Equal(t, int64(1), points(md, "llamacpp.slots.busy").At(0).IntValue())
	assert.Equal(t, 2, points(md, "llamacpp.slot.busy").Len())
	assert.Equal(t, 2, points(md, "llamacpp.slot.context.size").Len())
	for _, name := range []string{"llamacpp.slot.tokens.decoded", "llamacpp.slot.tokens.remaining", "llamacpp.slot.prompt.tokens",
		"llamacpp.slot.prompt.tokens.processed", "llamacpp.slot.prompt.tokens.cached"} {
		dps := points(md, name)
		require.Equal(t, 1, dps.Len(), "%s: only the used slot has it", name)
		id, _ := dps.At(0).Attributes().Get("llamacpp.slot.id")
		assert.Equal(t, int64(1), id.Int(), name)
	}
}
