// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tokenize

import (
	"strings"
	"testing"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// benchPrompt is a 2 KB chat prompt of prose, code and JSON.
var benchPrompt = func() string {
	const part = "You are a helpful assistant. The user asks: how do I read a file in Go? " +
		"Answer with a short example.\n```go\ndata, err := os.ReadFile(\"config.json\")\n" +
		"if err != nil {\n\treturn fmt.Errorf(\"read config: %w\", err)\n}\n```\n" +
		`{"role": "user", "content": "Thanks! Café, naïve, 中文 and 😀 work too?"} `
	s := strings.Repeat(part, 2048/len(part)+1)
	return s[:2048]
}()

// BenchmarkSPM tokenizes a 2 KB prompt with modelgen's 275-token vocabulary (almost one token
// per character: the worst case for merging) and with the rich vocabulary of the conformance
// test (530 tokens: a few hundred trained merges and 42 special tokens).
func BenchmarkSPM(b *testing.B) {
	for _, c := range []struct {
		name string
		tok  *SPM
	}{
		{"modelgen", openSPM(b, llamatest.TinyModel(b))},
		{"rich", newSPM(b, richVocab())},
	} {
		b.Run(c.name, func(b *testing.B) {
			n := len(c.tok.Tokenize(benchPrompt))
			b.SetBytes(int64(len(benchPrompt)))
			b.ReportAllocs()
			for b.Loop() {
				c.tok.Tokenize(benchPrompt)
			}
			b.ReportMetric(float64(n), "tokens/op")
		})
	}
}
