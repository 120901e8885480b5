// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamalog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParseLine parses one line of each common shape.
func BenchmarkParseLine(b *testing.B) {
	lines := []struct{ name, line string }{
		{"slot-timing", "0.04.225.905 I slot print_timing: id  0 | task 1 | prompt eval time =       3.69 ms /    67 tokens (    0.06 ms per token, 18142.43 tokens per second)"},
		{"srv", "0.00.018.762 I srv    load_model: loading model '/models/tiny.gguf'"},
		{"plain", "llama_model_loader: loaded meta data with 21 key-value pairs and 201 tensors from /m.gguf (version GGUF V3 (latest))"},
		{"colours", "\x1b[34m0.00.004.176\x1b[0m \x1b[32mI \x1b[0msrv  llama_server: initializing ..."},
		{"jsonl", `{"type":"log","time":4225905,"level":"info","msg":"slot print_timing: id  0 | task 1 | prompt eval time =       3.69 ms /    67 tokens (    0.06 ms per token, 18142.43 tokens per second)\n"}`},
	}
	for _, l := range lines {
		b.Run(l.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(l.line)))
			for b.Loop() {
				_ = ParseLine(l.line)
			}
		})
	}
}

// BenchmarkTiming extracts the figures of a parsed timing line.
func BenchmarkTiming(b *testing.B) {
	r := ParseLine("0.04.225.905 I slot print_timing: id  0 | task 1 | prompt eval time =       3.69 ms /    67 tokens (    0.06 ms per token, 18142.43 tokens per second)")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = r.Timing()
	}
}

// BenchmarkScan reads the request fixture as a stream.
func BenchmarkScan(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "server-log-requests.txt"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := Scan(bytes.NewReader(data), func(Record) {}); err != nil {
			b.Fatal(err)
		}
	}
}
