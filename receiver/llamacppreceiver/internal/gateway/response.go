package gateway

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// maxChoices bounds the choice index the gateway keeps state for; a larger index is ignored.
const maxChoices = 64

// responseDoc is the part of a llama-server answer the gateway reads: an OpenAI-style response
// or stream chunk (choices, usage) or a native /completion one (content, stop, stop_type,
// tokens_predicted, tokens_evaluated), with llama.cpp's timings on either.
type responseDoc struct {
	ID                string      `json:"id"`
	Model             string      `json:"model"`
	SystemFingerprint string      `json:"system_fingerprint"`
	Choices           []choiceDoc `json:"choices"`
	Usage             *usageDoc   `json:"usage"`
	Timings           *timingsDoc `json:"timings"`
	Error             *errorDoc   `json:"error"`

	// Native /completion fields (llama.cpp tools/server/README.md, "POST /completion").
	Content         *string       `json:"content"`
	Tokens          tokenPresence `json:"tokens"`
	Stop            *bool         `json:"stop"`
	StopType        string        `json:"stop_type"`
	StoppedEOS      bool          `json:"stopped_eos"`
	StoppedWord     bool          `json:"stopped_word"`
	StoppedLimit    bool          `json:"stopped_limit"`
	TokensPredicted *int64        `json:"tokens_predicted"`
	TokensEvaluated *int64        `json:"tokens_evaluated"`
}

type choiceDoc struct {
	Index        int         `json:"index"`
	FinishReason *string     `json:"finish_reason"`
	Message      *messageDoc `json:"message"` // chat, non-streamed
	Delta        *messageDoc `json:"delta"`   // chat, streamed
	Text         *string     `json:"text"`    // /v1/completions
}

type messageDoc struct {
	Role             string          `json:"role"`
	Content          *string         `json:"content"`
	ReasoningContent *string         `json:"reasoning_content"`
	ToolCalls        json.RawMessage `json:"tool_calls"`
}

type usageDoc struct {
	PromptTokens      *int64             `json:"prompt_tokens"`
	CompletionTokens  *int64             `json:"completion_tokens"`
	PromptDetails     *promptDetails     `json:"prompt_tokens_details"`
	CompletionDetails *completionDetails `json:"completion_tokens_details"`
}

type promptDetails struct {
	CachedTokens *int64 `json:"cached_tokens"`
}

type completionDetails struct {
	ReasoningTokens *int64 `json:"reasoning_tokens"`
}

// timingsDoc is llama.cpp's per-response `timings` object (server `result_timings::to_json`).
type timingsDoc struct {
	CacheN              *int64   `json:"cache_n"`
	PromptN             *int64   `json:"prompt_n"`
	PromptMS            *float64 `json:"prompt_ms"`
	PromptPerTokenMS    *float64 `json:"prompt_per_token_ms"`
	PromptPerSecond     *float64 `json:"prompt_per_second"`
	PredictedN          *int64   `json:"predicted_n"`
	PredictedMS         *float64 `json:"predicted_ms"`
	PredictedPerTokenMS *float64 `json:"predicted_per_token_ms"`
	PredictedPerSecond  *float64 `json:"predicted_per_second"`
	DraftN              *int64   `json:"draft_n"`
	DraftNAccepted      *int64   `json:"draft_n_accepted"`
}

// errorDoc is llama.cpp's error object; its message is never read, since it may quote the
// prompt or the output.
type errorDoc struct {
	Code *float64 `json:"code"`
	Type string   `json:"type"`
}

// tokenPresence records whether a `tokens` array was non-empty without keeping it.
type tokenPresence bool

// UnmarshalJSON implements json.Unmarshaler.
func (t *tokenPresence) UnmarshalJSON(b []byte) error {
	t.set(b)
	return nil
}

func (t *tokenPresence) set(raw []byte) {
	raw = bytes.TrimSpace(raw)
	*t = len(raw) > 1 && raw[0] == '[' && len(bytes.TrimSpace(raw[1:len(raw)-1])) > 0
}

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

// tokenCounts is token usage in GenAI terms.
type tokenCounts struct {
	input, output, cacheRead, reasoning             int64
	hasInput, hasOutput, hasCacheRead, hasReasoning bool
}

// tokens maps usage to GenAI attributes. OpenAI usage wins; /completion's tokens_evaluated and
// tokens_predicted come next; timings fill what is left. Input tokens include cached ones
// (GenAI semconv: gen_ai.usage.input_tokens "SHOULD include all types of input tokens").
func (s *responseSummary) tokens() tokenCounts {
	var c tokenCounts
	u, t := &s.usage, s.timings
	switch {
	case u.PromptTokens != nil:
		c.input, c.hasInput = *u.PromptTokens, true
	case s.native.evaluated != nil:
		c.input, c.hasInput = *s.native.evaluated, true
	case t != nil && t.PromptN != nil:
		c.input, c.hasInput = *t.PromptN, true
		if t.CacheN != nil {
			c.input += *t.CacheN
		}
	}
	switch {
	case u.CompletionTokens != nil:
		c.output, c.hasOutput = *u.CompletionTokens, true
	case s.native.predicted != nil:
		c.output, c.hasOutput = *s.native.predicted, true
	case t != nil && t.PredictedN != nil:
		c.output, c.hasOutput = *t.PredictedN, true
	}
	switch {
	case u.PromptDetails != nil && u.PromptDetails.CachedTokens != nil:
		c.cacheRead, c.hasCacheRead = *u.PromptDetails.CachedTokens, true
	case t != nil && t.CacheN != nil:
		c.cacheRead, c.hasCacheRead = *t.CacheN, true
	}
	if u.CompletionDetails != nil && u.CompletionDetails.ReasoningTokens != nil {
		c.reasoning, c.hasReasoning = *u.CompletionDetails.ReasoningTokens, true
	}
	return c
}
