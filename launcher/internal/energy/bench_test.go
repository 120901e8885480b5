// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package energy

import (
	"fmt"
	"testing"
	"time"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// BenchmarkLedger is the ledger's CPU per request as the gateway drives it (Begin, End,
// Complete, then Result until ready), with `inflight` requests overlapping and a GPU reading
// every 8 requests (the ledger reads at most once a second, so under load many requests share
// a period); results not ready are asked again at every reading, as the gateway asks at every
// tick. The baseline sub-benchmark is the same loop with no meter attached: Begin returns 0
// and the gateway skips the rest, which is what a CPU host pays.
func BenchmarkLedger(b *testing.B) {
	for _, inflight := range []int{1, 8, 64} {
		for _, metered := range []bool{false, true} {
			name := fmt.Sprintf("inflight=%d/baseline", inflight)
			if metered {
				name = fmt.Sprintf("inflight=%d/ledger", inflight)
			}
			b.Run(name, func(b *testing.B) {
				clock := newFakeClock()
				gpu := &scriptedGPU{clock: clock, steps: []step{{0, 300, 0.8}}}
				l := New(time.Minute)
				l.now, l.manual = clock.now, true
				if metered {
					l.AttachMeter(gpu)
				}
				sec := 0.0
				clock.set(sec)
				l.read(gpu)
				ids := make([]uint64, 0, inflight)
				var waiting []uint64
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					sec += 0.01
					now := clock.set(sec)
					id := l.Begin(now)
					ids = append(ids, id)
					if len(ids) == inflight {
						first := ids[0]
						ids = ids[1:]
						if first != 0 {
							l.End(first, now)
							l.Complete(first, launcherapi.Timeline{End: now, HasTimings: true, PromptTokens: 64,
								PromptDuration: 5 * time.Millisecond, OutputTokens: 32, OutputDuration: 4 * time.Millisecond})
							if _, ready, _ := l.Result(first); !ready {
								waiting = append(waiting, first)
							}
						}
					}
					if i%8 == 7 {
						l.read(gpu)
						kept := waiting[:0]
						for _, id := range waiting {
							if _, ready, _ := l.Result(id); !ready {
								kept = append(kept, id)
							}
						}
						waiting = kept
					}
				}
			})
		}
	}
}
