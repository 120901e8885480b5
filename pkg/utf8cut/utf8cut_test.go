// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package utf8cut

import (
	"testing"
	"unicode/utf8"
)

func TestPrefix(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 0, "hello"},
		{"hello", -1, "hello"},
		{"hello", 3, "hel"},
		{"héllo", 2, "h"},  // é is 2 bytes: not split
		{"héllo", 3, "hé"}, // whole
		{"日本", 4, "日"},
		{"日本", 2, ""},
	} {
		if got := Prefix(tc.s, tc.n); got != tc.want {
			t.Errorf("Prefix(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func FuzzPrefix(f *testing.F) {
	f.Add("héllo 日本", 4)
	f.Fuzz(func(t *testing.T, s string, n int) {
		got := Prefix(s, n)
		if n > 0 && len(got) > n {
			t.Fatalf("%d bytes > %d", len(got), n)
		}
		if len(got) > len(s) || s[:len(got)] != got {
			t.Fatalf("not a prefix")
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("split a rune: %q", got)
		}
	})
}
