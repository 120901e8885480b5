// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package client

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":      0,
		"1":     time.Second,
		" 120 ": 2 * time.Minute,
		"0":     0,
		"-5":    0,
		"soon":  0,
		now.Add(45 * time.Second).Format(http.TimeFormat): 45 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
		"Sat, 28 Nov 2026 12:00:10 GMT":                   10 * time.Second,
		"999999999999":                                    24 * time.Hour,
	}
	for in, want := range tests {
		assert.Equal(t, want, parseRetryAfter(in, now), "Retry-After %q", in)
	}
}

func TestServerMessage(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"success":false,"message":"bad bindings"}`, "bad bindings"},
		{`{"detail":"Authentication credentials were not provided."}`, "Authentication credentials were not provided."},
		{`{"non_field_errors":["Token has expired."]}`, "Token has expired."},
		{`{"username":["This field is required."],"password":["This field is required."]}`,
			"password: This field is required.; username: This field is required."},
		{`{"status":"ERR","message":{"message":"nested"}}`, "nested"},
		{"<html>502 Bad Gateway</html>", "<html>502 Bad Gateway</html>"},
		{"", ""},
		{"\xff\xfeinvalid", "\uFFFDinvalid"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, serverMessage([]byte(tt.body)), "body %q", tt.body)
	}
	long := serverMessage([]byte(strings.Repeat("é", 1000)))
	assert.LessOrEqual(t, len(long), maxMessageBytes+len("…"))
	assert.True(t, strings.HasSuffix(long, "…"))
}

func TestTokenExpiry(t *testing.T) {
	enc := func(payload string) string {
		return "eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
	}
	exp, ok := tokenExpiry(enc(`{"exp":1796000000,"username":"x"}`))
	assert.True(t, ok)
	assert.Equal(t, time.Unix(1796000000, 0), exp)
	exp, ok = tokenExpiry(enc(`{"exp":1796000000.5}`))
	assert.True(t, ok)
	assert.Equal(t, time.Unix(1796000000, 5e8), exp)
	padded := "a." + base64.URLEncoding.EncodeToString([]byte(`{"exp":1796000001}`)) + ".b"
	exp, ok = tokenExpiry(padded)
	assert.True(t, ok)
	assert.Equal(t, time.Unix(1796000001, 0), exp)
	for _, bad := range []string{"", "opaque-token", enc(`{"username":"x"}`), enc(`not json`), enc(`{"exp":"soon"}`), "a.!!!.b"} {
		_, ok := tokenExpiry(bad)
		assert.False(t, ok, bad)
	}
}

func TestRedactKeepsRecentTokens(t *testing.T) {
	c := &Client{secrets: []string{"hunter22"}}
	for i := 0; i < 20; i++ {
		c.rememberToken("tok-" + strings.Repeat("x", i+1))
	}
	assert.Len(t, c.tokens, 8)
	assert.Equal(t, "pw [REDACTED] tok [REDACTED]", c.redact("pw hunter22 tok tok-"+strings.Repeat("x", 20)))
}
