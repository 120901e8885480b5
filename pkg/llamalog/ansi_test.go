// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamalog

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStripControl(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "srv  x: y", "srv  x: y"},
		{"empty", "", ""},
		{"llama.cpp colours", "\x1b[34m0.00.004.176\x1b[0m \x1b[32mI \x1b[0msrv  x: y", "0.00.004.176 I srv  x: y"},
		{"bold and several parameters", "\x1b[1;31mE\x1b[22;39m x", "E x"},
		{"clear to end of line and carriage return", "load: ...\x1b[K\r", "load: ..."},
		{"carriage returns", "a\rb\r\r", "ab"},
		{"private parameters", "\x1b[?25lhidden cursor\x1b[?25h", "hidden cursor"},
		{"OSC title ended by BEL", "\x1b]0;llama-server\x07text", "text"},
		{"OSC ended by ST", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"},
		{"OSC cut off", "text\x1b]0;tit", "text"},
		{"charset designation", "\x1b(Btext", "text"},
		{"two-byte escape", "\x1bMtext\x1b7", "text"},
		{"lone escape at the end", "text\x1b", "text"},
		{"escape before another escape", "a\x1b\x1b[0mb", "ab"},
		{"escape before a control byte", "a\x1b\nb", "a\nb"},
		{"CSI cut off", "text\x1b[38;5", "text"},
		{"UTF-8 untouched", "température: 3 °C", "température: 3 °C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, stripControl(tt.in))
		})
	}
}
