// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamalog

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collect runs Scan over r and returns the records it produced.
func collect(t testing.TB, r io.Reader) ([]Record, error) {
	t.Helper()
	var got []Record
	err := Scan(r, func(rec Record) { got = append(got, rec) })
	return got, err
}

func TestScanFixtures(t *testing.T) {
	tests := []struct {
		name      string
		wantLines int
	}{
		// 19 newlines and a last line that the capture cut off mid-way.
		{"server-log-head.txt", 20},
		{"server-log-requests.txt", 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.name))
			require.NoError(t, err)
			got, err := collect(t, strings.NewReader(string(data)))
			require.NoError(t, err)
			require.Len(t, got, tt.wantLines)

			lines := readLines(t, filepath.Join("testdata", tt.name))
			require.Len(t, lines, tt.wantLines)
			for i, line := range lines {
				assert.Equal(t, ParseLine(line), got[i], "line %d", i+1)
			}

			// Reads of one byte at a time give the same records.
			slow, err := collect(t, iotest.OneByteReader(strings.NewReader(string(data))))
			require.NoError(t, err)
			assert.Equal(t, got, slow)
		})
	}
}

func TestScan(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string // Record.Line of each record
	}{
		{"empty input", "", nil},
		{"one newline", "\n", []string{""}},
		{"no final newline", "a\nb", []string{"a", "b"}},
		{"final newline", "a\nb\n", []string{"a", "b"}},
		{"blank lines kept", "a\n\n\nb\n", []string{"a", "", "", "b"}},
		{"CRLF", "a\r\nb\r\n", []string{"a", "b"}},
		{"carriage returns inside", "load_tensors: ..\r...\r\n", []string{"load_tensors: ....."}},
		{
			"colours removed",
			"\x1b[34m0.00.004.176\x1b[0m \x1b[32mI \x1b[0msrv  llama_server: initializing ...\n\x1b[35mW srv  x: y\x1b[0m\n",
			[]string{"0.00.004.176 I srv  llama_server: initializing ...", "W srv  x: y"},
		},
		{"escape cut off at the end", "abc\x1b[3", []string{"abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(t, strings.NewReader(tt.input))
			require.NoError(t, err)
			var lines []string
			for _, r := range got {
				lines = append(lines, r.Line)
				assert.False(t, r.Truncated)
			}
			assert.Equal(t, tt.want, lines)
		})
	}
}

func TestScanColoursParsed(t *testing.T) {
	got, err := collect(t, strings.NewReader("\x1b[34m0.00.014.550\x1b[0m \x1b[35mW srv  llama_server: security: no API key is set\x1b[0m\n"))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, LevelWarn, got[0].Level)
	assert.Equal(t, "srv", got[0].Module)
	assert.Equal(t, "security: no API key is set", got[0].Message)
	assert.True(t, got[0].HasElapsed)
}

func TestScanLongLines(t *testing.T) {
	long := "srv  load_model: " + strings.Repeat("x", 3*MaxLineBytes)
	tests := []struct {
		name          string
		input         string
		wantLens      []int
		wantTruncated []bool
	}{
		{
			name:          "exactly the limit",
			input:         strings.Repeat("a", MaxLineBytes) + "\nnext\n",
			wantLens:      []int{MaxLineBytes, 4},
			wantTruncated: []bool{false, false},
		},
		{
			name:          "one byte over",
			input:         strings.Repeat("a", MaxLineBytes+1) + "\nnext\n",
			wantLens:      []int{MaxLineBytes, 4},
			wantTruncated: []bool{true, false},
		},
		{
			name:          "far over, then a short line",
			input:         long + "\n" + "srv  update_slots: all slots are idle\n",
			wantLens:      []int{MaxLineBytes, len("srv  update_slots: all slots are idle")},
			wantTruncated: []bool{true, false},
		},
		{
			name:          "far over without a newline",
			input:         long,
			wantLens:      []int{MaxLineBytes},
			wantTruncated: []bool{true},
		},
		{
			name:          "cut inside a UTF-8 character",
			input:         strings.Repeat("a", MaxLineBytes-1) + "é\n",
			wantLens:      []int{MaxLineBytes - 1},
			wantTruncated: []bool{true},
		},
		{
			name:          "newline carriage return over the limit",
			input:         strings.Repeat("a", MaxLineBytes) + "\r\nnext\n",
			wantLens:      []int{MaxLineBytes, 4},
			wantTruncated: []bool{true, false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(t, strings.NewReader(tt.input))
			require.NoError(t, err)
			require.Len(t, got, len(tt.wantLens))
			for i, r := range got {
				assert.Len(t, r.Line, tt.wantLens[i], "record %d", i)
				assert.Equal(t, tt.wantTruncated[i], r.Truncated, "record %d", i)
			}
		})
	}

	got, err := collect(t, strings.NewReader(long+"\n"))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "srv", got[0].Module)
	assert.Equal(t, "load_model", got[0].Function)
	assert.Equal(t, strings.Repeat("x", MaxLineBytes-len("srv  load_model: ")), got[0].Message)
}

var errBroken = errors.New("pipe broke")

func TestScanReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("srv  x: one\nsrv  x: tw"), iotest.ErrReader(errBroken))
	got, err := collect(t, r)
	require.ErrorIs(t, err, errBroken)
	require.Len(t, got, 2)
	assert.Equal(t, "one", got[0].Message)
	assert.Equal(t, "tw", got[1].Message)

	got, err = collect(t, iotest.ErrReader(errBroken))
	require.ErrorIs(t, err, errBroken)
	assert.Empty(t, got)
}

func TestScanErrorAfterCompleteLines(t *testing.T) {
	// iotest.TimeoutReader fails the read after the first one: both lines
	// are delivered before the error comes back.
	got, err := collect(t, iotest.TimeoutReader(strings.NewReader("a\nb\n")))
	require.ErrorIs(t, err, iotest.ErrTimeout)
	assert.Len(t, got, 2)
}
