// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamalog

import "strings"

// stripControl removes ANSI escape sequences (the colours of --log-colors and
// the "\033[K" of progress lines) and carriage returns from s. It returns s
// itself when there is nothing to remove.
func stripControl(s string) string {
	next := strings.IndexAny(s, "\x1b\r")
	if next < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for next >= 0 {
		b.WriteString(s[:next])
		if s[next] == '\r' {
			s = s[next+1:]
		} else {
			s = s[skipEscape(s, next):]
		}
		next = strings.IndexAny(s, "\x1b\r")
	}
	b.WriteString(s)
	return b.String()
}

// skipEscape returns the offset just after the escape sequence that starts
// with the ESC at s[i] (ECMA-48). A sequence cut short by the end of s runs to
// the end of s; an ESC followed by something that starts no sequence is
// dropped alone.
func skipEscape(s string, i int) int {
	j := i + 1
	if j >= len(s) {
		return len(s)
	}
	c := s[j]
	switch {
	case c == '[': // CSI: parameters, intermediates, one final byte
		j++
		for j < len(s) && s[j] >= 0x30 && s[j] <= 0x3f {
			j++
		}
		for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f {
			j++
		}
		if j < len(s) && s[j] >= 0x40 && s[j] <= 0x7e {
			j++
		}
		return j
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
		// OSC, DCS, SOS, PM, APC: a string ended by BEL or ESC \
		for j++; j < len(s); j++ {
			if s[j] == 0x07 {
				return j + 1
			}
			if s[j] == 0x1b {
				if j+1 < len(s) && s[j+1] == '\\' {
					return j + 2
				}
				return j // a new sequence starts: let the caller handle it
			}
		}
		return len(s)
	case c >= 0x20 && c <= 0x2f: // nF: intermediates, one final byte
		for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f {
			j++
		}
		if j < len(s) && s[j] >= 0x30 && s[j] <= 0x7e {
			j++
		}
		return j
	case c >= 0x30 && c <= 0x7e: // Fp, Fe, Fs: two bytes
		return j + 1
	}
	return j
}
