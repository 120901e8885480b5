// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llamatelemetry/otelcol-llt/pkg/genaimsg"
)

// maxMessageIndex bounds the message, content and tool-call indexes of a family; a larger one
// makes the family bad input (left alone, counted as skipped).
const maxMessageIndex = 4096

// field is a message field of an indexed family.
type field uint8

const (
	fNone        field = iota
	fRole              // role
	fContent           // content
	fUser              // OpenLLMetry completions API: gen_ai.prompt.{i}.user is the prompt
	fToolCallID        // tool_call_id: the message is a tool result
	fFinish            // finish_reason (output)
	fName              // participant name (OpenInference message.name)
	fToolID            // tool call id
	fToolName          // tool call function name
	fToolArgs          // tool call arguments (JSON string)
	fContentType       // OpenInference message_content.type
	fContentText       // OpenInference message_content.text
)

// toolCall collects the fields of one tool call.
type toolCall struct {
	idx                 int
	id, name, arguments string
}

// contentItem collects one OpenInference message_content.
type contentItem struct {
	idx       int
	typ, text string
	keys      [2]string // the source keys, consumed only when the item becomes a text part
}

// isText reports whether the content item becomes a text part; other types (image, audio,
// reasoning) stay as they are on the span.
func (c *contentItem) isText() bool { return c.typ == "text" || (c.typ == "" && c.text != "") }

// msg collects the fields of one message of a family.
type msg struct {
	idx        int
	role, name string
	content    string
	hasContent bool
	toolCallID string
	finish     string
	toolCalls  []toolCall
	contents   []contentItem
}

// famBuilder assembles a family.
type famBuilder struct {
	msgs     []msg
	consumed []string
	bad      bool
}

// message returns the message with index i; the pointer is valid until the next call.
func (b *famBuilder) message(i int) *msg {
	for k := range b.msgs {
		if b.msgs[k].idx == i {
			return &b.msgs[k]
		}
	}
	b.msgs = append(b.msgs, msg{idx: i})
	return &b.msgs[len(b.msgs)-1]
}

func (m *msg) toolCall(j int) *toolCall {
	for k := range m.toolCalls {
		if m.toolCalls[k].idx == j {
			return &m.toolCalls[k]
		}
	}
	m.toolCalls = append(m.toolCalls, toolCall{idx: j})
	return &m.toolCalls[len(m.toolCalls)-1]
}

func (m *msg) contentItem(j int) *contentItem {
	for k := range m.contents {
		if m.contents[k].idx == j {
			return &m.contents[k]
		}
	}
	m.contents = append(m.contents, contentItem{idx: j})
	return &m.contents[len(m.contents)-1]
}

// set stores one field of message i (sub-index j for tool calls and content items).
func (b *famBuilder) set(key string, i, j int, f field, s string) {
	m := b.message(i)
	switch f {
	case fRole:
		m.role = s
	case fContent:
		m.content, m.hasContent = s, true
	case fUser:
		if m.role == "" {
			m.role = "user"
		}
		m.content, m.hasContent = s, true
	case fToolCallID:
		m.toolCallID = s
	case fFinish:
		m.finish = s
	case fName:
		m.name = s
	case fToolID:
		m.toolCall(j).id = s
	case fToolName:
		m.toolCall(j).name = s
	case fToolArgs:
		m.toolCall(j).arguments = s
	case fContentType, fContentText:
		c := m.contentItem(j)
		if f == fContentType {
			c.typ, c.keys[0] = s, key
		} else {
			c.text, c.keys[1] = s, key
		}
		return // consumed later, when the item turns out to be text
	}
	b.consumed = append(b.consumed, key)
}

// index splits "N.rest" into N and rest. ok is false when s does not start with a decimal
// index followed by a dot (the key is then not a member of the family); bad is true for an
// index over the limit.
func index(s string) (n int, rest string, ok, bad bool) {
	dot := strings.IndexByte(s, '.')
	if dot <= 0 || !allDigits(s[:dot]) {
		return 0, "", false, false
	}
	digits := s[:dot]
	if len(digits) > 1 && digits[0] == '0' {
		return 0, "", false, false
	}
	if len(digits) > 9 {
		return 0, "", false, true
	}
	for i := 0; i < len(digits); i++ {
		n = n*10 + int(digits[i]-'0')
	}
	if n > maxMessageIndex {
		return 0, "", false, true
	}
	return n, s[dot+1:], true, false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// subIndex splits "<prefix>N.rest" (tool_calls.N.*, contents.N.*).
func subIndex(f, prefix string) (j int, rest string, ok, bad bool) {
	after, found := strings.CutPrefix(f, prefix)
	if !found {
		return 0, "", false, false
	}
	return index(after)
}

// openLLMetryField classifies the part of a gen_ai.prompt.* / gen_ai.completion.* key after the
// prefix. Fields not listed in the table give fNone and stay where they are.
func openLLMetryField(rest string, completion bool) (i, j int, f field, bad bool) {
	i, name, ok, bad := index(rest)
	if !ok {
		return 0, 0, fNone, bad // e.g. gen_ai.prompt.prompt_filter_results: not a message
	}
	switch {
	case name == "role":
		return i, 0, fRole, false
	case name == "content":
		return i, 0, fContent, false
	case name == "tool_call_id":
		return i, 0, fToolCallID, false
	case name == "user" && !completion:
		return i, 0, fUser, false
	case name == "finish_reason" && completion:
		return i, 0, fFinish, false
	case name == "function_call.name" && completion:
		return i, 0, fToolName, false
	case name == "function_call.arguments" && completion:
		return i, 0, fToolArgs, false
	}
	j, tf, ok, bad := subIndex(name, "tool_calls.")
	if !ok {
		return 0, 0, fNone, bad
	}
	switch tf {
	case "id":
		return i, j, fToolID, false
	case "name":
		return i, j, fToolName, false
	case "arguments":
		return i, j, fToolArgs, false
	}
	return 0, 0, fNone, false
}

// openInferenceField classifies the part of an llm.input_messages.* / llm.output_messages.* key
// after the prefix.
func openInferenceField(rest string) (i, j int, f field, bad bool) {
	i, name, ok, bad := index(rest)
	if !ok {
		return 0, 0, fNone, bad
	}
	name, ok = strings.CutPrefix(name, "message.")
	if !ok {
		return 0, 0, fNone, false
	}
	switch name {
	case "role":
		return i, 0, fRole, false
	case "content":
		return i, 0, fContent, false
	case "name":
		return i, 0, fName, false
	case "tool_call_id":
		return i, 0, fToolCallID, false
	}
	if j, tf, ok, bad := subIndex(name, "tool_calls."); ok || bad {
		switch {
		case bad:
			return 0, 0, fNone, true
		case tf == "tool_call.id":
			return i, j, fToolID, false
		case tf == "tool_call.function.name":
			return i, j, fToolName, false
		case tf == "tool_call.function.arguments":
			return i, j, fToolArgs, false
		}
		return 0, 0, fNone, false
	}
	j, cf, ok, bad := subIndex(name, "contents.")
	switch {
	case bad:
		return 0, 0, fNone, true
	case !ok:
		return 0, 0, fNone, false
	case cf == "message_content.type":
		return i, j, fContentType, false
	case cf == "message_content.text":
		return i, j, fContentText, false
	}
	return 0, 0, fNone, false
}

// collect reads the members of one family from the map.
func (s *state) collect(fam family) famBuilder {
	var prefix string
	completion, oi := false, false
	switch fam {
	case famOLPrompt:
		prefix = prefixOLPrompt
	case famOLCompletion:
		prefix, completion = prefixOLCompletion, true
	case famOIInput:
		prefix, oi = prefixOIInput, true
	case famOIOutput:
		prefix, oi = prefixOIOutput, true
	}
	b := famBuilder{consumed: make([]string, 0, 8)}
	s.m.Range(func(k string, v pcommon.Value) bool {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			return true
		}
		var i, j int
		var f field
		var bad bool
		if oi {
			i, j, f, bad = openInferenceField(rest)
		} else {
			i, j, f, bad = openLLMetryField(rest, completion)
		}
		if bad || (f != fNone && v.Type() != pcommon.ValueTypeStr) {
			b.bad = true // an index over the limit, or a field that is not a string
			return false
		}
		if f != fNone {
			b.set(k, i, j, f, v.Str())
		}
		return true
	})
	slices.SortFunc(b.msgs, func(x, y msg) int { return x.idx - y.idx })
	return b
}

// family assembles one message family and queues its JSON.
func (s *state) family(r *ruleDef) {
	if r.family == famOLFinish {
		// Collected with the completions (the row before); written only when absent.
		if len(s.finish) > 0 {
			s.optional(r.to, strsVal(s.finish))
		}
		return
	}
	b := s.collect(r.family)
	if b.bad {
		s.res.Skipped++
		return
	}
	if len(b.msgs) == 0 {
		return
	}
	output := r.family == famOLCompletion || r.family == famOIOutput
	if r.family == famOLCompletion {
		for k := range b.msgs {
			if b.msgs[k].finish != "" {
				s.finish = append(s.finish, b.msgs[k].finish)
			}
		}
	}
	if r.family == famOIOutput && len(b.msgs) == 1 {
		if v, ok := s.m.Get(srcLLMFinishReason); ok && v.Type() == pcommon.ValueTypeStr {
			b.msgs[0].finish = v.Str()
		}
	}
	for k := range b.msgs {
		for _, c := range b.msgs[k].contents {
			if c.isText() {
				for _, key := range c.keys {
					if key != "" {
						b.consumed = append(b.consumed, key)
					}
				}
			}
		}
	}
	doc, ok := encodeMessages(b.msgs, output)
	if !ok {
		s.res.Skipped++
		return
	}
	if s.decide(r.to, strVal(doc)) == conflict {
		s.res.Conflicts++
		return
	}
	s.consume(b.consumed...)
}

// Bounds on the llm.input_messages / llm.output_messages values that are parsed: a larger
// value, or one nested deeper than the family's fields, is not converted.
const (
	maxMessagesJSONBytes = 1 << 20
	maxMessagesJSONDepth = 10
)

// messagesJSON converts llm.input_messages or llm.output_messages given as one JSON string: an
// array of message objects with the fields of the indexed family (role, content, name,
// tool_call_id, tool_calls, contents), with or without the "message." prefix, as dotted keys
// or as nested objects. The source is removed only when every field was mapped; a field
// without a place in the v1.41 schema (an image, say) keeps it on the span.
func (s *state) messagesJSON(mt match) {
	r := mt.r
	if mt.v.Type() != pcommon.ValueTypeStr || len(mt.v.Str()) > maxMessagesJSONBytes {
		s.res.Skipped++
		return
	}
	var items []any
	if json.Unmarshal([]byte(mt.v.Str()), &items) != nil || len(items) == 0 || len(items) > maxMessageIndex+1 {
		s.res.Skipped++
		return
	}
	var b famBuilder
	complete := true
	for i, item := range items {
		obj, ok := item.(map[string]any)
		if !ok {
			s.res.Skipped++
			return
		}
		prefix := strconv.Itoa(i) + "."
		walkJSON(obj, "", 0, func(path string, v any) {
			if v == nil {
				return // an explicit null says nothing
			}
			if path == "" {
				complete = false // nested deeper than any field
				return
			}
			if !strings.HasPrefix(path, "message.") {
				path = "message." + path
			}
			idx, j, f, bad := openInferenceField(prefix + path)
			str, isStr := v.(string)
			switch {
			case bad || (f != fNone && !isStr):
				b.bad = true
			case f == fNone:
				complete = false
			default:
				b.set("", idx, j, f, str)
			}
		})
		if b.bad {
			s.res.Skipped++
			return
		}
	}
	if len(b.msgs) == 0 {
		s.res.Skipped++
		return
	}
	slices.SortFunc(b.msgs, func(x, y msg) int { return x.idx - y.idx })
	for k := range b.msgs {
		for _, c := range b.msgs[k].contents {
			if !c.isText() {
				complete = false // kept on the span, as the family keeps such items
			}
		}
	}
	output := r.family == famOIOutput
	if output && len(b.msgs) == 1 {
		if v, ok := s.m.Get(srcLLMFinishReason); ok && v.Type() == pcommon.ValueTypeStr {
			b.msgs[0].finish = v.Str()
		}
	}
	doc, ok := encodeMessages(b.msgs, output)
	if !ok {
		s.res.Skipped++
		return
	}
	if s.decide(r.to, strVal(doc)) == conflict {
		s.res.Conflicts++
		return
	}
	if complete {
		s.consume(mt.key)
	}
}

// walkJSON calls leaf for every value under v that is not an object or an array, with its
// dotted path (object keys in sorted order, array elements by index). A value nested deeper
// than maxMessagesJSONDepth is reported with an empty path.
func walkJSON(v any, path string, depth int, leaf func(path string, v any)) {
	if depth > maxMessagesJSONDepth {
		leaf("", v)
		return
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			walkJSON(t[k], join(k), depth+1, leaf)
		}
	case []any:
		for i, e := range t {
			walkJSON(e, join(strconv.Itoa(i)), depth+1, leaf)
		}
	default:
		leaf(path, v)
	}
}

// encodeMessages renders the messages in the v1.41 gen_ai.input.messages /
// gen_ai.output.messages JSON schema, with pkg/genaimsg. ok is false when an input message has
// no role (the schema requires one); output messages default to "assistant".
//
// Field order: role, parts, name, finish_reason; parts are the text (or tool result) of the
// message, then its text content items, then its tool calls, each in index order.
func encodeMessages(msgs []msg, output bool) (string, bool) {
	var enc genaimsg.Encoder
	parts := make([]genaimsg.Part, 0, 8) // reused by every message; on the stack for most
	for k := range msgs {
		m := &msgs[k]
		role := m.role
		if role == "" {
			if !output {
				return "", false
			}
			role = "assistant"
		}
		parts = parts[:0]
		switch {
		case m.toolCallID != "":
			parts = append(parts, genaimsg.Part{Type: genaimsg.TypeToolCallResponse, ID: m.toolCallID, Response: genaimsg.String(m.content)})
		case m.hasContent && m.content != "":
			parts = append(parts, genaimsg.Part{Type: genaimsg.TypeText, Content: m.content})
		}
		slices.SortFunc(m.contents, func(x, y contentItem) int { return x.idx - y.idx })
		for _, c := range m.contents {
			if c.isText() {
				parts = append(parts, genaimsg.Part{Type: genaimsg.TypeText, Content: c.text})
			}
		}
		slices.SortFunc(m.toolCalls, func(x, y toolCall) int { return x.idx - y.idx })
		for _, t := range m.toolCalls {
			p := genaimsg.Part{Type: genaimsg.TypeToolCall, ID: t.id, Name: t.name}
			if t.arguments != "" {
				p.Arguments = genaimsg.Value(t.arguments)
			}
			parts = append(parts, p)
		}
		em := genaimsg.Message{Role: role, Parts: parts, Name: m.name}
		if output {
			em.FinishReason = m.finish
		}
		enc.Add(&em)
	}
	return enc.String(), true
}
