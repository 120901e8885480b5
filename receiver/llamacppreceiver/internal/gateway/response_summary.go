// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// maxChoices bounds the choice index the gateway keeps state for; a larger index is ignored.
const maxChoices = 64

// choiceOut is one choice of the answer, as kept for spans.
type choiceOut struct {
	seen      bool
	finish    string
	role      string
	text      []byte
	reasoning []byte
	toolCalls json.RawMessage
}

// responseSummary accumulates what the span needs from one answer or from all chunks of a
// stream: later chunks overwrite usage and timings, finish reasons are kept per choice.
type responseSummary struct {
	id, model, fingerprint string

	usage   usageDoc
	native  struct{ predicted, evaluated *int64 }
	timings *timingsDoc

	choices []choiceOut
	errType string

	capture  bool
	maxBytes int // cap on kept text per choice when capturing; 0: no cap
}

func (s *responseSummary) choice(i int) *choiceOut {
	if i < 0 || i >= maxChoices {
		return nil
	}
	for len(s.choices) <= i {
		s.choices = append(s.choices, choiceOut{})
	}
	c := &s.choices[i]
	c.seen = true
	return c
}

// absorb folds one decoded answer or chunk into s. delta reports whether the document carried
// generated content (text, reasoning, tool calls or native tokens).
func (s *responseSummary) absorb(d *responseDoc) (delta bool) {
	// Some builds echo the request's model: bound it like any client string.
	if s.id == "" {
		s.id = truncateUTF8(d.ID, maxClientString)
	}
	if d.Model != "" {
		s.model = truncateUTF8(d.Model, maxClientString)
	}
	if d.SystemFingerprint != "" {
		s.fingerprint = truncateUTF8(d.SystemFingerprint, maxClientString)
	}
	if d.Usage != nil {
		s.usage = *d.Usage
	}
	if d.Timings != nil {
		s.timings = d.Timings
	}
	if d.Error != nil {
		s.errType = errorTypeOf(d.Error)
	}
	if d.TokensPredicted != nil {
		s.native.predicted = d.TokensPredicted
	}
	if d.TokensEvaluated != nil {
		s.native.evaluated = d.TokensEvaluated
	}
	for i := range d.Choices {
		ch := &d.Choices[i]
		out := s.choice(ch.Index)
		if out == nil {
			continue
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			out.finish = truncateUTF8(*ch.FinishReason, maxClientString)
		}
		if m := ch.Message; m != nil {
			delta = s.takeMessage(out, m, false) || delta
		}
		if m := ch.Delta; m != nil {
			delta = s.takeMessage(out, m, true) || delta
		}
		if ch.Text != nil && *ch.Text != "" {
			delta = true
			s.appendText(&out.text, *ch.Text)
		}
	}
	// Native /completion: content on every chunk, stop=true on the last.
	if d.Content != nil || d.Stop != nil {
		out := s.choice(0)
		if d.Content != nil && *d.Content != "" {
			delta = true
			s.appendText(&out.text, *d.Content)
		}
		if d.Tokens {
			delta = true
		}
		if f := nativeFinish(d); f != "" {
			out.finish = f
		}
	}
	return delta
}

func (s *responseSummary) takeMessage(out *choiceOut, m *messageDoc, stream bool) bool {
	delta := false
	if m.Role != "" {
		out.role = m.Role
	}
	if m.Content != nil && *m.Content != "" {
		delta = true
		s.appendText(&out.text, *m.Content)
	}
	if m.ReasoningContent != nil && *m.ReasoningContent != "" {
		delta = true
		s.appendText(&out.reasoning, *m.ReasoningContent)
	}
	if len(m.ToolCalls) > 0 && !bytes.Equal(m.ToolCalls, []byte("null")) && !bytes.Equal(m.ToolCalls, []byte("[]")) {
		delta = true
		if s.capture && !stream {
			out.toolCalls = m.ToolCalls
		}
	}
	return delta
}

func (s *responseSummary) appendText(dst *[]byte, t string) {
	if !s.capture {
		return
	}
	if s.maxBytes > 0 {
		room := s.maxBytes - len(*dst)
		if room <= 0 {
			return
		}
		t = truncateUTF8(t, room)
	}
	*dst = append(*dst, t...)
}

// nativeFinish maps /completion's stop_type (none|eos|limit|word), or the stopped_* flags of
// older builds, to the OpenAI finish reasons llama.cpp itself uses on its OpenAI routes.
func nativeFinish(d *responseDoc) string {
	if d.Stop == nil || !*d.Stop {
		return ""
	}
	switch {
	case d.StopType == "limit" || d.StoppedLimit:
		return "length"
	case d.StopType == "eos" || d.StopType == "word" || d.StoppedEOS || d.StoppedWord:
		return "stop"
	}
	return ""
}

func errorTypeOf(e *errorDoc) string {
	if e.Code != nil && *e.Code >= 100 && *e.Code < 600 {
		return strconv.Itoa(int(*e.Code))
	}
	if e.Type != "" && len(e.Type) <= 64 {
		return e.Type
	}
	return "_OTHER"
}

// finishReasons lists the choices' finish reasons in index order.
func (s *responseSummary) finishReasons() []string {
	var out []string
	for i := range s.choices {
		if f := s.choices[i].finish; f != "" {
			out = append(out, f)
		}
	}
	return out
}
