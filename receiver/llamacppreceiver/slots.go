// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

// slot is one entry of GET /slots. Fields that a build or a slot's history may omit are
// pointers: a never-used slot has only id, n_ctx, speculative and is_processing; the
// n_prompt_tokens* fields appeared in 2026 builds.
type slot struct {
	ID           int64
	NCtx         *int64
	Speculative  bool
	IsProcessing bool

	NPromptTokens          *int64
	NPromptTokensProcessed *int64
	NPromptTokensCache     *int64

	// From next_token (an object in 2024 builds, an array of one object since).
	NDecoded *int64
	NRemain  *int64
}

type rawSlot struct {
	ID                     *int64          `json:"id"`
	NCtx                   *int64          `json:"n_ctx"`
	Speculative            bool            `json:"speculative"`
	IsProcessing           bool            `json:"is_processing"`
	NPromptTokens          *int64          `json:"n_prompt_tokens"`
	NPromptTokensProcessed *int64          `json:"n_prompt_tokens_processed"`
	NPromptTokensCache     *int64          `json:"n_prompt_tokens_cache"`
	NextToken              json.RawMessage `json:"next_token"`
}

type rawNextToken struct {
	NDecoded *int64 `json:"n_decoded"`
	NRemain  *int64 `json:"n_remain"`
}

// parseSlots decodes a /slots body: a JSON array of slot objects, each with an `id` that no
// other slot has. Unknown fields (params, prompt, ...) are ignored.
func parseSlots(body []byte) ([]slot, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		return nil, fmt.Errorf("not a JSON array of slots: %w", err)
	}
	slots := make([]slot, 0, len(elems))
	seen := make(map[int64]bool, len(elems))
	for i, e := range elems {
		if t := bytes.TrimSpace(e); len(t) == 0 || t[0] != '{' {
			return nil, fmt.Errorf("slot %d: not a JSON object", i)
		}
		var r rawSlot
		if err := json.Unmarshal(e, &r); err != nil {
			return nil, fmt.Errorf("slot %d: %w", i, err)
		}
		if r.ID == nil {
			return nil, fmt.Errorf("slot %d: no `id`", i)
		}
		if seen[*r.ID] {
			return nil, fmt.Errorf("slot %d: duplicate id %d", i, *r.ID)
		}
		seen[*r.ID] = true
		next, err := parseNextToken(r.NextToken)
		if err != nil {
			return nil, fmt.Errorf("slot %d: next_token: %w", i, err)
		}
		slots = append(slots, slot{
			ID:                     *r.ID,
			NCtx:                   r.NCtx,
			Speculative:            r.Speculative,
			IsProcessing:           r.IsProcessing,
			NPromptTokens:          r.NPromptTokens,
			NPromptTokensProcessed: r.NPromptTokensProcessed,
			NPromptTokensCache:     r.NPromptTokensCache,
			NDecoded:               next.NDecoded,
			NRemain:                next.NRemain,
		})
	}
	return slots, nil
}

// parseNextToken accepts an object, an array whose first element is used, or nothing.
func parseNextToken(raw json.RawMessage) (rawNextToken, error) {
	var next rawNextToken
	t := bytes.TrimSpace(raw)
	switch {
	case len(t) == 0 || bytes.Equal(t, []byte("null")):
		return next, nil
	case t[0] == '{':
		err := json.Unmarshal(t, &next)
		return next, err
	case t[0] == '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(t, &arr); err != nil {
			return next, err
		}
		if len(arr) == 0 {
			return next, nil
		}
		if e := bytes.TrimSpace(arr[0]); len(e) == 0 || e[0] != '{' {
			return next, errors.New("array element is not an object")
		}
		err := json.Unmarshal(arr[0], &next)
		return next, err
	}
	return next, errors.New("neither an object nor an array")
}

// recordSlots writes the per-slot gauges and the slot counts.
func recordSlots(mb *metadata.MetricsBuilder, ts pcommon.Timestamp, slots []slot) {
	busy := int64(0)
	for _, s := range slots {
		b := int64(0)
		if s.IsProcessing {
			b = 1
			busy++
		}
		mb.RecordLlamacppSlotBusyDataPoint(ts, b, s.ID)
		recordOpt(mb.RecordLlamacppSlotContextSizeDataPoint, ts, s.NCtx, s.ID)
		recordOpt(mb.RecordLlamacppSlotTokensDecodedDataPoint, ts, s.NDecoded, s.ID)
		recordOpt(mb.RecordLlamacppSlotTokensRemainingDataPoint, ts, s.NRemain, s.ID)
		recordOpt(mb.RecordLlamacppSlotPromptTokensDataPoint, ts, s.NPromptTokens, s.ID)
		recordOpt(mb.RecordLlamacppSlotPromptTokensProcessedDataPoint, ts, s.NPromptTokensProcessed, s.ID)
		recordOpt(mb.RecordLlamacppSlotPromptTokensCachedDataPoint, ts, s.NPromptTokensCache, s.ID)
	}
	mb.RecordLlamacppSlotsTotalDataPoint(ts, int64(len(slots)))
	mb.RecordLlamacppSlotsBusyDataPoint(ts, busy)
}

func recordOpt(rec func(pcommon.Timestamp, int64, int64), ts pcommon.Timestamp, v *int64, id int64) {
	if v != nil {
		rec(ts, *v, id)
	}
}
