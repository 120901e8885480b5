// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamaclient

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSetAPIKey(t *testing.T) {
	h := http.Header{}
	SetAPIKey(h, "")
	assert.Empty(t, h)
	SetAPIKey(h, "k1")
	assert.Equal(t, "Bearer k1", h.Get("Authorization"))
}

func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		limit    int64
		want     string
		tooLarge bool
	}{
		{"empty", "", 4, "", false},
		{"under the limit", "abc", 4, "abc", false},
		{"at the limit", "abcd", 4, "abcd", false},
		{"one byte over", "abcde", 4, "abcd", true},
		{"far over", strings.Repeat("x", 1000), 4, "xxxx", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadBody(iotest.OneByteReader(strings.NewReader(tc.in)), tc.limit)
			assert.Equal(t, tc.want, string(got))
			if tc.tooLarge {
				assert.ErrorIs(t, err, ErrTooLarge)
			} else {
				assert.NoError(t, err)
			}
		})
	}

	boom := errors.New("connection reset")
	got, err := ReadBody(io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(boom)), 4)
	require.ErrorIs(t, err, boom)
	assert.Equal(t, "ab", string(got), "what came before the error")
}

func TestErrorMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}}`: "Invalid API Key",
		`{"error":{"code":501,"message":"This server does not support slots endpoint. Start it with` +
			" `--slots`" + `","type":"not_supported_error"}}`: "This server does not support slots endpoint. Start it with `--slots`",
		`{"error":"model not loaded"}`:        "model not loaded",
		`{"error":{"code":500,"message":""}}`: "",
		`{"error":{"code":500}}`:              "",
		`{"error":null}`:                      "",
		`{"error":42}`:                        "",
		`{"status":"error"}`:                  "",
		`[1,2]`:                               "",
		`not json`:                            "",
		``:                                    "",
		`{"error":{"message":"cut`:            "",
		`{"error":{"message":"line1\nline2 \u00e9"}}`: "line1\nline2 é",
	} {
		assert.Equal(t, want, ErrorMessage([]byte(body)), body)
	}
}
