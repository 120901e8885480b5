// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package utf8cut cuts strings to a byte budget without splitting a UTF-8 sequence: captured
// prompts and answers, error messages quoted from a server, texts sent to an embedder.
package utf8cut // import "github.com/llamatelemetry/otelcol-llt/pkg/utf8cut"

import "unicode/utf8"

// Prefix returns the longest prefix of s of at most n bytes that ends on a rune boundary; n <= 0
// means no limit. An invalid sequence is not repaired, only never split further.
func Prefix(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
