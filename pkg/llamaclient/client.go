// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamaclient

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// ErrTooLarge is the error of [ReadBody] for a body longer than its limit.
var ErrTooLarge = errors.New("response larger than the limit")

// SetAPIKey sets the header that llama-server's --api-key checks, "Authorization: Bearer key".
// An empty key sets nothing.
func SetAPIKey(h http.Header, key string) {
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
}

// ReadBody reads r to its end, keeping at most limit bytes: a wrong endpoint can send anything,
// for as long as it likes. A longer body gives its first limit bytes and [ErrTooLarge], without
// reading the rest; a read error gives what was read before it and that error. The caller
// closes the body.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return b, err
	}
	if int64(len(b)) > limit {
		return b[:limit], ErrTooLarge
	}
	return b, nil
}

// ErrorMessage returns the message of a llama-server error body
// ({"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}), or the error of
// a body whose "error" is a string ({"error":"..."}), or "" when body has neither. It neither
// cuts nor quotes the message: callers do, in their own words.
func ErrorMessage(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Error) == 0 {
		return ""
	}
	var obj struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(e.Error, &obj) == nil {
		return obj.Message
	}
	var s string
	if json.Unmarshal(e.Error, &s) == nil {
		return s
	}
	return ""
}
