// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tokenize

import (
	"strings"
	"testing"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// FuzzSPM checks that Tokenize never panics, returns only valid ids, and is deterministic, on
// modelgen's vocabulary and on the rich and Phi-3 ones of the conformance test. When no special
// token was matched and every byte has a token, the token texts (byte tokens as their byte) spell
// out the text as the tokenizer saw it: "▁" prefix (where add_space_prefix) and ' ' as "▁".
func FuzzSPM(f *testing.F) {
	for _, s := range fixedCases() {
		if len(s) < 256 {
			f.Add(s)
		}
	}
	toks := []*SPM{openSPM(f, llamatest.TinyModel(f)), newSPM(f, richVocab()), newSPM(f, phi3Vocab())}
	f.Fuzz(func(t *testing.T, text string) {
		for _, tok := range toks {
			got := tok.Tokenize(text)
			special := false
			var spelled strings.Builder
			for _, id := range got {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("%q: id %d out of range [0, %d)", text, id, tok.VocabSize())
				}
				a, s := tok.attrs[id], tok.texts[id]
				special = special || a&attrSpecial != 0
				if a&attrByte != 0 && len(s) == 6 && strings.HasPrefix(s, "<0x") {
					spelled.WriteByte(unhex(s[3])<<4 | unhex(s[4]))
				} else {
					spelled.WriteString(s)
				}
			}
			if again := tok.Tokenize(text); !equalIDs(got, again) {
				t.Fatalf("%q: not deterministic: %v then %v", text, got, again)
			}
			if text == "" || special {
				continue
			}
			want := strings.ReplaceAll(text, " ", escapedSpace)
			if tok.addSpacePrefix {
				want = escapedSpace + want
			}
			if spelled.String() != want {
				t.Fatalf("%q: tokens %v spell %q, want %q", text, got, spelled.String(), want)
			}
		}
	})
}

func unhex(c byte) byte {
	if c >= 'A' {
		return c - 'A' + 10
	}
	return c - '0'
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
