// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package serverflags

import "strings"

// Validate checks extra_args: every element is either a known llama-server
// flag that the launcher neither owns nor denies, or a valid value right
// after a flag that takes one. It returns nil or an *ArgError for the first
// problem found.
func Validate(args []string) error {
	seen := make(map[int]int) // table index -> index in args
	for i := 0; i < len(args); i++ {
		a := args[i]
		if hasBadCharacters(a) {
			return newErr(i, a, "", ErrBadCharacters, "%s contains a NUL or line-break character: remove it", quote(a))
		}
		if !looksLikeFlag(a) {
			return newErr(i, a, "", ErrNotAFlag, "%s is not a flag (values follow their flag)", quote(a))
		}
		t, ok := lookup(a)
		if !ok {
			if name, _, found := strings.Cut(a, "="); found {
				if _, known := lookup(name); known {
					return newErr(i, a, name, ErrUnknownFlag,
						"llama-server does not accept %s: give %s and its value as two entries", quote(a), quote(name))
				}
			}
			return newErr(i, a, "", ErrUnknownFlag, "unknown llama-server flag %s", quote(a))
		}
		f := &table[t]
		switch {
		case f.OwnedBy == alwaysSet:
			return newErr(i, a, a, ErrOwnedFlag, "%s is always set by the launcher: remove it", quote(a))
		case f.OwnedBy != "":
			return newErr(i, a, a, ErrOwnedFlag, "%s is set by the launcher: use `%s`", quote(a), f.OwnedBy)
		case f.Denied != "":
			return newErr(i, a, a, ErrDeniedFlag, "%s is not allowed: %s", quote(a), f.Denied)
		}
		if first, dup := seen[t]; dup && !f.Repeatable {
			return newErr(i, a, a, ErrRepeatedFlag,
				"%s repeats extra_args[%d] (%s): give the flag once", quote(a), first, quote(args[first]))
		}
		seen[t] = i

		n := f.values()
		for k := 1; k <= n; k++ {
			j := i + k
			if j >= len(args) {
				return missingValue(i, a, n)
			}
			v := args[j]
			if hasBadCharacters(v) {
				return newErr(j, v, a, ErrBadCharacters,
					"the value of %s contains a NUL or line-break character: remove it", quote(a))
			}
			if _, isFlag := lookup(v); isFlag {
				return missingValue(i, a, n)
			}
			if want := checkValue(f, v); want != "" {
				return newErr(j, v, a, ErrInvalidValue,
					"%s is not a valid value for %s (want %s)", quote(v), quote(a), want)
			}
		}
		i += n
	}
	return nil
}

func hasBadCharacters(s string) bool {
	return strings.ContainsAny(s, "\x00\n\r")
}

// looksLikeFlag reports whether s is written like a flag: a dash and more,
// but not a negative number.
func looksLikeFlag(s string) bool {
	return len(s) > 1 && s[0] == '-' && !isFloat(s)
}
