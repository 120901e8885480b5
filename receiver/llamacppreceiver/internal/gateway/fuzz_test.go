// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzStreamTap feeds arbitrary bytes to the stream tap whole and split at points drawn from
// seed: it must not panic, both feeds must count the same chunks, and the span's content and
// token counts must survive whatever the events carry. The SSE parser itself is fuzzed in
// pkg/sse (FuzzSSE); the seeds here are the same real llama-server streams, added from the
// fixtures.
func FuzzStreamTap(f *testing.F) {
	f.Add([]byte("data: x\r\n\r\n: c\rdata: y\n\n"), uint64(7))
	for i, name := range sseFixtures {
		in := fixture(f, name)
		f.Add(in, uint64(i))
		f.Add(bytes.ReplaceAll(in, []byte("\n"), []byte("\r\n")), uint64(i))
	}
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		whole := newStreamTap(true, 16, 1<<10)
		whole.arrive(in)
		whole.flushPending()

		var pieces [][]byte
		rest, s := in, seed|1
		for len(rest) > 0 {
			s ^= s << 13
			s ^= s >> 7
			s ^= s << 17
			n := int(s%17) + 1
			if n > len(rest) {
				n = len(rest)
			}
			pieces = append(pieces, rest[:n])
			rest = rest[n:]
		}
		tap := newStreamTap(true, 16, 1<<10)
		for _, p := range pieces {
			tap.arrive(p)
			tap.flushPending()
		}
		if whole.chunks != tap.chunks || whole.done != tap.done {
			t.Fatalf("whole: %d chunks, done %v; split: %d chunks, done %v", whole.chunks, whole.done, tap.chunks, tap.done)
		}
		_ = outputMessages(&tap.summary)
		_ = tap.summary.tokens()
	})
}

// FuzzDecodeResponse checks the jsonScanner-based decodeResponse against encoding/json: it must
// never panic, and on well-formed input (whose keys encoding/json cannot match differently: no
// duplicates, no case variants, no escapes) it must decode exactly what encoding/json decodes.
// The seed corpus in testdata/fuzz/FuzzDecodeResponse is the fixtures' answers and stream chunks.
func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte(`{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"x\u00e9","tool_calls":null}}],"usage":{"prompt_tokens":1},"tokens":[ ]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var got responseDoc
		decodeResponse(in, &got)
		// The request side reads the same kind of input: it must not panic either.
		req := parseRequest(in)
		whole := inputMessages(in)
		if fast := requestInputMessages(&req, in); fast != whole && plainKeys(in) {
			t.Fatalf("content from the scanned members: %s\nfrom the whole body:        %s", fast, whole)
		}
		var want responseDoc
		if json.Unmarshal(in, &want) != nil || !plainKeys(in) {
			return
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("encoding/json: %s\nscanner:      %s", dumpDoc(&want), dumpDoc(&got))
		}
	})
}

// plainKeys reports whether every object key in a well-formed document is made of lower-case
// ASCII letters, digits and underscores, and unique within its object.
func plainKeys(in []byte) bool {
	s := &jsonScanner{b: in}
	ok := true
	var walk func()
	walk = func() {
		switch s.peek() {
		case '{':
			seen := map[string]bool{}
			s.object(func(k []byte) {
				for _, c := range k {
					if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
						ok = false
					}
				}
				if seen[string(k)] {
					ok = false
				}
				seen[string(k)] = true
				walk()
			})
		case '[':
			s.array(walk)
		default:
			s.skip()
		}
	}
	walk()
	return ok && !s.bad
}

func dumpDoc(d *responseDoc) string {
	b, _ := json.Marshal(d)
	return string(b)
}
