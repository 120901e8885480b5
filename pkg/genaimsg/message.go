// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaimsg

import (
	"bytes"
	"encoding/json"
)

// Part types of the v1.41 message schemas that otelcol-llt writes.
const (
	TypeText             = "text"
	TypeReasoning        = "reasoning"
	TypeToolCall         = "tool_call"
	TypeToolCallResponse = "tool_call_response"
	TypeURI              = "uri"
)

// Message is one chat message. The JSON tags describe the encoded shape for decoding; encode
// with [Marshal] or an [Encoder], which write the fields the schema requires even when empty.
type Message struct {
	// Role is the message's role ("system", "user", "assistant", "tool"); always written.
	Role string `json:"role"`
	// Parts are the message's parts, in order; always written, [] when none.
	Parts []Part `json:"parts"`
	// Name is the participant's name; omitted when empty.
	Name string `json:"name,omitempty"`
	// FinishReason is why the model stopped (output messages only); omitted when empty.
	FinishReason string `json:"finish_reason,omitempty"`
}

// Part is one typed part of a message.
type Part struct {
	// Type is the part's type, such as [TypeText]; always written.
	Type string `json:"type"`
	// Content is the text of a text or reasoning part; always written for those two types
	// (the schema requires it), omitted when empty for the others.
	Content string `json:"content,omitempty"`
	// ID is the tool call's id; omitted when empty.
	ID string `json:"id,omitempty"`
	// Name is the called tool's name; always written for a tool call (the schema requires
	// it), omitted when empty for the others.
	Name string `json:"name,omitempty"`
	// Arguments are a tool call's arguments as JSON, written as they are (see [String] and
	// [Value]); omitted when empty.
	Arguments json.RawMessage `json:"arguments,omitempty"`
	// Response is a tool's result as JSON, written as it is; omitted when empty.
	Response json.RawMessage `json:"response,omitempty"`
	// Modality is the kind of media a uri part points to ("image", "audio", "video"); omitted
	// when empty.
	Modality string `json:"modality,omitempty"`
	// URI is where a uri part's media is; omitted when empty.
	URI string `json:"uri,omitempty"`
}

// Marshal returns msgs as gen_ai.input.messages or gen_ai.output.messages JSON. No messages
// give "[]".
func Marshal(msgs []Message) string {
	var e Encoder
	for i := range msgs {
		e.Add(&msgs[i])
	}
	return e.String()
}

// Encoder builds gen_ai.input.messages or gen_ai.output.messages JSON one message at a time,
// for callers that make each message from other data and can reuse one Message, and its Parts,
// for all of them. The zero value is an empty list.
type Encoder struct {
	buf []byte // "[" and the messages so far, without the closing "]"
}

// Add appends m to the list. The Encoder keeps nothing of m.
func (e *Encoder) Add(m *Message) {
	if len(e.buf) == 0 {
		e.buf = append(make([]byte, 0, 128), '[')
	} else {
		e.buf = append(e.buf, ',')
	}
	e.buf = appendMessage(e.buf, m)
}

// String returns the list as JSON.
func (e *Encoder) String() string {
	if len(e.buf) == 0 {
		return "[]"
	}
	return string(append(e.buf, ']'))
}

func appendMessage(buf []byte, m *Message) []byte {
	buf = append(buf, `{"role":`...)
	buf = appendString(buf, m.Role)
	buf = append(buf, `,"parts":[`...)
	for i := range m.Parts {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendPart(buf, &m.Parts[i])
	}
	buf = append(buf, ']')
	if m.Name != "" {
		buf = append(buf, `,"name":`...)
		buf = appendString(buf, m.Name)
	}
	if m.FinishReason != "" {
		buf = append(buf, `,"finish_reason":`...)
		buf = appendString(buf, m.FinishReason)
	}
	return append(buf, '}')
}

func appendPart(buf []byte, p *Part) []byte {
	buf = append(buf, `{"type":`...)
	buf = appendString(buf, p.Type)
	if p.Content != "" || p.Type == TypeText || p.Type == TypeReasoning {
		buf = append(buf, `,"content":`...)
		buf = appendString(buf, p.Content)
	}
	if p.ID != "" {
		buf = append(buf, `,"id":`...)
		buf = appendString(buf, p.ID)
	}
	if p.Name != "" || p.Type == TypeToolCall {
		buf = append(buf, `,"name":`...)
		buf = appendString(buf, p.Name)
	}
	if len(p.Arguments) > 0 {
		buf = append(buf, `,"arguments":`...)
		buf = append(buf, p.Arguments...)
	}
	if len(p.Response) > 0 {
		buf = append(buf, `,"response":`...)
		buf = append(buf, p.Response...)
	}
	if p.Modality != "" {
		buf = append(buf, `,"modality":`...)
		buf = appendString(buf, p.Modality)
	}
	if p.URI != "" {
		buf = append(buf, `,"uri":`...)
		buf = appendString(buf, p.URI)
	}
	return append(buf, '}')
}

// String returns s as a JSON string, for [Part.Arguments] or [Part.Response].
func String(s string) json.RawMessage {
	return appendString(make([]byte, 0, len(s)+2), s)
}

// Value returns s as JSON, for [Part.Arguments] or [Part.Response]: compacted when it is valid
// JSON (tool arguments are a JSON string in the OpenAI API and in most instrumentations), as a
// JSON string otherwise.
func Value(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		var out bytes.Buffer
		if json.Compact(&out, []byte(s)) == nil {
			return out.Bytes()
		}
	}
	return String(s)
}
