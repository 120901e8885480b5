// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"encoding/json"

	"github.com/llamatelemetry/otelcol-llt/pkg/genaimsg"
	"github.com/llamatelemetry/otelcol-llt/pkg/utf8cut"
)

// The messages are rendered in the GenAI semantic conventions v1.41 message schemas by
// pkg/genaimsg: a message is a role plus a list of typed parts.

// inputDoc is the content-bearing part of a request: chat messages, a prompt, or an embeddings
// input. It is decoded only when content capture is on.
type inputDoc struct {
	Messages []struct {
		Role       string          `json:"role"`
		Name       string          `json:"name"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []toolCallDoc   `json:"tool_calls"`
	} `json:"messages"`
	Prompt  json.RawMessage `json:"prompt"`
	Input   json.RawMessage `json:"input"`
	Content json.RawMessage `json:"content"` // native /embedding
}

type toolCallDoc struct {
	ID       string `json:"id"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

// inputMessages renders a request's messages or prompt as gen_ai.input.messages JSON, or ""
// when the body carries none.
func inputMessages(body []byte) string {
	var in inputDoc
	if !looksLikeObject(body) {
		return ""
	}
	if err := json.Unmarshal(body, &in); err != nil {
		if te, ok := err.(*json.UnmarshalTypeError); !ok || te.Field == "" {
			return ""
		}
	}
	return renderInput(&in)
}

// requestInputMessages is inputMessages for a body that parseRequest has read: it decodes only
// the content-bearing members the scanner kept (a request's messages are a fraction of a body
// that may hold a long logit_bias or tools list), and gives what inputMessages gives.
func requestInputMessages(req *requestInfo, body []byte) string {
	if !req.parsed {
		return inputMessages(body)
	}
	d := &req.doc
	var in inputDoc
	if len(d.rawMessages) > 0 {
		// A type error (messages that are not a list, a part of the wrong type) leaves what did
		// decode, as it does when the whole body is decoded.
		if err := json.Unmarshal(d.rawMessages, &in.Messages); err != nil {
			if _, ok := err.(*json.UnmarshalTypeError); !ok {
				return ""
			}
		}
	}
	in.Prompt, in.Input, in.Content = d.rawPrompt, d.rawInput, d.rawContent
	return renderInput(&in)
}

// renderInput renders decoded request content as gen_ai.input.messages JSON, or "".
func renderInput(in *inputDoc) string {
	var msgs []genaimsg.Message
	for _, m := range in.Messages {
		cm := genaimsg.Message{Role: m.Role, Name: m.Name}
		if m.Role == "tool" {
			cm.Parts = append(cm.Parts, genaimsg.Part{Type: genaimsg.TypeToolCallResponse, ID: m.ToolCallID, Response: rawText(m.Content)})
		} else {
			cm.Parts = append(cm.Parts, contentParts(m.Content)...)
		}
		for _, tc := range m.ToolCalls {
			cm.Parts = append(cm.Parts, genaimsg.Part{Type: genaimsg.TypeToolCall, ID: tc.ID, Name: tc.Function.Name, Arguments: rawText(tc.Function.Arguments)})
		}
		msgs = append(msgs, cm)
	}
	if len(msgs) == 0 {
		for _, raw := range []json.RawMessage{in.Prompt, in.Input, in.Content} {
			if parts := promptParts(raw); len(parts) > 0 {
				msgs = append(msgs, genaimsg.Message{Role: "user", Parts: parts})
				break
			}
		}
	}
	if len(msgs) == 0 {
		return ""
	}
	return genaimsg.Marshal(msgs)
}

// contentParts maps an OpenAI message content (a string, or a list of typed parts) to parts.
func contentParts(raw json.RawMessage) []genaimsg.Part {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []genaimsg.Part{{Type: genaimsg.TypeText, Content: s}}
	}
	var list []struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		ImageURL struct {
			URL string `json:"url"`
		} `json:"image_url"`
	}
	if json.Unmarshal(raw, &list) != nil {
		return []genaimsg.Part{{Type: genaimsg.TypeText, Content: string(raw)}}
	}
	parts := make([]genaimsg.Part, 0, len(list))
	for _, p := range list {
		switch p.Type {
		case "text":
			parts = append(parts, genaimsg.Part{Type: genaimsg.TypeText, Content: p.Text})
		case "image_url":
			parts = append(parts, genaimsg.Part{Type: genaimsg.TypeURI, Modality: "image", URI: p.ImageURL.URL})
		default:
			parts = append(parts, genaimsg.Part{Type: p.Type})
		}
	}
	return parts
}

// promptParts maps a prompt or input (a string, a list of strings, or token ids) to text parts.
func promptParts(raw json.RawMessage) []genaimsg.Part {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []genaimsg.Part{{Type: genaimsg.TypeText, Content: s}}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var parts []genaimsg.Part
		for _, item := range list {
			if json.Unmarshal(item, &s) == nil {
				parts = append(parts, genaimsg.Part{Type: genaimsg.TypeText, Content: s})
				continue
			}
			parts = append(parts, genaimsg.Part{Type: genaimsg.TypeText, Content: string(item)})
		}
		return parts
	}
	return []genaimsg.Part{{Type: genaimsg.TypeText, Content: string(raw)}}
}

// rawText returns a JSON string's value, or other JSON as its text, as a JSON string; nil for
// no value or null.
func rawText(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return genaimsg.String(s)
	}
	return genaimsg.String(string(raw))
}

// outputMessages renders the answer's choices as gen_ai.output.messages JSON.
func outputMessages(s *responseSummary) string {
	var msgs []genaimsg.Message
	for i := range s.choices {
		c := &s.choices[i]
		if !c.seen {
			continue
		}
		role := c.role
		if role == "" {
			role = "assistant"
		}
		m := genaimsg.Message{Role: role, FinishReason: c.finish}
		if len(c.reasoning) > 0 {
			m.Parts = append(m.Parts, genaimsg.Part{Type: genaimsg.TypeReasoning, Content: string(c.reasoning)})
		}
		if len(c.text) > 0 {
			m.Parts = append(m.Parts, genaimsg.Part{Type: genaimsg.TypeText, Content: string(c.text)})
		}
		if len(c.toolCalls) > 0 {
			var calls []toolCallDoc
			if json.Unmarshal(c.toolCalls, &calls) == nil {
				for _, tc := range calls {
					m.Parts = append(m.Parts, genaimsg.Part{Type: genaimsg.TypeToolCall, ID: tc.ID, Name: tc.Function.Name, Arguments: rawText(tc.Function.Arguments)})
				}
			}
		}
		if m.FinishReason == "" {
			m.FinishReason = "error" // the schema requires one; the answer ended without it
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return ""
	}
	return genaimsg.Marshal(msgs)
}

// truncateUTF8 cuts s to at most max bytes without splitting a UTF-8 sequence; max <= 0 means
// no limit.
func truncateUTF8(s string, max int) string { return utf8cut.Prefix(s, max) }
