// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package serverflags

import (
	"errors"
	"strings"
	"testing"
)

// FuzzValidate feeds Validate argument lists written as one string, the
// elements separated by NUL bytes (a NUL can never be part of an argument).
// More seeds are in testdata/fuzz/FuzzValidate.
func FuzzValidate(f *testing.F) {
	f.Add("--temp\x000.7\x00--top-k\x0040")
	f.Add("--port\x008080")
	f.Add("--control-vector-layer-range\x001")
	f.Fuzz(func(t *testing.T, data string) {
		args := strings.Split(data, "\x00")
		err := Validate(args)
		if again := Validate(args); (err == nil) != (again == nil) || (err != nil && err.Error() != again.Error()) {
			t.Fatalf("Validate(%q) is not deterministic: %v, then %v", args, err, again)
		}
		if err == nil {
			for i, a := range args {
				if a == "" || strings.ContainsAny(a, "\n\r") {
					t.Fatalf("Validate(%q) accepted element %d %q", args, i, a)
				}
			}
			// The first element must be an allowed flag.
			flag, ok := Lookup(args[0])
			if !ok || flag.OwnedBy != "" || flag.Denied != "" {
				t.Fatalf("Validate(%q) accepted %q as first element", args, args[0])
			}
			return
		}
		var ae *ArgError
		if !errors.As(err, &ae) {
			t.Fatalf("Validate(%q) returned %T", args, err)
		}
		if ae.Index < 0 || ae.Index >= len(args) || ae.Arg != args[ae.Index] {
			t.Fatalf("Validate(%q): bad index %d / arg %q", args, ae.Index, ae.Arg)
		}
		if !strings.HasPrefix(err.Error(), "extra_args[") {
			t.Fatalf("Validate(%q) = %q", args, err)
		}
		for _, known := range []error{
			ErrUnknownFlag, ErrOwnedFlag, ErrDeniedFlag, ErrMissingValue,
			ErrInvalidValue, ErrNotAFlag, ErrRepeatedFlag, ErrBadCharacters,
		} {
			if errors.Is(err, known) {
				return
			}
		}
		t.Fatalf("Validate(%q) = %v wraps no known error", args, err)
	})
}
