// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graphistrytest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, s *Server, method, path string, header http.Header, body []byte) reply {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := reply{status: resp.StatusCode, header: resp.Header}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func login(t *testing.T, s *Server) string {
	t.Helper()
	r := call(t, s, http.MethodPost, "/api-token-auth/", nil,
		jsonBody(t, map[string]string{"username": TestUsername, "password": TestPassword}))
	require.Equal(t, http.StatusOK, r.status, r.body)
	tok, _ := r.body["token"].(string)
	require.NotEmpty(t, tok)
	return tok
}

func edgesArrow(t *testing.T) []byte {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "d", Type: arrow.BinaryTypes.String},
		{Name: "w", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"b", "c"}, nil)
	b.Field(2).(*array.Int32Builder).AppendValues([]int32{7, 0}, []bool{true, false})
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	require.NoError(t, err)
	// Two record batches: rows of both must come back in order.
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestJWTShape(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	s := NewTestServer(t, Options{Now: clk.Now, TokenLifetime: 10 * time.Minute})
	tok := login(t, s)
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	assert.JSONEq(t, `{"alg":"HS256","typ":"JWT"}`, string(hdr))
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(payload, &c))
	assert.EqualValues(t, 1_800_000_600, c["exp"])
	assert.EqualValues(t, 1_800_000_000, c["orig_iat"])
	assert.Equal(t, TestUsername, c["username"])

	s2 := NewTestServer(t, Options{OmitExp: true})
	payload, err = base64.RawURLEncoding.DecodeString(strings.Split(login(t, s2), ".")[1])
	require.NoError(t, err)
	assert.NotContains(t, string(payload), `"exp"`)
}

func TestPasswordLogin(t *testing.T) {
	s := NewTestServer(t, Options{})
	for _, path := range []string{"/api-token-auth/", "/api/v2/auth/token/generate"} {
		r := call(t, s, http.MethodPost, path, nil, jsonBody(t, map[string]string{"username": TestUsername, "password": TestPassword}))
		require.Equal(t, http.StatusOK, r.status)
		assert.NotEmpty(t, r.body["token"])
		assert.Equal(t, map[string]any{"slug": TestUsername, "is_found": true, "is_member": true}, r.body["active_organization"])

		r = call(t, s, http.MethodPost, path, nil, jsonBody(t, map[string]string{"username": TestUsername, "password": "nope"}))
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, []any{"Unable to log in with provided credentials."}, r.body["non_field_errors"])

		r = call(t, s, http.MethodPost, path, nil, []byte(`{}`))
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, []any{"This field is required."}, r.body["username"])
	}
	assert.Equal(t, 3, s.Calls(RouteTokenAuth))
	assert.Equal(t, 3, s.Calls(RouteTokenGenerate))

	s2 := NewTestServer(t, Options{TokenAuthMissing: true, TokenGenerateMissing: true})
	r := call(t, s2, http.MethodPost, "/api-token-auth/", nil, jsonBody(t, map[string]string{"username": TestUsername, "password": TestPassword}))
	assert.Equal(t, http.StatusNotFound, r.status)
	r = call(t, s2, http.MethodPost, "/api/v2/auth/token/generate", nil, jsonBody(t, map[string]string{"username": TestUsername, "password": TestPassword}))
	assert.Equal(t, http.StatusNotFound, r.status)
}

func TestLoginOrganizations(t *testing.T) {
	s := NewTestServer(t, Options{})
	tests := map[string]map[string]any{
		TestOrg:      {"slug": TestOrg, "is_found": true, "is_member": true},
		TestOtherOrg: {"slug": TestOtherOrg, "is_found": true, "is_member": false},
		"missing":    {"slug": TestUsername, "is_found": false, "is_member": false},
	}
	for org, want := range tests {
		r := call(t, s, http.MethodPost, "/api-token-auth/", nil,
			jsonBody(t, map[string]string{"username": TestUsername, "password": TestPassword, "org_name": org}))
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, want, r.body["active_organization"], org)
	}
}

func TestPersonalKeyLogin(t *testing.T) {
	pk := http.Header{"Authorization": {"PersonalKey " + TestPKeyID + ":" + TestPKeySecret}}
	s := NewTestServer(t, Options{})
	r := call(t, s, http.MethodPost, "/api/v2/auth/pkey/jwt/", pk, jsonBody(t, map[string]string{"org_name": TestOrg}))
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, TestOrg, r.body["active_organization"].(map[string]any)["slug"])
	r = call(t, s, http.MethodPost, "/api/v2/auth/pkey/jwt/", pk, nil)
	require.Equal(t, http.StatusOK, r.status)
	r = call(t, s, http.MethodGet, "/api/v2/auth/pkey/jwt/", pk, nil)
	require.Equal(t, http.StatusOK, r.status)
	r = call(t, s, http.MethodPost, "/api/v2/auth/pkey/jwt/", http.Header{"Authorization": {"PersonalKey " + TestPKeyID + ":wrong"}}, nil)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	r = call(t, s, http.MethodGet, "/api/v2/auth/pkey/jwt/", nil, nil)
	assert.Equal(t, http.StatusUnauthorized, r.status)

	old := NewTestServer(t, Options{PKeyPostNotAllowed: true})
	r = call(t, old, http.MethodPost, "/api/v2/auth/pkey/jwt/", pk, jsonBody(t, map[string]string{"org_name": TestOrg}))
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
	r = call(t, old, http.MethodGet, "/api/v2/auth/pkey/jwt/", pk, jsonBody(t, map[string]string{"org_name": TestOrg}))
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, TestUsername, r.body["active_organization"].(map[string]any)["slug"], "GET ignores org_name")
	assert.Equal(t, 1, old.Calls(RoutePKeyPost))
	assert.Equal(t, 1, old.Calls(RoutePKeyGet))
}

func TestTokenExpiryAndRefresh(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	s := NewTestServer(t, Options{Now: clk.Now, TokenLifetime: time.Hour, RefreshWindow: 3 * time.Hour})
	tok := login(t, s)
	create := jsonBody(t, map[string]any{"edge_encodings": map[string]any{"bindings": map[string]any{"source": "s", "destination": "d"}}})

	r := call(t, s, http.MethodPost, "/api/v2/upload/datasets/", bearer(tok), create)
	require.Equal(t, http.StatusOK, r.status, r.body)

	r = call(t, s, http.MethodPost, "/api/v2/upload/datasets/", nil, create)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "Authentication credentials were not provided.", r.body["detail"])
	r = call(t, s, http.MethodPost, "/api/v2/upload/datasets/", bearer(tok+"x"), create)
	assert.Equal(t, http.StatusUnauthorized, r.status)

	// Refresh a valid token.
	clk.Advance(50 * time.Minute)
	r = call(t, s, http.MethodPost, "/api/v2/auth/token/refresh", nil, jsonBody(t, map[string]string{"token": tok}))
	require.Equal(t, http.StatusOK, r.status)
	fresh := r.body["token"].(string)
	assert.NotEqual(t, tok, fresh)

	// The old token expires at +60 min, the fresh one at +110 min.
	clk.Advance(15 * time.Minute)
	r = call(t, s, http.MethodPost, "/api/v2/upload/datasets/", bearer(tok), create)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "Token has expired.", r.body["detail"])
	r = call(t, s, http.MethodPost, "/api/v2/auth/token/refresh", nil, jsonBody(t, map[string]string{"token": tok}))
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, []any{"Token has expired."}, r.body["non_field_errors"])
	r = call(t, s, http.MethodPost, "/api/v2/upload/datasets/", bearer(fresh), create)
	assert.Equal(t, http.StatusOK, r.status)

	// Refreshing stops RefreshWindow after the original login.
	for i := 0; i < 3; i++ {
		clk.Advance(40 * time.Minute)
		r = call(t, s, http.MethodPost, "/api/v2/auth/token/refresh", nil, jsonBody(t, map[string]string{"token": fresh}))
		if r.status != http.StatusOK {
			break
		}
		fresh = r.body["token"].(string)
	}
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, []any{"Refresh has expired."}, r.body["non_field_errors"])

	// Invalidation.
	tok = login(t, s)
	s.InvalidateTokens()
	r = call(t, s, http.MethodPost, "/api/v2/upload/datasets/", bearer(tok), create)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "Invalid token.", r.body["detail"])
}

func TestOrgSwitch(t *testing.T) {
	s := NewTestServer(t, Options{})
	tok := login(t, s)
	form := func(slug string) http.Header {
		h := bearer(tok)
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		return h
	}
	body := func(slug string) []byte { return []byte(url.Values{"slug": {slug}}.Encode()) }

	r := call(t, s, http.MethodPost, "/api/v2/o/"+TestOrg+"/switch/", form(TestOrg), body("other"))
	assert.Equal(t, http.StatusBadRequest, r.status)
	r = call(t, s, http.MethodPost, "/api/v2/o/"+TestOtherOrg+"/switch/", form(TestOtherOrg), body(TestOtherOrg))
	assert.Equal(t, http.StatusForbidden, r.status)
	r = call(t, s, http.MethodPost, "/api/v2/o/nope/switch/", form("nope"), body("nope"))
	assert.Equal(t, http.StatusNotFound, r.status)
	r = call(t, s, http.MethodPost, "/api/v2/o/"+TestOrg+"/switch/", nil, body(TestOrg))
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Empty(t, s.ActiveOrg(TestUsername))
	r = call(t, s, http.MethodPost, "/api/v2/o/"+TestOrg+"/switch/", form(TestOrg), body(TestOrg))
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "OK", r.body["status"])
	assert.Equal(t, TestOrg, s.ActiveOrg(TestUsername))
	assert.Equal(t, 5, s.Calls(RouteOrgSwitch))

	s2 := NewTestServer(t, Options{OrgSwitchMissing: true})
	tok = login(t, s2)
	r = call(t, s2, http.MethodPost, "/api/v2/o/"+TestOrg+"/switch/", bearer(tok), body(TestOrg))
	assert.Equal(t, http.StatusNotFound, r.status)
}

func TestDatasetLifecycle(t *testing.T) {
	s := NewTestServer(t, Options{})
	tok := login(t, s)
	enc := map[string]any{"bindings": map[string]any{"source": "s", "destination": "d"}}

	// Encodings validation (pygraphistry validate_edge_encodings).
	for _, bad := range []map[string]any{
		{},
		{"edge_encodings": map[string]any{}},
		{"edge_encodings": map[string]any{"bindings": map[string]any{"source": "s"}}},
		{"edge_encodings": map[string]any{"bindings": "s->d"}},
		{"edge_encodings": enc, "node_encodings": "x"},
		{"edge_encodings": enc, "node_encodings": map[string]any{}},
	} {
		r := call(t, s, http.MethodPost, "/api/v2/upload/datasets/", bearer(tok), jsonBody(t, bad))
		assert.Equal(t, http.StatusBadRequest, r.status, bad)
		assert.Equal(t, false, r.body["success"])
		assert.NotEmpty(t, r.body["message"])
	}
	r := call(t, s, http.MethodPost, "/api/v2/upload/datasets/", bearer(tok), jsonBody(t, map[string]any{"edge_encodings": enc, "org_name": TestOtherOrg}))
	assert.Equal(t, http.StatusForbidden, r.status)

	r = call(t, s, http.MethodPost, "/api/v2/upload/datasets/", bearer(tok), jsonBody(t, map[string]any{
		"node_encodings": map[string]any{"bindings": map[string]any{"node": "n"}},
		"edge_encodings": enc,
		"metadata":       map[string]any{"agent": "test"},
		"name":           "ds",
		"description":    "desc",
		"org_name":       TestOrg,
	}))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, true, r.body["success"])
	id := r.body["data"].(map[string]any)["dataset_id"].(string)
	require.NotEmpty(t, id)

	d, ok := s.Dataset(id)
	require.True(t, ok)
	assert.Equal(t, "ds", d.Name)
	assert.Equal(t, "desc", d.Description)
	assert.Equal(t, TestOrg, d.OrgName)
	assert.Equal(t, map[string]any{"agent": "test"}, d.Metadata)
	assert.False(t, d.Complete())

	// Arrow uploads.
	edges := edgesArrow(t)
	octet := bearer(tok)
	octet.Set("Content-Type", "application/octet-stream")
	r = call(t, s, http.MethodPost, "/api/v2/upload/datasets/nope/edges/arrow", octet, edges)
	assert.Equal(t, http.StatusNotFound, r.status)
	r = call(t, s, http.MethodPost, "/api/v2/upload/datasets/"+id+"/edges/arrow", octet, []byte("not arrow"))
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body["message"], "Could not parse edges")
	r = call(t, s, http.MethodPost, "/api/v2/upload/datasets/"+id+"/edges/arrow", nil, edges)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	r = call(t, s, http.MethodPost, "/api/v2/upload/datasets/"+id+"/edges/arrow", octet, edges)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, true, r.body["success"])
	assert.EqualValues(t, 4, r.body["data"].(map[string]any)["num_rows"])
	// The nodes table must contain the bound "n" column.
	r = call(t, s, http.MethodPost, "/api/v2/upload/datasets/"+id+"/nodes/arrow", octet, edges)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body["message"], "node=n")

	d, _ = s.Dataset(id)
	require.NotNil(t, d.Edges)
	assert.Equal(t, []Column{{"s", "utf8", false}, {"d", "utf8", false}, {"w", "int32", true}}, d.Edges.Columns)
	assert.Equal(t, []map[string]any{
		{"s": "a", "d": "b", "w": int32(7)},
		{"s": "b", "d": "c", "w": nil},
		{"s": "a", "d": "b", "w": int32(7)},
		{"s": "b", "d": "c", "w": nil},
	}, d.Edges.Rows)
	assert.Equal(t, "application/octet-stream", d.Edges.ContentType)
	assert.False(t, d.Complete())
	assert.Empty(t, s.CompleteDatasets())

	// Another user cannot touch the dataset.
	r = call(t, s, http.MethodPost, "/api-token-auth/", nil, jsonBody(t, map[string]string{"username": TestOtherUsername, "password": TestPassword + "-other"}))
	require.Equal(t, http.StatusOK, r.status)
	other := r.body["token"].(string)
	r = call(t, s, http.MethodPost, "/api/v2/upload/datasets/"+id+"/nodes/arrow", bearer(other), edges)
	assert.Equal(t, http.StatusNotFound, r.status)

	// Sharing.
	share := map[string]any{"obj_pk": id, "obj_type": "dataset", "mode": "organization", "notify": false,
		"invited_users": []string{}, "mode_action": "10", "message": ""}
	r = call(t, s, http.MethodPost, "/api/v2/share/link/", bearer(other), jsonBody(t, share))
	assert.Equal(t, http.StatusNotFound, r.status)
	bad := map[string]any{"obj_pk": id, "obj_type": "dataset", "mode": "world", "mode_action": "10"}
	r = call(t, s, http.MethodPost, "/api/v2/share/link/", bearer(tok), jsonBody(t, bad))
	assert.Equal(t, http.StatusBadRequest, r.status)
	r = call(t, s, http.MethodPost, "/api/v2/share/link/", bearer(tok), jsonBody(t, share))
	require.Equal(t, http.StatusOK, r.status, r.body)
	d, _ = s.Dataset(id)
	require.NotNil(t, d.Share)
	assert.Equal(t, Share{ObjPK: id, ObjType: "dataset", Mode: "organization", InvitedUsers: []string{}, ModeAction: "10"}, *d.Share)

	for _, opts := range []Options{{SharingMissing: true}, {SharingForbidden: true}} {
		s2 := NewTestServer(t, opts)
		r = call(t, s2, http.MethodPost, "/api/v2/share/link/", bearer(login(t, s2)), jsonBody(t, share))
		assert.Contains(t, []int{http.StatusNotFound, http.StatusForbidden}, r.status)
	}
}

func TestCompleteDataset(t *testing.T) {
	s := NewTestServer(t, Options{})
	tok := login(t, s)
	r := call(t, s, http.MethodPost, "/api/v2/upload/datasets/", bearer(tok), jsonBody(t, map[string]any{
		"edge_encodings": map[string]any{"bindings": map[string]any{"source": "s", "destination": "d"}},
		"node_encodings": map[string]any{"bindings": map[string]any{"node": "s"}},
	}))
	require.Equal(t, http.StatusOK, r.status)
	id := r.body["data"].(map[string]any)["dataset_id"].(string)
	for _, kind := range []string{"edges", "nodes"} {
		r = call(t, s, http.MethodPost, "/api/v2/upload/datasets/"+id+"/"+kind+"/arrow", bearer(tok), edgesArrow(t))
		require.Equal(t, http.StatusOK, r.status, r.body)
	}
	require.Len(t, s.CompleteDatasets(), 1)
	assert.Equal(t, id, s.CompleteDatasets()[0].ID)
	assert.Len(t, s.Datasets(), 1)
}

func TestFaultInjectionAndRecords(t *testing.T) {
	s := NewTestServer(t, Options{})
	creds := jsonBody(t, map[string]string{"username": TestUsername, "password": TestPassword})

	s.FailNext(RouteTokenAuth, http.StatusInternalServerError, 2, nil)
	s.FailNext(RouteTokenAuth, http.StatusTooManyRequests, 1, http.Header{"Retry-After": {"1"}})
	s.FailNextWithBody(RouteTokenAuth, http.StatusBadGateway, 1, nil, "upstream sad")
	want := []int{500, 500, 429, 502, 200}
	for i, status := range want {
		r := call(t, s, http.MethodPost, "/api-token-auth/", http.Header{"X-Test": {string(rune('a' + i))}}, creds)
		assert.Equal(t, status, r.status, i)
		if status == 429 {
			assert.Equal(t, "1", r.header.Get("Retry-After"))
		}
		if status == 500 {
			assert.Equal(t, "graphistrytest: injected HTTP 500", r.body["message"])
		}
	}
	assert.Equal(t, 5, s.Calls(RouteTokenAuth))
	reqs := s.RequestsFor(RouteTokenAuth)
	require.Len(t, reqs, 5)
	assert.Equal(t, "c", reqs[2].Header.Get("X-Test"))
	assert.Equal(t, creds, reqs[4].Body)
	assert.Equal(t, "/api-token-auth/", reqs[4].Path)

	s.Unavailable(true)
	r := call(t, s, http.MethodPost, "/api-token-auth/", nil, creds)
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	s.Unavailable(false)

	s.Down(true)
	_, err := s.Client().Post(s.URL+"/api-token-auth/", "application/json", bytes.NewReader(creds))
	require.Error(t, err)
	s.Down(false)
	r = call(t, s, http.MethodPost, "/api-token-auth/", nil, creds)
	assert.Equal(t, http.StatusOK, r.status)

	r = call(t, s, http.MethodGet, "/no/such/route", nil, nil)
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, 1, s.Calls(RouteUnknown))
	// The request sent while down may fail before reaching the handler.
	assert.GreaterOrEqual(t, len(s.Requests()), 8)
}

func TestDecodeArrowFileErrors(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("ARROW1"), []byte("ARROW1\x00\x00garbagegarbage"), edgesArrow(t)[:40]} {
		_, err := DecodeArrowFile(b)
		assert.Error(t, err)
	}
	tbl, err := DecodeArrowFile(edgesArrow(t))
	require.NoError(t, err)
	assert.Equal(t, []string{"s", "d", "w"}, tbl.ColumnNames())
	assert.Nil(t, (*Table)(nil).ColumnNames())
}
