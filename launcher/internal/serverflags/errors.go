// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package serverflags

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/llamatelemetry/otelcol-llt/pkg/utf8cut"
)

// Errors wrapped by the *ArgError that Validate returns; test with
// errors.Is.
var (
	ErrUnknownFlag   = errors.New("unknown llama-server flag")
	ErrOwnedFlag     = errors.New("flag is set by the launcher")
	ErrDeniedFlag    = errors.New("flag is not allowed")
	ErrMissingValue  = errors.New("flag needs a value")
	ErrInvalidValue  = errors.New("invalid value for flag")
	ErrNotAFlag      = errors.New("not a flag")
	ErrRepeatedFlag  = errors.New("flag given more than once")
	ErrBadCharacters = errors.New("NUL or line break in argument")
)

// ArgError reports the first problem Validate found in extra_args.
type ArgError struct {
	// Index is the position in extra_args of the offending element.
	Index int
	// Arg is the offending element.
	Arg string
	// Flag is the flag concerned, as written, or "" when there is none.
	Flag string
	// Err is one of the Err* variables of this package.
	Err error

	msg string
}

func (e *ArgError) Error() string {
	return fmt.Sprintf("extra_args[%d]: %s", e.Index, e.msg)
}

func (e *ArgError) Unwrap() error { return e.Err }

func missingValue(i int, flag string, n int) error {
	if n == 1 {
		return newErr(i, flag, flag, ErrMissingValue, "%s needs a value", quote(flag))
	}
	return newErr(i, flag, flag, ErrMissingValue, "%s needs %d values", quote(flag), n)
}

func newErr(i int, arg, flag string, err error, format string, a ...any) error {
	return &ArgError{Index: i, Arg: arg, Flag: flag, Err: err, msg: fmt.Sprintf(format, a...)}
}

// quote quotes s for a message, shortened when long.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(utf8cut.Prefix(s, max)) + "..."
	}
	return strconv.Quote(s)
}
