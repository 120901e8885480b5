// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package graphistrytest provides an in-process fake Graphistry server for
// tests of the graphistry exporter and its REST client.
//
// The fake implements the subset of the Graphistry REST API that the exporter
// uses, following what the public clients send and expect:
//
//   - pygraphistry: graphistry/arrow_uploader.py (login, pkey_login, refresh,
//     create_dataset, post_arrow, post_share_link), graphistry/pygraphistry.py
//     (_switch_org_url, refresh/TokenExpireException), graphistry/privacy.py,
//     graphistry/validate/validate_encodings.py (validate_edge_encodings);
//   - graphistry-js: projects/js-upload-api/src/Client.ts (AUTH_API_ENDPOINT
//     api/v2/auth/token/generate), ClientPKey.ts (POST pkey JWT with a 405 to
//     GET fallback), Dataset.ts (createDataset, datasetURL), Privacy.ts;
//   - Hub docs: hub.graphistry.com/docs/api/1/rest/auth/ (JWT lifetime, refresh),
//     /docs/api/2/rest/sso/ (personal keys), /docs/api/2/rest/upload/ and
//     /docs/api/2/rest/upload/data/ (dataset creation and Arrow uploads).
//
// Besides the endpoints it offers fault injection ([Server.FailNext],
// [Server.Down], [Server.Unavailable]), per-route call counters and a record of
// every request, and it decodes uploaded Arrow IPC files into rows so tests can
// compare uploaded data row by row.
package graphistrytest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"
)

// Route identifies one endpoint of the fake server. Routes are used for fault
// injection ([Server.FailNext]), call counters ([Server.Calls]) and the request
// record ([Request.Route]).
type Route string

// Routes served by the fake. The constant values are the HTTP method and path
// pattern, for readable test failures.
const (
	// RouteTokenAuth is pygraphistry's password login, POST /api-token-auth/.
	RouteTokenAuth Route = "POST /api-token-auth/"
	// RouteTokenGenerate is graphistry-js' password login,
	// POST /api/v2/auth/token/generate.
	RouteTokenGenerate Route = "POST /api/v2/auth/token/generate"
	// RoutePKeyPost is the personal-key login with an optional org,
	// POST /api/v2/auth/pkey/jwt/.
	RoutePKeyPost Route = "POST /api/v2/auth/pkey/jwt/"
	// RoutePKeyGet is the personal-key login of older servers,
	// GET /api/v2/auth/pkey/jwt/.
	RoutePKeyGet Route = "GET /api/v2/auth/pkey/jwt/"
	// RouteTokenRefresh exchanges a valid JWT for a fresher one,
	// POST /api/v2/auth/token/refresh.
	RouteTokenRefresh Route = "POST /api/v2/auth/token/refresh"
	// RouteOrgSwitch switches the active organization,
	// POST /api/v2/o/{org}/switch/.
	RouteOrgSwitch Route = "POST /api/v2/o/{org}/switch/"
	// RouteCreateDataset creates a dataset, POST /api/v2/upload/datasets/.
	RouteCreateDataset Route = "POST /api/v2/upload/datasets/"
	// RouteEdgesArrow uploads the edges table,
	// POST /api/v2/upload/datasets/{dataset_id}/edges/arrow.
	RouteEdgesArrow Route = "POST /api/v2/upload/datasets/{dataset_id}/edges/arrow"
	// RouteNodesArrow uploads the nodes table,
	// POST /api/v2/upload/datasets/{dataset_id}/nodes/arrow.
	RouteNodesArrow Route = "POST /api/v2/upload/datasets/{dataset_id}/nodes/arrow"
	// RouteShareLink sets the sharing mode of a dataset,
	// POST /api/v2/share/link/.
	RouteShareLink Route = "POST /api/v2/share/link/"
	// RouteUnknown is recorded for requests that match no route (answered 404).
	RouteUnknown Route = "unknown"
)

// Credentials used when [Options] configures no users and no personal keys.
const (
	TestUsername      = "otel-test-user"
	TestPassword      = "correct-horse-battery-staple"
	TestPKeyID        = "PKEYID123"
	TestPKeySecret    = "pkey-secret-s3cr3t-value"
	TestOrg           = "llt-org"
	TestOtherOrg      = "someone-elses-org"
	TestOtherUsername = "otel-other-user"
)

// MaxBodyBytes bounds the request bodies the fake reads (413 above it).
const MaxBodyBytes = 64 << 20

// PersonalKey is a personal key known to the fake: its secret and the user it
// authenticates as.
type PersonalKey struct {
	Secret   string
	Username string
}

// Options configures a fake server. The zero value is usable: it defines
// [TestUsername]/[TestPassword], the personal key [TestPKeyID]/[TestPKeySecret]
// for that user, the organization [TestOrg] with that user as a member and
// [TestOtherOrg] without, a 1 h token lifetime and a 24 h refresh window.
type Options struct {
	// Users maps usernames to passwords.
	Users map[string]string
	// PersonalKeys maps personal key IDs to their secret and user.
	PersonalKeys map[string]PersonalKey
	// Orgs maps organization slugs to the usernames of their members.
	Orgs map[string][]string

	// TokenLifetime is the JWT lifetime (exp - iat). Default 1 h (Hub docs
	// /docs/api/1/rest/auth/).
	TokenLifetime time.Duration
	// RefreshWindow is how long after the original login a valid token may
	// still be refreshed. Default 24 h (Hub docs /docs/api/1/rest/auth/).
	RefreshWindow time.Duration
	// OmitExp issues tokens without an exp claim in the payload (the server
	// still enforces TokenLifetime).
	OmitExp bool
	// Now is the server's clock. Default time.Now.
	Now func() time.Time

	// TokenAuthMissing answers 404 on /api-token-auth/ (servers that only have
	// the graphistry-js route).
	TokenAuthMissing bool
	// TokenGenerateMissing answers 404 on /api/v2/auth/token/generate.
	TokenGenerateMissing bool
	// PKeyPostNotAllowed answers 405 to POST /api/v2/auth/pkey/jwt/ like older
	// servers that only know the GET, personal-account form.
	PKeyPostNotAllowed bool
	// OrgSwitchMissing answers 404 on /api/v2/o/{org}/switch/.
	OrgSwitchMissing bool
	// SharingMissing answers 404 on /api/v2/share/link/ (no sharing support).
	SharingMissing bool
	// SharingForbidden answers 403 on /api/v2/share/link/ (account without
	// sharing entitlement).
	SharingForbidden bool

	// TLS serves HTTPS with a self-signed certificate for 127.0.0.1 (see
	// [Server.CACertPEM]), like a self-hosted server behind a private CA.
	TLS bool
}

// Request is the record of one request received by the fake.
type Request struct {
	Route  Route
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// Share is a sharing setting posted to /api/v2/share/link/.
type Share struct {
	ObjPK        string   `json:"obj_pk"`
	ObjType      string   `json:"obj_type"`
	Mode         string   `json:"mode"`
	Notify       bool     `json:"notify"`
	InvitedUsers []string `json:"invited_users"`
	ModeAction   string   `json:"mode_action"`
	Message      string   `json:"message"`
}

// Dataset is a dataset stored by the fake.
type Dataset struct {
	ID string
	// Owner is the username that created the dataset.
	Owner string
	// OrgName is the org_name field of the create request ("" if absent).
	OrgName string
	// ActiveOrg is the user's active organization (after an org switch) when
	// the dataset was created ("" for the personal account).
	ActiveOrg     string
	Name          string
	Description   string
	NodeEncodings map[string]any
	EdgeEncodings map[string]any
	Metadata      map[string]any
	// Request is the whole decoded JSON body of the create request.
	Request map[string]any
	// Nodes and Edges are the decoded uploads (nil until uploaded).
	Nodes *Table
	Edges *Table
	// Share is the last sharing setting (nil if never shared).
	Share *Share
}

// Complete reports whether both the nodes and the edges tables arrived.
func (d *Dataset) Complete() bool { return d != nil && d.Nodes != nil && d.Edges != nil }

type fault struct {
	status    int
	remaining int
	header    http.Header
	body      string
}

// Server is a fake Graphistry server. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the server, e.g. http://127.0.0.1:12345.
	URL string

	srv  *httptest.Server
	mux  *http.ServeMux
	opts Options
	key  []byte

	mu          sync.Mutex
	generation  int
	calls       map[Route]int
	requests    []Request
	faults      map[Route][]*fault
	down        bool
	unavailable bool
	activeOrg   map[string]string // username -> org slug
	datasets    map[string]*Dataset
	order       []string
	issued      []string
}

// NewServer starts a fake Graphistry server. Call Close when done, or use
// [NewTestServer] which registers the cleanup.
func NewServer(opts Options) *Server {
	if opts.Users == nil && opts.PersonalKeys == nil {
		opts.Users = map[string]string{TestUsername: TestPassword, TestOtherUsername: TestPassword + "-other"}
		opts.PersonalKeys = map[string]PersonalKey{TestPKeyID: {Secret: TestPKeySecret, Username: TestUsername}}
		if opts.Orgs == nil {
			opts.Orgs = map[string][]string{TestOrg: {TestUsername}, TestOtherOrg: {TestOtherUsername}}
		}
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.RefreshWindow <= 0 {
		opts.RefreshWindow = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s := &Server{
		opts:      opts,
		key:       key,
		calls:     map[Route]int{},
		faults:    map[Route][]*fault{},
		activeOrg: map[string]string{},
		datasets:  map[string]*Dataset{},
	}
	s.mux = http.NewServeMux()
	s.routes()
	if opts.TLS {
		s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
		// Handshakes that a test makes fail on purpose are not worth a log line.
		s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		s.srv.StartTLS()
	} else {
		s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	}
	s.URL = s.srv.URL
	return s
}

// NewTestServer starts a fake server and closes it when the test ends.
func NewTestServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := NewServer(opts)
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the server down.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Client returns an *http.Client configured for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// CACertPEM returns, PEM encoded, the certificate a client must trust to reach
// a server started with [Options.TLS] (self-signed, so it is its own CA); nil
// without TLS.
func (s *Server) CACertPEM() []byte {
	if s.srv.Certificate() == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// FailNext makes the next n requests to route fail with status and the given
// extra response headers (e.g. Retry-After), before any other processing. The
// body is a JSON object {"success": false, "message": "..."}. Faults queue up
// per route in the order they were added.
func (s *Server) FailNext(route Route, status, n int, header http.Header) {
	body, _ := json.Marshal(map[string]any{
		"success": false,
		"message": fmt.Sprintf("graphistrytest: injected HTTP %d", status),
	})
	s.FailNextWithBody(route, status, n, header, string(body))
}

// FailNextWithBody is [Server.FailNext] with an explicit response body. A body
// starting with '{' is sent as application/json, any other as text/plain.
func (s *Server) FailNextWithBody(route Route, status, n int, header http.Header, body string) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[route] = append(s.faults[route], &fault{status: status, remaining: n, header: header.Clone(), body: body})
}

// Down makes the server drop every connection without answering (true) or
// serve normally again (false).
func (s *Server) Down(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
	if down {
		s.srv.CloseClientConnections()
	}
}

// Unavailable makes the server answer 503 to every request (true) or serve
// normally again (false).
func (s *Server) Unavailable(unavailable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unavailable = unavailable
}

// InvalidateTokens makes every token issued so far invalid (401 on use, refresh
// refused), as after a server-side key rotation.
func (s *Server) InvalidateTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.generation++
}

// Calls returns how many requests were received for route, including those
// answered by injected faults.
func (s *Server) Calls(route Route) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// Requests returns a copy of the record of all requests, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	copy(out, s.requests)
	return out
}

// RequestsFor returns the recorded requests for route, in arrival order.
func (s *Server) RequestsFor(route Route) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Route == route {
			out = append(out, r)
		}
	}
	return out
}

// IssuedTokens returns every JWT the server handed out, in order.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// ActiveOrg returns the active organization of username set by the org switch
// ("" when the user never switched).
func (s *Server) ActiveOrg(username string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.activeOrg[username]
}

// Dataset returns a copy of the stored dataset id. The maps and tables are
// shared with the server and must be treated as read-only.
func (s *Server) Dataset(id string) (Dataset, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.datasets[id]
	if !ok {
		return Dataset{}, false
	}
	return *d, true
}

// Datasets returns copies of all stored datasets in creation order (see
// [Server.Dataset] about sharing).
func (s *Server) Datasets() []Dataset {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Dataset, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.datasets[id])
	}
	return out
}

// CompleteDatasets returns the datasets whose nodes and edges both arrived.
func (s *Server) CompleteDatasets() []Dataset {
	var out []Dataset
	for _, d := range s.Datasets() {
		if d.Complete() {
			out = append(out, d)
		}
	}
	return out
}

// serve records the request, applies Down/Unavailable/injected faults and then
// dispatches to the route handlers.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	_ = r.Body.Close()
	route := s.routeOf(r)

	s.mu.Lock()
	s.calls[route]++
	s.requests = append(s.requests, Request{
		Route:  route,
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.RawQuery,
		Header: r.Header.Clone(),
		Body:   body,
	})
	down, unavailable := s.down, s.unavailable
	var f *fault
	if q := s.faults[route]; len(q) > 0 {
		f = q[0]
		f.remaining--
		if f.remaining <= 0 {
			s.faults[route] = q[1:]
		}
	}
	s.mu.Unlock()

	switch {
	case down:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"success": false, "message": "server down"})
		return
	case unavailable:
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"success": false, "message": "Service Unavailable"})
		return
	case f != nil:
		for k, vs := range f.header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		if len(f.body) > 0 && f.body[0] == '{' {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.body)
		return
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "could not read body"})
		return
	case len(body) > MaxBodyBytes:
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"success": false, "message": "body too large"})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mux.ServeHTTP(w, r)
}

// patterns maps the ServeMux patterns ({$} anchors the trailing slash, which
// matters on Graphistry: "Take note of the use of trailing slashes", Hub docs
// /docs/api/2/rest/upload/) to routes.
var patterns = map[string]Route{
	"POST /api-token-auth/{$}":                              RouteTokenAuth,
	"POST /api/v2/auth/token/generate":                      RouteTokenGenerate,
	"POST /api/v2/auth/pkey/jwt/{$}":                        RoutePKeyPost,
	"GET /api/v2/auth/pkey/jwt/{$}":                         RoutePKeyGet,
	"POST /api/v2/auth/token/refresh":                       RouteTokenRefresh,
	"POST /api/v2/o/{org}/switch/{$}":                       RouteOrgSwitch,
	"POST /api/v2/upload/datasets/{$}":                      RouteCreateDataset,
	"POST /api/v2/upload/datasets/{dataset_id}/edges/arrow": RouteEdgesArrow,
	"POST /api/v2/upload/datasets/{dataset_id}/nodes/arrow": RouteNodesArrow,
	"POST /api/v2/share/link/{$}":                           RouteShareLink,
}

func (s *Server) routeOf(r *http.Request) Route {
	_, pattern := s.mux.Handler(r)
	if route, ok := patterns[pattern]; ok {
		return route
	}
	return RouteUnknown
}

func (s *Server) routes() {
	handlers := map[Route]http.HandlerFunc{
		RouteTokenAuth:     s.handleTokenAuth,
		RouteTokenGenerate: s.handleTokenGenerate,
		RoutePKeyPost:      s.handlePKeyPost,
		RoutePKeyGet:       s.handlePKeyGet,
		RouteTokenRefresh:  s.handleRefresh,
		RouteOrgSwitch:     s.handleOrgSwitch,
		RouteCreateDataset: s.handleCreateDataset,
		RouteEdgesArrow:    s.handleArrow("edges"),
		RouteNodesArrow:    s.handleArrow("nodes"),
		RouteShareLink:     s.handleShare,
	}
	keys := make([]string, 0, len(patterns))
	for p := range patterns {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		s.mux.HandleFunc(p, handlers[patterns[p]])
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not found."})
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
