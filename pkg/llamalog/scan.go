// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamalog

import (
	"bufio"
	"errors"
	"io"
	"unicode/utf8"
)

// MaxLineBytes is the most bytes of one line that Scan keeps. The rest of a
// longer line, up to its newline, is read and dropped, and the Record has
// Truncated set; the next line is parsed as usual. The limit counts the
// bytes as read, before colour codes and carriage returns are removed, and
// the cut is moved back to a UTF-8 character boundary.
const MaxLineBytes = 64 << 10

// scanBufferSize is the size of Scan's read buffer; lines longer than it are
// assembled from several reads.
const scanBufferSize = 16 << 10

// Scan reads r line by line and calls fn with each parsed line, in order,
// until r is exhausted. A line ends at "\n"; a last line without one is
// parsed too, and an empty input calls fn never. Colour codes (ANSI escape
// sequences) and carriage returns are removed before parsing, so Record.Line
// is the line without them. Lines longer than MaxLineBytes are cut (see
// MaxLineBytes).
//
// Scan returns nil at io.EOF and any other read error as it is, after
// calling fn for the part of a line read before the error. It does not stop
// on its own: to end it early, close the reader.
func Scan(r io.Reader, fn func(Record)) error {
	br := bufio.NewReaderSize(r, scanBufferSize)
	line := make([]byte, 0, 256)
	truncated := false
	emit := func() {
		if truncated {
			line = cutToRuneBoundary(line)
		}
		rec := ParseLine(stripControl(string(line)))
		rec.Truncated = truncated
		fn(rec)
		line, truncated = line[:0], false
	}
	for {
		frag, err := br.ReadSlice('\n')
		complete := err == nil
		if complete {
			frag = frag[:len(frag)-1]
		}
		if room := MaxLineBytes - len(line); len(frag) > room {
			line = append(line, frag[:room]...)
			truncated = true
		} else {
			line = append(line, frag...)
		}
		switch {
		case complete:
			emit()
		case errors.Is(err, bufio.ErrBufferFull):
			// the line goes on
		case errors.Is(err, io.EOF):
			if len(line) > 0 || truncated {
				emit()
			}
			return nil
		default:
			if len(line) > 0 || truncated {
				emit()
			}
			return err
		}
	}
}

// cutToRuneBoundary drops an incomplete UTF-8 sequence that a cut left at the
// end of b.
func cutToRuneBoundary(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}
