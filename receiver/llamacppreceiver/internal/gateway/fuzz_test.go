package gateway

import (
	"testing"
)

// FuzzSSE feeds arbitrary bytes to the SSE parser in two ways (whole, and split at points drawn
// from seed) and with a small cap: it must not panic, both feeds must give the same events, and
// no event may hold more data than the cap. The seed corpus in testdata/fuzz/FuzzSSE is the real
// llama-server streams of the fixtures.
func FuzzSSE(f *testing.F) {
	f.Add([]byte("data: x\r\n\r\n: c\rdata: y\n\n"), uint64(7))
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		whole := parseAll(&sseParser{}, in)

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
		split := parseAll(&sseParser{}, pieces...)
		if len(whole) != len(split) {
			t.Fatalf("%d events whole, %d split", len(whole), len(split))
		}
		for i := range whole {
			if whole[i] != split[i] {
				t.Fatalf("event %d: whole %+v, split %+v", i, whole[i], split[i])
			}
		}

		const capBytes = 32
		for _, ev := range parseAll(&sseParser{MaxLine: capBytes}, pieces...) {
			if len(ev.Data) > capBytes || len(ev.Type) > capBytes || len(ev.ID) > capBytes {
				t.Fatalf("event over the cap: %+v", ev)
			}
		}

		// The stream tap must survive whatever the events carry.
		tap := newStreamTap(true, 16, 1<<10)
		for _, p := range pieces {
			tap.arrive(p)
			tap.flushPending()
		}
		_ = outputMessages(&tap.summary)
		_ = tap.summary.tokens()
	})
}
