// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"
)

// defaultTokenLifetime is assumed when a JWT carries no exp claim: the Hub
// docs (/docs/api/1/rest/auth/) say tokens last about one hour.
const defaultTokenLifetime = time.Hour

// refreshMargin is how long before expiry the token is refreshed.
const refreshMargin = 5 * time.Minute

// Password login: pygraphistry (arrow_uploader.py login()) uses
// POST /api-token-auth/, the route the Hub auth docs (/docs/api/1/rest/auth/)
// document; graphistry-js (Client.ts) uses POST /api/v2/auth/token/generate.
// The client tries /api-token-auth/ first because it is the documented route
// and the one the reference Python client, and so most deployments, exercise;
// on 404 it falls back to the graphistry-js route and remembers the choice.

// acquire takes the authentication lock, honouring ctx.
func (c *Client) acquire(ctx context.Context) error {
	select {
	case c.authSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("graphistry: waiting for authentication: %w", ctx.Err())
	}
}

func (c *Client) release() { <-c.authSem }

// currentToken returns a usable token: the cached one, a refreshed one when
// it expires within refreshMargin (pygraphistry refreshes before every plot,
// PlotterBase.py), or a fresh login when there is none, it already expired or
// the refresh failed (pygraphistry.py refresh(): TokenExpireException -> login
// again with the stored credentials).
func (c *Client) currentToken(ctx context.Context) (string, error) {
	if err := c.acquire(ctx); err != nil {
		return "", err
	}
	defer c.release()
	now := c.now()
	if c.token != "" && now.Before(c.refreshAt) {
		return c.token, nil
	}
	if c.token != "" && now.Before(c.expiry) {
		err := c.refreshLocked(ctx)
		if err == nil {
			return c.token, nil
		}
		c.logger.Debug("graphistry: token refresh failed; logging in again", zap.Error(err))
	}
	if err := c.loginLocked(ctx); err != nil {
		return "", err
	}
	return c.token, nil
}

// reauthenticate logs in again after the server rejected stale with 401,
// unless another goroutine already replaced that token.
func (c *Client) reauthenticate(ctx context.Context, stale string) (string, error) {
	if err := c.acquire(ctx); err != nil {
		return "", err
	}
	defer c.release()
	if c.token != "" && c.token != stale {
		return c.token, nil
	}
	c.token = ""
	if err := c.loginLocked(ctx); err != nil {
		return "", err
	}
	return c.token, nil
}

// loginResponse is the login answer as pygraphistry's _handle_login_response
// reads it.
type loginResponse struct {
	Token              string `json:"token"`
	ActiveOrganization *struct {
		Slug     string `json:"slug"`
		IsFound  *bool  `json:"is_found"`
		IsMember *bool  `json:"is_member"`
	} `json:"active_organization"`
}

// loginLocked logs in with the configured credentials, checks the answer,
// switches organization when OrgName is set and stores the token. The caller
// holds the authentication lock.
func (c *Client) loginLocked(ctx context.Context) error {
	var (
		resp      *response
		req       request
		orgInBody bool
		err       error
	)
	if c.cfg.PersonalKeyID != "" {
		resp, req, orgInBody, err = c.pkeyLogin(ctx)
	} else {
		resp, req, err = c.passwordLogin(ctx)
		orgInBody = c.cfg.OrgName != ""
	}
	if err != nil {
		return err
	}
	tok, err := c.finalizeLogin(req, resp, orgInBody)
	if err != nil {
		return err
	}
	c.rememberToken(tok)
	if c.cfg.OrgName != "" {
		if err := c.switchOrg(ctx, tok, orgInBody); err != nil {
			return err
		}
	}
	c.setToken(tok)
	method := "password"
	if c.cfg.PersonalKeyID != "" {
		method = "personal_key"
	}
	c.logger.Debug("graphistry: logged in",
		zap.String("method", method),
		zap.String("route", req.path),
		zap.String("org", c.cfg.OrgName),
		zap.Time("token_expiry", c.expiry))
	return nil
}

// passwordLogin posts the username and password (plus org_name when set) to
// the remembered login route, falling back between /api-token-auth/ and
// /api/v2/auth/token/generate on 404.
func (c *Client) passwordLogin(ctx context.Context) (*response, request, error) {
	payload := map[string]string{"username": c.cfg.Username, "password": c.cfg.Password}
	if c.cfg.OrgName != "" {
		payload["org_name"] = c.cfg.OrgName
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, request{}, consumererror.NewPermanent(fmt.Errorf("graphistry: login: encoding request: %w", err))
	}
	paths := []string{c.passwordPath, pathTokenGenerate}
	if c.passwordPath == pathTokenGenerate {
		paths[1] = pathTokenAuth
	}
	var (
		resp *response
		req  request
	)
	for i, p := range paths {
		req = request{op: "login", method: http.MethodPost, path: p, contentType: "application/json", body: body}
		resp, err = c.send(ctx, req)
		if err != nil {
			return nil, req, err
		}
		if resp.status != http.StatusNotFound {
			if c.passwordPath != p {
				c.logger.Debug("graphistry: using password login route", zap.String("route", p))
				c.passwordPath = p
			}
			break
		}
		if i == 0 {
			c.logger.Debug("graphistry: password login route not found; trying the other one",
				zap.String("route", p), zap.String("fallback", paths[1]))
		}
	}
	return resp, req, nil
}

// pkeyLogin follows graphistry-js ClientPKey.ts: POST /api/v2/auth/pkey/jwt/
// with "Authorization: PersonalKey <id>:<secret>" and {"org_name"} when set;
// on 405 (older servers) GET without org (pygraphistry pkey_login() also uses
// GET). orgInBody reports whether the org was part of the login request.
func (c *Client) pkeyLogin(ctx context.Context) (*response, request, bool, error) {
	hdr := http.Header{}
	hdr.Set("Authorization", "PersonalKey "+c.cfg.PersonalKeyID+":"+c.cfg.PersonalKeySecret)
	if !c.pkeyGET {
		payload := map[string]string{}
		if c.cfg.OrgName != "" {
			payload["org_name"] = c.cfg.OrgName
		}
		body, err := json.Marshal(payload)
		if err != nil {
			return nil, request{}, false, consumererror.NewPermanent(fmt.Errorf("graphistry: login: encoding request: %w", err))
		}
		req := request{op: "login", method: http.MethodPost, path: pathPKeyJWT, contentType: "application/json", body: body, header: hdr}
		resp, err := c.send(ctx, req)
		if err != nil {
			return nil, req, false, err
		}
		if resp.status != http.StatusMethodNotAllowed {
			return resp, req, c.cfg.OrgName != "", nil
		}
		c.pkeyGET = true
		if c.cfg.OrgName != "" {
			c.logger.Warn("graphistry: server does not support organization login with personal keys (POST answered 405); logging in to the personal account and relying on the organization switch",
				zap.String("org", c.cfg.OrgName))
		} else {
			c.logger.Debug("graphistry: personal key POST answered 405; using GET")
		}
	}
	req := request{op: "login", method: http.MethodGet, path: pathPKeyJWT, header: hdr}
	resp, err := c.send(ctx, req)
	return resp, req, false, err
}

// finalizeLogin checks a login answer like pygraphistry's
// _handle_login_response/_finalize_login: HTTP 2xx, a token, and when an org
// was requested an active_organization whose slug matches and whose is_found
// and is_member are true.
func (c *Client) finalizeLogin(req request, resp *response, orgRequested bool) (string, error) {
	if resp.status < 200 || resp.status > 299 {
		he := c.httpError(req, resp)
		switch resp.status {
		case http.StatusNotFound:
			return "", consumererror.NewPermanent(fmt.Errorf("graphistry: login route not found; is the endpoint a Graphistry server? %w", he))
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			return "", consumererror.NewPermanent(&AuthError{HTTP: he})
		default:
			return "", c.statusError(req, resp)
		}
	}
	var lr loginResponse
	if err := json.Unmarshal(resp.body, &lr); err != nil || lr.Token == "" {
		return "", consumererror.NewPermanent(fmt.Errorf("graphistry: login: %s %s: response has no token: %s",
			req.method, req.path, c.redact(serverMessage(resp.body))))
	}
	c.rememberToken(lr.Token)
	if !orgRequested {
		return lr.Token, nil
	}
	org := c.cfg.OrgName
	ao := lr.ActiveOrganization
	switch {
	case ao == nil || ao.Slug == "":
		return "", consumererror.NewPermanent(fmt.Errorf(
			"graphistry: login: not authorized to organization %q, or the server does not support organizations (no active_organization in the login response)", org))
	case ao.IsFound != nil && !*ao.IsFound:
		return "", consumererror.NewPermanent(fmt.Errorf("graphistry: login: organization %q not found", org))
	case ao.Slug != org:
		return "", consumererror.NewPermanent(fmt.Errorf(
			"graphistry: login: server activated organization %q instead of %q (organization not found among yours)", ao.Slug, org))
	case ao.IsFound == nil || ao.IsMember == nil || !*ao.IsMember:
		return "", consumererror.NewPermanent(fmt.Errorf("graphistry: login: not authorized or not a member of organization %q", org))
	}
	return lr.Token, nil
}

// switchOrg calls POST /api/v2/o/{org}/switch/ with form slug=<org> and the
// new token (pygraphistry.py _switch_org_url; pygraphistry 0.45.10 calls it
// after login because the Hub only honours org_name once the switch ran).
// When the login already confirmed the membership (orgVerified), a 404 is
// taken as a server without the switch route: logged, login proceeds.
// Otherwise (personal key GET fallback) the switch is the only way into the
// organization and any failure is an error.
func (c *Client) switchOrg(ctx context.Context, tok string, orgVerified bool) error {
	org := c.cfg.OrgName
	req := request{
		op: "switch organization", method: http.MethodPost,
		path:        fmt.Sprintf(pathOrgSwitchFmt, url.PathEscape(org)),
		contentType: "application/x-www-form-urlencoded",
		body:        []byte(url.Values{"slug": {org}}.Encode()),
		bearer:      tok,
	}
	resp, err := c.send(ctx, req)
	if err != nil {
		return err
	}
	switch {
	case resp.status >= 200 && resp.status <= 299:
		return nil
	case resp.status == http.StatusNotFound && orgVerified:
		c.logger.Warn("graphistry: server has no organization switch route; relying on org_name in requests",
			zap.String("org", org))
		return nil
	case resp.status == http.StatusUnauthorized, resp.status == http.StatusForbidden, resp.status == http.StatusNotFound:
		return consumererror.NewPermanent(fmt.Errorf("graphistry: cannot switch to organization %q: %w", org, c.httpError(req, resp)))
	default:
		return c.statusError(req, resp)
	}
}

// refreshLocked exchanges the current token for a fresher one
// (pygraphistry arrow_uploader.py refresh(): POST /api/v2/auth/token/refresh
// {"token"} -> {"token"}). The caller holds the authentication lock.
func (c *Client) refreshLocked(ctx context.Context) error {
	body, err := json.Marshal(map[string]string{"token": c.token})
	if err != nil {
		return fmt.Errorf("graphistry: refresh: encoding request: %w", err)
	}
	req := request{op: "refresh token", method: http.MethodPost, path: pathTokenRefresh, contentType: "application/json", body: body}
	resp, err := c.send(ctx, req)
	if err != nil {
		return err
	}
	if resp.status < 200 || resp.status > 299 {
		return c.httpError(req, resp)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(resp.body, &out); err != nil || out.Token == "" {
		return errors.New("graphistry: refresh: response has no token")
	}
	c.rememberToken(out.Token)
	c.setToken(out.Token)
	c.logger.Debug("graphistry: token refreshed", zap.Time("token_expiry", c.expiry))
	return nil
}

// setToken stores tok with its expiry (exp claim, else now + 1 h) and the
// time to refresh it: refreshMargin before expiry, or half-way for tokens
// shorter than twice the margin.
func (c *Client) setToken(tok string) {
	now := c.now()
	exp, ok := tokenExpiry(tok)
	if !ok {
		exp = now.Add(defaultTokenLifetime)
	}
	lifetime := exp.Sub(now)
	margin := refreshMargin
	if lifetime < 2*margin {
		margin = lifetime / 2
	}
	c.token = tok
	c.expiry = exp
	c.refreshAt = exp.Add(-margin)
}

// tokenExpiry decodes the JWT payload (without verifying the signature; the
// server does that) and returns its exp claim.
func tokenExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	seg := strings.TrimRight(parts[1], "=")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(seg); err != nil {
			return time.Time{}, false
		}
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil || claims.Exp == "" {
		return time.Time{}, false
	}
	f, err := claims.Exp.Float64()
	if err != nil || f <= 0 {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}
