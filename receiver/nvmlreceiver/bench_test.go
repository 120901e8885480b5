// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
)

// BenchmarkScrape is one scrape of 8 GPUs through the fake client: the receiver's own cost
// (NVML's is not included), with the utilization-samples path and one compute process per GPU.
func BenchmarkScrape(b *testing.B) {
	proc := b.TempDir()
	devs := make([]*fakeDevice, 8)
	for i := range devs {
		devs[i] = h200(i)
		writeProc(b, proc, 12895+i, 1, "llama-server", "/usr/bin/llama-server")
	}
	s, _ := newTestScraper(b, newFakeLibrary(devs...), proc, nil)
	require.NoError(b, s.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(b, s.shutdown(context.Background())) }()

	samples := make([]utilizationSample, 6)
	ts := uint64(2_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range samples { // six new samples per GPU since the previous scrape
			ts += 166_666
			samples[i] = utilizationSample{Timestamp: ts, Percent: float64(60 + i)}
		}
		for _, d := range devs {
			d.samples = samples
		}
		m, err := s.scrape(context.Background())
		if err != nil || m.ResourceMetrics().Len() != 8 {
			b.Fatalf("scrape: %v, %d resources", err, m.ResourceMetrics().Len())
		}
	}
}
