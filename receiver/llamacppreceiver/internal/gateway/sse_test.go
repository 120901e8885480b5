package gateway

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

type gotEvent struct {
	Type, Data, ID string
	Truncated      bool
}

func parseAll(p *sseParser, pieces ...[]byte) []gotEvent {
	var out []gotEvent
	for _, b := range pieces {
		p.Feed(b, func(ev *sseEvent) {
			out = append(out, gotEvent{string(ev.Type), string(ev.Data), string(ev.ID), ev.Truncated})
		})
	}
	return out
}

func TestSSEParser(t *testing.T) {
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
			assert.Equal(t, tc.want, parseAll(&sseParser{}, []byte(tc.in)), "in one piece")
			// Byte by byte: every split point, CRLF split included.
			var pieces [][]byte
			for i := 0; i < len(tc.in); i++ {
				pieces = append(pieces, []byte{tc.in[i]})
			}
			assert.Equal(t, tc.want, parseAll(&sseParser{}, pieces...), "byte by byte")
			for cut := 0; cut <= len(tc.in); cut++ {
				assert.Equal(t, tc.want, parseAll(&sseParser{}, []byte(tc.in[:cut]), []byte(tc.in[cut:])), "cut at %d", cut)
			}
		})
	}
}

func TestSSEParserFixtures(t *testing.T) {
	for _, name := range []string{
		"b11669/chat-completion-stream.sse", "b11669/completion-stream.sse",
		"upstream-2026-05/chat-completion-stream.sse", "upstream-2026-05/completion-stream.sse",
	} {
		t.Run(name, func(t *testing.T) {
			in := fixture(t, name)
			whole := parseAll(&sseParser{}, in)
			assert.Equal(t, bytes.Count(in, []byte("data: ")), len(whole))
			for _, ev := range whole {
				assert.False(t, ev.Truncated)
				assert.True(t, ev.Data == "[DONE]" || strings.HasPrefix(ev.Data, "{"), ev.Data)
			}
			crlf := bytes.ReplaceAll(in, []byte("\n"), []byte("\r\n"))
			for _, step := range []int{1, 2, 3, 7, 64, 1000} {
				var pieces [][]byte
				for i := 0; i < len(crlf); i += step {
					pieces = append(pieces, crlf[i:min(i+step, len(crlf))])
				}
				assert.Equal(t, whole, parseAll(&sseParser{}, pieces...), "CRLF in pieces of %d", step)
			}
		})
	}
}

func TestSSEParserCapsOversizeLines(t *testing.T) {
	long := strings.Repeat("x", 100)
	in := "data: " + long + "\n\ndata: short\n\n: " + long + "\ndata: ok\n\ndata: " + long[:20] + "\ndata: " + long[:20] + "\n\n"
	want := []gotEvent{
		{Data: "", Truncated: true},
		{Data: "short"},
		{Data: "ok"},
		{Data: long[:20] + "\n" + long[:12], Truncated: true},
	}
	assert.Equal(t, want, parseAll(&sseParser{MaxLine: 33}, []byte(in)))
	var pieces [][]byte
	for i := 0; i < len(in); i += 5 {
		pieces = append(pieces, []byte(in[i:min(i+5, len(in))]))
	}
	assert.Equal(t, want, parseAll(&sseParser{MaxLine: 33}, pieces...))
	p := &sseParser{MaxLine: 33}
	parseAll(p, []byte(in))
	assert.LessOrEqual(t, cap(p.line), 64, "the line buffer stays bounded")
}
