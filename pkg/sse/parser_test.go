// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package sse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

type gotEvent struct {
	Type, Data, ID string
	Truncated      bool
}

func collect(out *[]gotEvent) func(*Event) {
	return func(ev *Event) {
		*out = append(*out, gotEvent{string(ev.Type), string(ev.Data), string(ev.ID), ev.Truncated})
	}
}

func parseAll(p *Parser, pieces ...[]byte) []gotEvent {
	var out []gotEvent
	for _, b := range pieces {
		p.Feed(b, collect(&out))
	}
	return out
}

// parseToEnd is parseAll followed by End.
func parseToEnd(p *Parser, pieces ...[]byte) []gotEvent {
	out := parseAll(p, pieces...)
	p.End(collect(&out))
	return out
}

func TestParser(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []gotEvent
	}{
		{"one event", "data: {\"a\":1}\n\n", []gotEvent{{Data: `{"a":1}`}}},
		{"CRLF", "data: x\r\n\r\ndata: y\r\n\r\n", []gotEvent{{Data: "x"}, {Data: "y"}}},
		{"CR only", "data: x\r\rdata: y\r\r", []gotEvent{{Data: "x"}, {Data: "y"}}},
		{"comments and pings", ": ping\n\n:\n\ndata: x\n: mid-event comment\n\n", []gotEvent{{Data: "x"}}},
		{"multi-line data", "data: a\ndata: b\ndata:\ndata:  c\n\n", []gotEvent{{Data: "a\nb\n\n c"}}},
		{"no space after colon", "data:x\n\n", []gotEvent{{Data: "x"}}},
		{"event type and id", "event: error\nid: 7\ndata: x\n\ndata: y\n\n",
			[]gotEvent{{Type: "error", Data: "x", ID: "7"}, {Data: "y", ID: "7"}}},
		{"no data: nothing dispatched", "event: x\nid: 1\n\n\n\n", nil},
		{"empty data is an event", "data\n\n", []gotEvent{{Data: ""}}},
		{"field without colon", "data\ndata\n\n", []gotEvent{{Data: "\n"}}},
		{"unknown fields ignored", "retry: 10\nfoo: bar\ndata: x\n\n", []gotEvent{{Data: "x"}}},
		{"unterminated event discarded", "data: x\n\ndata: y\n", []gotEvent{{Data: "x"}}},
		{"BOM skipped", "\xEF\xBB\xBFdata: x\n\n", []gotEvent{{Data: "x"}}},
		{"only the first BOM", "\xEF\xBB\xBFdata: x\n\n\xEF\xBB\xBFdata: y\n\n", []gotEvent{{Data: "x"}}},
		{"id with NUL ignored", "id: a\x00b\ndata: x\n\n", []gotEvent{{Data: "x"}}},
		{"DONE", "data: [DONE]\n\n", []gotEvent{{Data: "[DONE]"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, parseAll(&Parser{}, []byte(tc.in)), "in one piece")
			// Byte by byte: every split point, CRLF split included.
			var pieces [][]byte
			for i := 0; i < len(tc.in); i++ {
				pieces = append(pieces, []byte{tc.in[i]})
			}
			assert.Equal(t, tc.want, parseAll(&Parser{}, pieces...), "byte by byte")
			for cut := 0; cut <= len(tc.in); cut++ {
				assert.Equal(t, tc.want, parseAll(&Parser{}, []byte(tc.in[:cut]), []byte(tc.in[cut:])), "cut at %d", cut)
			}
		})
	}
}

func TestParserCapsOversizeLines(t *testing.T) {
	long := strings.Repeat("x", 100)
	in := "data: " + long + "\n\ndata: short\n\n: " + long + "\ndata: ok\n\ndata: " + long[:20] + "\ndata: " + long[:20] + "\n\n"
	want := []gotEvent{
		{Data: "", Truncated: true},
		{Data: "short"},
		{Data: "ok"},
		{Data: long[:20] + "\n" + long[:12], Truncated: true},
	}
	assert.Equal(t, want, parseAll(&Parser{MaxLine: 33}, []byte(in)))
	var pieces [][]byte
	for i := 0; i < len(in); i += 5 {
		pieces = append(pieces, []byte(in[i:min(i+5, len(in))]))
	}
	assert.Equal(t, want, parseAll(&Parser{MaxLine: 33}, pieces...))
	p := &Parser{MaxLine: 33}
	parseAll(p, []byte(in))
	assert.LessOrEqual(t, cap(p.line), 64, "the line buffer stays bounded")
}

func TestParserEnd(t *testing.T) {
	long := strings.Repeat("x", 40)
	for _, tc := range []struct {
		name, in string
		want     []gotEvent
	}{
		{"empty stream", "", nil},
		{"complete stream", "data: x\n\n", []gotEvent{{Data: "x"}}},
		{"no closing blank line", "data: x\n\ndata: [DONE]\n", []gotEvent{{Data: "x"}, {Data: "[DONE]"}}},
		{"no line ending", "data: x\n\ndata: [DONE]", []gotEvent{{Data: "x"}, {Data: "[DONE]"}}},
		{"CRLF cut after CR", "data: a\r\ndata: b\r", []gotEvent{{Data: "a\nb"}}},
		{"cut in a multi-line event", "event: e\ndata: a\ndata: {\"cut", []gotEvent{{Type: "e", Data: "a\n{\"cut"}}},
		{"only fields without data", "event: e\nid: 1", nil},
		{"cut comment", "data: x\n: com", []gotEvent{{Data: "x"}}},
		{"cut BOM", "\xEF\xBB", nil},
		{"BOM then cut line", "\xEF\xBB\xBFdata: y", []gotEvent{{Data: "y"}}},
		{"over the cap", "data: " + long, []gotEvent{{Data: "", Truncated: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, parseToEnd(&Parser{MaxLine: 33}, []byte(tc.in)), "in one piece")
			for cut := 0; cut <= len(tc.in); cut++ {
				assert.Equal(t, tc.want, parseToEnd(&Parser{MaxLine: 33}, []byte(tc.in[:cut]), []byte(tc.in[cut:])), "cut at %d", cut)
			}
		})
	}

	// After End the parser goes on as at the start of an event.
	p := &Parser{}
	got := parseToEnd(p, []byte("data: a"))
	got = append(got, parseAll(p, []byte("data: b\n\n"))...)
	assert.Equal(t, []gotEvent{{Data: "a"}, {Data: "b"}}, got)
}

func TestParserOtherField(t *testing.T) {
	type field struct{ name, value string }
	in := "retry: 10\ndata: x\nerror: {\"code\":500,\"message\":\"boom\"}\n\nfoo\n: comment\nid: 3\nevent: e\n\n"
	want := []field{{"retry", "10"}, {"error", `{"code":500,"message":"boom"}`}, {"foo", ""}}
	for _, step := range []int{1, 3, len(in)} {
		var fields []field
		p := &Parser{OtherField: func(name, value []byte) { fields = append(fields, field{string(name), string(value)}) }}
		var pieces [][]byte
		for i := 0; i < len(in); i += step {
			pieces = append(pieces, []byte(in[i:min(i+step, len(in))]))
		}
		assert.Equal(t, []gotEvent{{Data: "x"}}, parseAll(p, pieces...), "pieces of %d", step)
		assert.Equal(t, want, fields, "pieces of %d", step)
	}
}
