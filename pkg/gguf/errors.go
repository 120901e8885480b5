// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"errors"
	"fmt"
)

// FormatError reports that a file is not valid GGUF: a bad magic number,
// an unsupported version, a truncated record, a value out of range. Off is
// the byte offset in the file of the offending record.
type FormatError struct {
	Off int64  // byte offset of the record at fault
	Msg string // what is wrong, in lower case
	Val any    // the offending value, if any; printed after Msg
}

// Error formats the error like debug/elf's: "gguf: MSG 'VAL' at byte 0xOFF".
func (e *FormatError) Error() string {
	msg := "gguf: " + e.Msg
	if e.Val != nil {
		msg += fmt.Sprintf(" '%v'", e.Val)
	}
	return msg + fmt.Sprintf(" at byte %#x", e.Off)
}

// ErrNoTensor is returned, wrapped with the tensor name, by the File
// methods that look a tensor up by name when the file has no such tensor.
var ErrNoTensor = errors.New("no such tensor")
