// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/llamatelemetry/otelcol-llt/pkg/sse"
)

// The SSE parser's own tests are in pkg/sse; this one runs it on the gateway's captured streams.

type gotEvent struct {
	Type, Data, ID string
	Truncated      bool
}

func parseAll(p *sse.Parser, pieces ...[]byte) []gotEvent {
	var out []gotEvent
	for _, b := range pieces {
		p.Feed(b, func(ev *sse.Event) {
			out = append(out, gotEvent{string(ev.Type), string(ev.Data), string(ev.ID), ev.Truncated})
		})
	}
	return out
}

func TestSSEParserFixtures(t *testing.T) {
	for _, name := range sseFixtures {
		t.Run(name, func(t *testing.T) {
			in := fixture(t, name)
			whole := parseAll(&sse.Parser{}, in)
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
				assert.Equal(t, whole, parseAll(&sse.Parser{}, pieces...), "CRLF in pieces of %d", step)
			}
		})
	}
}

// sseFixtures are the captured llama-server streams.
var sseFixtures = []string{
	"b11669/chat-completion-stream.sse", "b11669/completion-stream.sse",
	"upstream-2026-05/chat-completion-stream.sse", "upstream-2026-05/completion-stream.sse",
}
