// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaimsg

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMarshal(t *testing.T) {
	for _, tc := range []struct {
		name string
		msgs []Message
		want string
	}{
		{"none", nil, `[]`},
		{"text", []Message{{Role: "user", Parts: []Part{{Type: TypeText, Content: "hi"}}}},
			`[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`},
		{"no parts", []Message{{Role: "assistant", FinishReason: "error"}},
			`[{"role":"assistant","parts":[],"finish_reason":"error"}]`},
		{"empty text and reasoning keep their content", []Message{{Role: "assistant", Parts: []Part{{Type: TypeReasoning}, {Type: TypeText}}}},
			`[{"role":"assistant","parts":[{"type":"reasoning","content":""},{"type":"text","content":""}]}]`},
		{"tool call without id or name", []Message{{Role: "assistant", Parts: []Part{{Type: TypeToolCall, Arguments: Value(`{ "a": 1 }`)}}}},
			`[{"role":"assistant","parts":[{"type":"tool_call","name":"","arguments":{"a":1}}]}]`},
		{"tool call and response", []Message{
			{Role: "assistant", Parts: []Part{{Type: TypeToolCall, ID: "c1", Name: "f", Arguments: String(`{"a":1}`)}}},
			{Role: "tool", Parts: []Part{{Type: TypeToolCallResponse, ID: "c1", Response: String("")}}},
		}, `[{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"f","arguments":"{\"a\":1}"}]},` +
			`{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":""}]}]`},
		{"uri and other parts", []Message{{Role: "user", Name: "bob", Parts: []Part{
			{Type: TypeURI, Modality: "image", URI: "http://x/i.png"}, {Type: "input_audio"},
		}}}, `[{"role":"user","parts":[{"type":"uri","modality":"image","uri":"http://x/i.png"},{"type":"input_audio"}],"name":"bob"}]`},
		{"no HTML escaping", []Message{{Role: "user", Parts: []Part{{Type: TypeText, Content: "<b> & \"q\"\n"}}}},
			`[{"role":"user","parts":[{"type":"text","content":"<b> & \"q\"\n"}]}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Marshal(tc.msgs)
			assert.Equal(t, tc.want, got)
			var e Encoder
			for _, m := range tc.msgs {
				e.Add(&m)
				m.Role, m.Parts = "changed", nil // the Encoder keeps nothing of m
			}
			assert.Equal(t, tc.want, e.String())
			assert.Equal(t, tc.want, e.String(), "String twice")
			require.True(t, json.Valid([]byte(got)), got)
			// The JSON tags decode what Marshal wrote.
			var back []Message
			require.NoError(t, json.Unmarshal([]byte(got), &back))
			if len(tc.msgs) > 0 {
				assert.Equal(t, tc.msgs[0].Role, back[0].Role)
				assert.Len(t, back[0].Parts, len(tc.msgs[0].Parts))
			}
		})
	}
}

func TestValue(t *testing.T) {
	assert.JSONEq(t, `{"a":[1,2]}`, string(Value(" {\"a\": [1, 2]}\n")))
	assert.Equal(t, `{"a":[1,2]}`, string(Value(" {\"a\": [1, 2]}\n")), "compacted")
	assert.Equal(t, `"not json {"`, string(Value("not json {")))
	assert.Equal(t, `42`, string(Value("42")))
	assert.Equal(t, `""`, string(Value("")))
	assert.Equal(t, `"{\"a\":1}"`, string(String(`{"a":1}`)))
}

// TestAppendString compares the hand-written string escaping with encoding/json.
func TestAppendString(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "new\nline\ttab\rcr", "\x00\x01\x1f\x7f",
		"<html> & 'x'", "é ü 😀", "\u2028\u2029", "bad \xff utf8 \xc3", "mixed\x00é\xfe",
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(s))
		assert.Equal(t, strings.TrimSuffix(want.String(), "\n"), string(appendString(nil, s)), "%q", s)
	}
}
