// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/utf8cut"
)

// maxResponseBytes bounds how much of a response body is read.
const maxResponseBytes = 1 << 20

// maxMessageBytes bounds the server message quoted in errors.
const maxMessageBytes = 512

// HTTPError is a non-2xx answer from the server. Upload errors wrap it (use
// errors.As): 429 answers are additionally wrapped by
// exporterhelper.NewThrottleRetry, other 4xx by consumererror.NewPermanent.
type HTTPError struct {
	// Op is the client operation, e.g. "login", "create dataset".
	Op     string
	Method string
	// Path is the request path (never contains credentials or tokens).
	Path       string
	StatusCode int
	// Message is the server's explanation: the JSON "message", "detail" or
	// "non_field_errors" field (or field errors), else the start of the body.
	// Known secrets are redacted.
	Message string
	// RetryAfter is the parsed Retry-After header (0 when absent).
	RetryAfter time.Duration
}

// Error implements error.
func (e *HTTPError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("graphistry: %s: %s %s: HTTP %d: %s", e.Op, e.Method, e.Path, e.StatusCode, msg)
}

// AuthError reports that the server rejected the credentials or the token
// even after re-authenticating. It is always wrapped as a permanent error.
type AuthError struct {
	HTTP *HTTPError
}

// Error implements error.
func (e *AuthError) Error() string {
	msg := e.HTTP.Message
	if msg == "" {
		msg = http.StatusText(e.HTTP.StatusCode)
	}
	return fmt.Sprintf("graphistry: authentication rejected: %s (%s: %s %s, HTTP %d)",
		msg, e.HTTP.Op, e.HTTP.Method, e.HTTP.Path, e.HTTP.StatusCode)
}

// Unwrap returns the underlying HTTP error.
func (e *AuthError) Unwrap() error { return e.HTTP }

// RetryAfter returns the server-requested delay carried by err (a 429, or a
// 503 with Retry-After), and whether there was one. exporterhelper waits at
// least this long before retrying (NewThrottleRetry).
func RetryAfter(err error) (time.Duration, bool) {
	var he *HTTPError
	if errors.As(err, &he) && (he.StatusCode == http.StatusTooManyRequests || he.RetryAfter > 0) {
		return he.RetryAfter, true
	}
	return 0, false
}

type request struct {
	op          string
	method      string
	path        string
	contentType string
	body        []byte
	header      http.Header // extra headers (never logged)
	bearer      string      // token for Authorization: Bearer
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// send performs one HTTP exchange. A nil error means a response arrived, with
// any status; network errors are returned as retryable errors.
func (c *Client) send(ctx context.Context, req request) (*response, error) {
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, c.endpoint+req.path, body)
	if err != nil {
		return nil, consumererror.NewPermanent(fmt.Errorf("graphistry: %s: building request: %w", req.op, err))
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", AgentName+"/"+c.agentVersion)
	if req.contentType != "" {
		hreq.Header.Set("Content-Type", req.contentType)
	}
	for k, vs := range req.header {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	if req.bearer != "" {
		hreq.Header.Set("Authorization", "Bearer "+req.bearer)
	}
	start := c.now()
	hresp, err := c.httpClient.Do(hreq)
	if err != nil {
		c.logger.Debug("graphistry: request failed",
			zap.String("op", req.op), zap.String("method", req.method), zap.String("path", req.path),
			zap.String("error", c.redact(err.Error())))
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("graphistry: %s: %s %s: %w", req.op, req.method, req.path, ctxErr)
		}
		// *url.Error text holds the URL (no credentials) and the cause.
		return nil, fmt.Errorf("graphistry: %s: %s %s: %s", req.op, req.method, req.path, c.redact(err.Error()))
	}
	defer func() {
		// Drain a little so the connection can be reused, then close.
		_, _ = io.Copy(io.Discard, io.LimitReader(hresp.Body, 64<<10))
		_ = hresp.Body.Close()
	}()
	b, err := io.ReadAll(io.LimitReader(hresp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("graphistry: %s: %s %s: reading response: %s", req.op, req.method, req.path, c.redact(err.Error()))
	}
	c.logger.Debug("graphistry: request done",
		zap.String("op", req.op), zap.String("method", req.method), zap.String("path", req.path),
		zap.Int("status", hresp.StatusCode), zap.Duration("duration", c.now().Sub(start)))
	return &response{status: hresp.StatusCode, header: hresp.Header, body: b}, nil
}

// doAuthed sends an authenticated request. A 401 makes it re-authenticate once
// and retry; a second 401 is a permanent [AuthError]. Non-2xx answers are
// classified by [Client.statusError].
func (c *Client) doAuthed(ctx context.Context, req request) (*response, error) {
	tok, err := c.currentToken(ctx)
	if err != nil {
		return nil, err
	}
	req.bearer = tok
	resp, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.status == http.StatusUnauthorized {
		c.logger.Debug("graphistry: token rejected; authenticating again",
			zap.String("op", req.op), zap.String("server_message", c.redact(serverMessage(resp.body))))
		tok, err = c.reauthenticate(ctx, tok)
		if err != nil {
			return nil, err
		}
		req.bearer = tok
		resp, err = c.send(ctx, req)
		if err != nil {
			return nil, err
		}
		if resp.status == http.StatusUnauthorized {
			return nil, consumererror.NewPermanent(&AuthError{HTTP: c.httpError(req, resp)})
		}
	}
	if resp.status < 200 || resp.status > 299 {
		return nil, c.statusError(req, resp)
	}
	return resp, nil
}

// httpError builds the [HTTPError] for a non-2xx response.
func (c *Client) httpError(req request, resp *response) *HTTPError {
	return &HTTPError{
		Op:         req.op,
		Method:     req.method,
		Path:       req.path,
		StatusCode: resp.status,
		Message:    c.redact(serverMessage(resp.body)),
		RetryAfter: parseRetryAfter(resp.header.Get("Retry-After"), c.now()),
	}
}

// statusError classifies a non-2xx response for exporterhelper:
//   - 429, and 503 with Retry-After: throttle error (retry after the delay);
//   - 408 and 5xx: plain error, retried with backoff;
//   - other 4xx: permanent error (the request itself is wrong).
func (c *Client) statusError(req request, resp *response) error {
	he := c.httpError(req, resp)
	switch {
	case resp.status == http.StatusTooManyRequests,
		resp.status == http.StatusServiceUnavailable && he.RetryAfter > 0:
		return exporterhelper.NewThrottleRetry(he, he.RetryAfter)
	case resp.status == http.StatusRequestTimeout, resp.status >= 500:
		return he
	default:
		return consumererror.NewPermanent(he)
	}
}

// badResponse reports a 2xx answer whose body is not what the API documents.
func (c *Client) badResponse(op, path string, resp *response) error {
	return fmt.Errorf("graphistry: %s: POST %s: unexpected response (HTTP %d): %s",
		op, path, resp.status, c.redact(serverMessage(resp.body)))
}

// parseRetryAfter parses a Retry-After value: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). Unparseable or past values give 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		const maxSecs = int64(24 * time.Hour / time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// serverMessage extracts a human explanation from an error body: the JSON
// "message", "detail", "non_field_errors" or "error" field, else Django REST
// framework field errors ("field: msg"), else the start of the body.
func serverMessage(body []byte) string {
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err == nil {
		for _, k := range []string{"message", "detail", "non_field_errors", "error", "errors"} {
			if s := flatten(obj[k]); s != "" {
				return truncate(s)
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			if k != "success" && k != "status" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			if s := flatten(obj[k]); s != "" {
				parts = append(parts, k+": "+s)
			}
		}
		if len(parts) > 0 {
			return truncate(strings.Join(parts, "; "))
		}
	}
	return truncate(strings.TrimSpace(string(body)))
}

func flatten(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case []any:
		var parts []string
		for _, e := range t {
			if s := flatten(e); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, " ")
	case map[string]any:
		if s := flatten(t["message"]); s != "" {
			return s
		}
		b, _ := json.Marshal(t)
		return string(b)
	case nil:
		return ""
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

// truncate cuts s to maxMessageBytes on a rune boundary and makes it valid
// UTF-8.
func truncate(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxMessageBytes {
		return s
	}
	return utf8cut.Prefix(s, maxMessageBytes) + "…"
}

// rememberToken records a token so that it is redacted should a server ever
// echo it. Only the most recent tokens are kept.
func (c *Client) rememberToken(tok string) {
	if tok == "" {
		return
	}
	c.secretsMu.Lock()
	defer c.secretsMu.Unlock()
	for _, x := range c.tokens {
		if x == tok {
			return
		}
	}
	const maxTokens = 8
	c.tokens = append(c.tokens, tok)
	if len(c.tokens) > maxTokens {
		c.tokens = append([]string(nil), c.tokens[len(c.tokens)-maxTokens:]...)
	}
}

// redact replaces known secrets (password, personal key secret, personal key
// header value, tokens) in s.
func (c *Client) redact(s string) string {
	c.secretsMu.Lock()
	all := make([]string, 0, len(c.secrets)+len(c.tokens))
	all = append(append(all, c.secrets...), c.tokens...)
	c.secretsMu.Unlock()
	// Longest first, so that a secret containing another is fully replaced.
	sort.Slice(all, func(i, j int) bool { return len(all[i]) > len(all[j]) })
	for _, x := range all {
		if x != "" && strings.Contains(s, x) {
			s = strings.ReplaceAll(s, x, "[REDACTED]")
		}
	}
	return s
}
