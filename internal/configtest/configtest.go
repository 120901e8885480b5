// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package configtest helps the components' config tests read the errors that the collector's
// confmap validation builds: one line per problem, each with its section's path.
package configtest // import "github.com/llamatelemetry/otelcol-llt/internal/configtest"

import (
	"strings"
	"testing"
)

// AssertErrorLine checks that one of the problems in err (see ErrorLines) contains want.
func AssertErrorLine(t testing.TB, err error, want string) {
	t.Helper()
	lines := ErrorLines(err)
	for _, l := range lines {
		if strings.Contains(l, want) {
			return
		}
	}
	t.Errorf("no problem contains %q; the problems are:\n%s", want, strings.Join(lines, "\n"))
}

// ErrorLines flattens a config error into one line per problem, each with the path that
// confmap.Validate put in front of the section it came from. The error's text shows that path
// before the first problem of a section only ("embeddings: `source` ...\n`window` ..."); here
// every problem carries it ("embeddings: `window` must be >= 10").
func ErrorLines(err error) []string {
	var lines []string
	var walk func(prefix string, err error)
	walk = func(prefix string, err error) {
		switch u := err.(type) { //nolint:errorlint // walks the wrapping itself, one level at a time
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(prefix, e)
			}
			return
		case interface{ Unwrap() error }:
			if inner := u.Unwrap(); inner != nil {
				if err.Error() == inner.Error() { // the root section: no path
					walk(prefix, inner)
					return
				}
				if path, ok := strings.CutSuffix(err.Error(), ": "+inner.Error()); ok {
					walk(prefix+path+": ", inner)
					return
				}
			}
		}
		lines = append(lines, prefix+err.Error())
	}
	walk("", err)
	return lines
}
