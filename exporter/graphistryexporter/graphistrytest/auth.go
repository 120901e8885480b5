// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graphistrytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// claims is the JWT payload the fake issues. Field names follow
// djangorestframework-jwt, which the Graphistry server's /api-token-auth/ and
// refresh endpoints are modelled on (Hub docs /docs/api/1/rest/auth/).
type claims struct {
	UserID   int    `json:"user_id"`
	Username string `json:"username"`
	Email    string `json:"email"`
	Exp      int64  `json:"exp,omitempty"`
	OrigIat  int64  `json:"orig_iat"`
	Iat      int64  `json:"iat"`
	Jti      string `json:"jti"`
	Gen      int    `json:"gen"`
	// ServerExp is the expiry the server enforces even when exp is omitted.
	ServerExp int64 `json:"server_exp"`
}

// Messages of the fake's token checks (Django REST framework JWT wording).
const (
	msgBadToken     = "Error decoding signature."
	msgInvalidToken = "Invalid token."
	msgTokenExpired = "Token has expired."
)

// issue creates a JWT for username. origIat is the time of the original login
// (kept across refreshes). The caller must not hold s.mu.
func (s *Server) issue(username string, origIat time.Time) string {
	now := s.opts.Now()
	s.mu.Lock()
	gen := s.generation
	s.mu.Unlock()
	exp := now.Add(s.opts.TokenLifetime).Unix()
	c := claims{
		UserID:    userID(username),
		Username:  username,
		Email:     username + "@example.com",
		OrigIat:   origIat.Unix(),
		Iat:       now.Unix(),
		Jti:       newID(),
		Gen:       gen,
		ServerExp: exp,
	}
	if !s.opts.OmitExp {
		c.Exp = exp
	}
	header := b64(mustJSON(map[string]string{"alg": "HS256", "typ": "JWT"}))
	payload := b64(mustJSON(c))
	tok := header + "." + payload + "." + b64(s.sign(header+"."+payload))
	s.mu.Lock()
	s.issued = append(s.issued, tok)
	s.mu.Unlock()
	return tok
}

func (s *Server) sign(data string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// parse verifies a token's signature, generation and expiry. It returns the
// claims, or the server's message explaining why the token is refused.
func (s *Server) parse(tok string) (claims, string) {
	var c claims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return c, msgBadToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, s.sign(parts[0]+"."+parts[1])) {
		return c, msgBadToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(raw, &c) != nil {
		return c, msgBadToken
	}
	s.mu.Lock()
	gen := s.generation
	s.mu.Unlock()
	if c.Gen != gen {
		return c, msgInvalidToken
	}
	if !s.opts.Now().Before(time.Unix(c.ServerExp, 0)) {
		return c, msgTokenExpired
	}
	return c, ""
}

// authenticate checks "Authorization: Bearer <jwt>" on the upload routes, as
// sent by pygraphistry (arrow_uploader.py create_dataset/post_arrow:
// headers={'Authorization': f'Bearer {tok}'}) and graphistry-js
// (AbstractClient.ts getSecureHeaders). Failures answer 401 like Django REST
// framework: {"detail": "..."}.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (claims, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || scheme != "Bearer" || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"detail": "Authentication credentials were not provided."})
		return claims{}, false
	}
	c, msg := s.parse(tok)
	if msg != "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"detail": msg})
		return claims{}, false
	}
	return c, true
}

// loginResponse builds the login answer checked by pygraphistry's
// _handle_login_response/_finalize_login (arrow_uploader.py): "token", plus
// "active_organization" {"slug","is_found","is_member"} and "user". When an
// org_name is requested but unknown, the personal organization is returned
// with is_found false, as pygraphistry's comment there describes ("org_name
// not found and return default organization (currently is personal org)").
func (s *Server) loginResponse(username, orgName string) map[string]any {
	active := map[string]any{"slug": username, "is_found": true, "is_member": true}
	if orgName != "" {
		members, found := s.opts.Orgs[orgName]
		switch {
		case !found:
			active = map[string]any{"slug": username, "is_found": false, "is_member": false}
		case !contains(members, username):
			active = map[string]any{"slug": orgName, "is_found": true, "is_member": false}
		default:
			active = map[string]any{"slug": orgName, "is_found": true, "is_member": true}
		}
	}
	return map[string]any{
		"token":               s.issue(username, s.opts.Now()),
		"active_organization": active,
		"user":                map[string]any{"username": username, "email": username + "@example.com"},
	}
}

type passwordLogin struct {
	Username string `json:"username"`
	Password string `json:"password"`
	OrgName  string `json:"org_name"`
}

// handleTokenAuth follows pygraphistry arrow_uploader.py login():
// POST /api-token-auth/ JSON {"username","password", ?"org_name"}. Bad
// credentials answer 400 {"non_field_errors": [...]} (Django REST framework
// JWT serializer, Hub docs /docs/api/1/rest/auth/).
func (s *Server) handleTokenAuth(w http.ResponseWriter, r *http.Request) {
	if s.opts.TokenAuthMissing {
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not found."})
		return
	}
	s.passwordLogin(w, r)
}

// handleTokenGenerate follows graphistry-js projects/js-upload-api/src/Client.ts
// getAuthToken(): POST api/v2/auth/token/generate with the same JSON body as
// /api-token-auth/ and a {"token"} answer.
func (s *Server) handleTokenGenerate(w http.ResponseWriter, r *http.Request) {
	if s.opts.TokenGenerateMissing {
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not found."})
		return
	}
	s.passwordLogin(w, r)
}

func (s *Server) passwordLogin(w http.ResponseWriter, r *http.Request) {
	var in passwordLogin
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"detail": "JSON parse error"})
		return
	}
	fieldErrs := map[string]any{}
	if in.Username == "" {
		fieldErrs["username"] = []string{"This field is required."}
	}
	if in.Password == "" {
		fieldErrs["password"] = []string{"This field is required."}
	}
	if len(fieldErrs) > 0 {
		writeJSON(w, http.StatusBadRequest, fieldErrs)
		return
	}
	pw, ok := s.opts.Users[in.Username]
	if !ok || pw != in.Password {
		writeJSON(w, http.StatusBadRequest, map[string]any{"non_field_errors": []string{"Unable to log in with provided credentials."}})
		return
	}
	writeJSON(w, http.StatusOK, s.loginResponse(in.Username, in.OrgName))
}

// pkeyUser checks "Authorization: PersonalKey <id>:<secret>" (pygraphistry
// arrow_uploader.py pkey_login, graphistry-js ClientPKey.ts getPKeyString).
func (s *Server) pkeyUser(w http.ResponseWriter, r *http.Request) (string, bool) {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	id, secret, ok := strings.Cut(cred, ":")
	if scheme != "PersonalKey" || !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"detail": "Authentication credentials were not provided."})
		return "", false
	}
	pk, found := s.opts.PersonalKeys[id]
	if !found || pk.Secret != secret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"detail": "Invalid personal key."})
		return "", false
	}
	return pk.Username, true
}

// handlePKeyPost follows graphistry-js ClientPKey.ts getAuthToken() and the
// Hub SSO/personal key docs (/docs/api/2/rest/sso/): POST
// api/v2/auth/pkey/jwt/ with the PersonalKey header and JSON {?"org_name"}.
// With Options.PKeyPostNotAllowed it answers 405 like the older servers that
// ClientPKey.ts falls back to GET for.
func (s *Server) handlePKeyPost(w http.ResponseWriter, r *http.Request) {
	if s.opts.PKeyPostNotAllowed {
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"detail": `Method "POST" not allowed.`})
		return
	}
	user, ok := s.pkeyUser(w, r)
	if !ok {
		return
	}
	var in struct {
		OrgName string `json:"org_name"`
	}
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		if err := json.Unmarshal(b, &in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"detail": "JSON parse error"})
			return
		}
	}
	writeJSON(w, http.StatusOK, s.loginResponse(user, in.OrgName))
}

// handlePKeyGet follows pygraphistry arrow_uploader.py pkey_login() (GET) and
// the graphistry-js 405 fallback (ClientPKey.ts): personal account only, any
// org_name in a body is ignored like on the older servers.
func (s *Server) handlePKeyGet(w http.ResponseWriter, r *http.Request) {
	user, ok := s.pkeyUser(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.loginResponse(user, ""))
}

// handleRefresh follows pygraphistry arrow_uploader.py refresh(): POST
// /api/v2/auth/token/refresh {"token"} -> {"token"}. An expired token is
// refused with {"non_field_errors": ["Token has expired."]}, the text
// pygraphistry.py refresh() matches to raise TokenExpireException and log in
// again; pygraphistry keys off the body, not the status. Refreshing is allowed
// for RefreshWindow after the original login (Hub docs /docs/api/1/rest/auth/:
// ~1 h tokens, refreshable up to 24 h).
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Token == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"token": []string{"This field is required."}})
		return
	}
	c, msg := s.parse(in.Token)
	if msg != "" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"non_field_errors": []string{msg}})
		return
	}
	orig := time.Unix(c.OrigIat, 0)
	if !s.opts.Now().Before(orig.Add(s.opts.RefreshWindow)) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"non_field_errors": []string{"Refresh has expired."}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": s.issue(c.Username, orig)})
}

// handleOrgSwitch follows pygraphistry's org switch (pygraphistry.py
// _switch_org_url "{protocol}://{hostname}/api/v2/o/{org_name}/switch/", called
// after login since 0.45.10 because the Hub only honours org_name once the
// switch ran): POST, Bearer token, form field slug=<org>.
func (s *Server) handleOrgSwitch(w http.ResponseWriter, r *http.Request) {
	if s.opts.OrgSwitchMissing {
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not found."})
		return
	}
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	org := r.PathValue("org")
	if err := r.ParseForm(); err != nil || r.PostForm.Get("slug") != org {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "ERR", "message": "slug must name the organization in the path"})
		return
	}
	members, found := s.opts.Orgs[org]
	if !found {
		writeJSON(w, http.StatusNotFound, map[string]any{"status": "ERR", "message": "Organization " + org + " not found"})
		return
	}
	if !contains(members, c.Username) {
		writeJSON(w, http.StatusForbidden, map[string]any{"status": "ERR", "message": "You are not a member of " + org})
		return
	}
	s.mu.Lock()
	s.activeOrg[c.Username] = org
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"status": "OK", "message": "Switched organization", "data": map[string]any{"slug": org}})
}

func userID(username string) int {
	h := 0
	for _, c := range username {
		h = h*31 + int(c)
	}
	if h < 0 {
		h = -h
	}
	return h%100000 + 1
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("{}")
	}
	return b
}
