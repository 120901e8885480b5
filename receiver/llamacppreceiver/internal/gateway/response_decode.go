// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import "encoding/json"

// decodeResponse reads one JSON answer or stream chunk into doc with a jsonScanner. ok is
// false when b is not a JSON object. Malformed or cut input keeps the members read before the
// fault; a value of an unexpected type is skipped. For well-formed input the result is what
// encoding/json would decode into responseDoc (FuzzDecodeResponse checks this).
func decodeResponse(b []byte, doc *responseDoc) bool {
	s := &jsonScanner{b: b}
	if s.peek() != '{' {
		return false
	}
	s.object(func(k []byte) { doc.member(s, k) })
	return true
}

func (d *responseDoc) member(s *jsonScanner, k []byte) {
	switch string(k) {
	case "id":
		s.string(&d.ID)
	case "model":
		s.string(&d.Model)
	case "system_fingerprint":
		s.string(&d.SystemFingerprint)
	case "choices":
		if s.peek() == 'n' {
			s.skip()
			d.Choices = nil
			return
		}
		d.Choices = []choiceDoc{}
		s.array(func() {
			d.Choices = append(d.Choices, choiceDoc{})
			c := &d.Choices[len(d.Choices)-1]
			s.object(func(k []byte) { c.member(s, k) })
		})
	case "usage":
		objectPtr(s, &d.Usage, func(u *usageDoc, k []byte) { u.member(s, k) })
	case "timings":
		objectPtr(s, &d.Timings, func(t *timingsDoc, k []byte) { t.member(s, k) })
	case "error":
		objectPtr(s, &d.Error, func(e *errorDoc, k []byte) {
			switch string(k) {
			case "code":
				s.floatPtr(&e.Code)
			case "type":
				s.string(&e.Type)
			default:
				s.skip()
			}
		})
	case "content":
		s.strPtr(&d.Content)
	case "tokens":
		d.Tokens.set(s.raw())
	case "stop":
		s.boolPtr(&d.Stop)
	case "stop_type":
		s.string(&d.StopType)
	case "stopped_eos":
		boolValue(s, &d.StoppedEOS)
	case "stopped_word":
		boolValue(s, &d.StoppedWord)
	case "stopped_limit":
		boolValue(s, &d.StoppedLimit)
	case "tokens_predicted":
		s.intPtr(&d.TokensPredicted)
	case "tokens_evaluated":
		s.intPtr(&d.TokensEvaluated)
	default:
		s.skip()
	}
}

func (c *choiceDoc) member(s *jsonScanner, k []byte) {
	switch string(k) {
	case "index":
		if v, ok := s.int(); ok && v == int64(int(v)) {
			c.Index = int(v)
		}
	case "finish_reason":
		s.strPtr(&c.FinishReason)
	case "message":
		objectPtr(s, &c.Message, func(m *messageDoc, k []byte) { m.member(s, k) })
	case "delta":
		objectPtr(s, &c.Delta, func(m *messageDoc, k []byte) { m.member(s, k) })
	case "text":
		s.strPtr(&c.Text)
	default:
		s.skip()
	}
}

func (m *messageDoc) member(s *jsonScanner, k []byte) {
	switch string(k) {
	case "role":
		s.string(&m.Role)
	case "content":
		s.strPtr(&m.Content)
	case "reasoning_content":
		s.strPtr(&m.ReasoningContent)
	case "tool_calls":
		if raw := s.raw(); raw != nil {
			m.ToolCalls = append(json.RawMessage(nil), raw...)
		}
	default:
		s.skip()
	}
}

func (u *usageDoc) member(s *jsonScanner, k []byte) {
	switch string(k) {
	case "prompt_tokens":
		s.intPtr(&u.PromptTokens)
	case "completion_tokens":
		s.intPtr(&u.CompletionTokens)
	case "prompt_tokens_details":
		objectPtr(s, &u.PromptDetails, func(p *promptDetails, k []byte) {
			if string(k) == "cached_tokens" {
				s.intPtr(&p.CachedTokens)
				return
			}
			s.skip()
		})
	case "completion_tokens_details":
		objectPtr(s, &u.CompletionDetails, func(c *completionDetails, k []byte) {
			if string(k) == "reasoning_tokens" {
				s.intPtr(&c.ReasoningTokens)
				return
			}
			s.skip()
		})
	default:
		s.skip()
	}
}

func (t *timingsDoc) member(s *jsonScanner, k []byte) {
	switch string(k) {
	case "cache_n":
		s.intPtr(&t.CacheN)
	case "prompt_n":
		s.intPtr(&t.PromptN)
	case "prompt_ms":
		s.floatPtr(&t.PromptMS)
	case "prompt_per_token_ms":
		s.floatPtr(&t.PromptPerTokenMS)
	case "prompt_per_second":
		s.floatPtr(&t.PromptPerSecond)
	case "predicted_n":
		s.intPtr(&t.PredictedN)
	case "predicted_ms":
		s.floatPtr(&t.PredictedMS)
	case "predicted_per_token_ms":
		s.floatPtr(&t.PredictedPerTokenMS)
	case "predicted_per_second":
		s.floatPtr(&t.PredictedPerSecond)
	case "draft_n":
		s.intPtr(&t.DraftN)
	case "draft_n_accepted":
		s.intPtr(&t.DraftNAccepted)
	default:
		s.skip()
	}
}

// objectPtr reads an object into *dst, allocating it on first use (as encoding/json does);
// null sets *dst to nil.
func objectPtr[T any](s *jsonScanner, dst **T, member func(*T, []byte)) {
	switch s.peek() {
	case 'n':
		s.skip()
		*dst = nil
	case '{':
		if *dst == nil {
			*dst = new(T)
		}
		v := *dst
		s.object(func(k []byte) { member(v, k) })
	default:
		s.skip()
	}
}

func boolValue(s *jsonScanner, dst *bool) {
	if v, ok := s.boolean(); ok {
		*dst = v
	}
}
