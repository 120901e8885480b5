// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package sse

import "testing"

// FuzzSSE feeds arbitrary bytes to the parser in two ways (whole, and split at points drawn
// from seed) and with a small cap: it must not panic, both feeds must give the same events (and
// the same events again when End ends them), and no event may hold more data than the cap. The
// seed corpus in testdata/fuzz/FuzzSSE is the real llama-server streams of the llamacpp
// gateway's fixtures.
func FuzzSSE(f *testing.F) {
	f.Add([]byte("data: x\r\n\r\n: c\rdata: y\n\n"), uint64(7))
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		whole := parseAll(&Parser{}, in)

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
		split := parseAll(&Parser{}, pieces...)
		if len(whole) != len(split) {
			t.Fatalf("%d events whole, %d split", len(whole), len(split))
		}
		for i := range whole {
			if whole[i] != split[i] {
				t.Fatalf("event %d: whole %+v, split %+v", i, whole[i], split[i])
			}
		}

		const capBytes = 32
		for _, ev := range parseAll(&Parser{MaxLine: capBytes}, pieces...) {
			if len(ev.Data) > capBytes || len(ev.Type) > capBytes || len(ev.ID) > capBytes {
				t.Fatalf("event over the cap: %+v", ev)
			}
		}

		ended := parseToEnd(&Parser{}, in)
		if len(ended) < len(whole) || len(ended) > len(whole)+1 {
			t.Fatalf("%d events, %d with End", len(whole), len(ended))
		}
		splitEnded := parseToEnd(&Parser{}, pieces...)
		if len(ended) != len(splitEnded) {
			t.Fatalf("with End: %d events whole, %d split", len(ended), len(splitEnded))
		}
		for i := range ended {
			if ended[i] != splitEnded[i] {
				t.Fatalf("with End, event %d: whole %+v, split %+v", i, ended[i], splitEnded[i])
			}
		}
	})
}
