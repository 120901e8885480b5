// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	gt "github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/graphistrytest"
)

func TestPasswordLoginThenUpload(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.AgentVersion = "v1.2.3" })
	ds := testDataset(t)

	res, err := c.Upload(context.Background(), ds)
	require.NoError(t, err)
	require.NotEmpty(t, res.DatasetID)
	assert.Equal(t, srv.URL+"/graph/graph.html?dataset="+res.DatasetID, res.URL)

	// Login: pygraphistry's POST /api-token-auth/ with exactly username/password.
	require.Equal(t, 1, srv.Calls(gt.RouteTokenAuth))
	assert.Equal(t, 0, srv.Calls(gt.RouteTokenGenerate))
	login := srv.RequestsFor(gt.RouteTokenAuth)[0]
	assert.Equal(t, "application/json", login.Header.Get("Content-Type"))
	assert.Empty(t, login.Header.Get("Authorization"))
	assert.Equal(t, map[string]any{"username": gt.TestUsername, "password": gt.TestPassword}, decodeJSON(t, login.Body))

	tokens := srv.IssuedTokens()
	require.Len(t, tokens, 1)
	wantAuth := "Bearer " + tokens[0]
	for _, route := range []gt.Route{gt.RouteCreateDataset, gt.RouteEdgesArrow, gt.RouteNodesArrow, gt.RouteShareLink} {
		reqs := srv.RequestsFor(route)
		require.Len(t, reqs, 1, route)
		assert.Equal(t, []string{wantAuth}, reqs[0].Header.Values("Authorization"), route)
	}
	assert.NotContains(t, res.URL, tokens[0])

	// Dataset JSON shape.
	create := srv.RequestsFor(gt.RouteCreateDataset)[0]
	assert.Equal(t, "application/json", create.Header.Get("Content-Type"))
	assert.Equal(t, map[string]any{
		"name":        ds.Name,
		"description": ds.Description,
		"node_encodings": map[string]any{
			"bindings": map[string]any{"node": "id", "node_title": "kind"},
		},
		"edge_encodings": map[string]any{
			"bindings": map[string]any{"source": "src", "destination": "dst"},
		},
		"metadata": map[string]any{
			"agent":        "otelcol-llt-graphistry",
			"apiversion":   "3",
			"agentversion": "v1.2.3",
			"trace_id":     "4bf92f3577b34da6a3ce929d0e0e4736",
		},
	}, decodeJSON(t, create.Body))

	// Arrow bodies, row by row.
	stored, ok := srv.Dataset(res.DatasetID)
	require.True(t, ok)
	require.True(t, stored.Complete())
	assert.Equal(t, edgesFixture, stored.Edges.Rows)
	assert.Equal(t, nodesFixture, stored.Nodes.Rows)
	assert.Equal(t, []string{"src", "dst", "duration_us", "error"}, stored.Edges.ColumnNames())
	assert.Equal(t, "application/octet-stream", stored.Edges.ContentType)
	assert.Equal(t, "application/octet-stream", stored.Nodes.ContentType)
	assert.Equal(t, ds.Edges, srv.RequestsFor(gt.RouteEdgesArrow)[0].Body)
	assert.Equal(t, ds.Nodes, srv.RequestsFor(gt.RouteNodesArrow)[0].Body)
	assert.Equal(t, gt.TestUsername, stored.Owner)
	assert.Empty(t, stored.OrgName)

	// Sharing with pygraphistry's privacy defaults.
	assert.Equal(t, map[string]any{
		"obj_pk": res.DatasetID, "obj_type": "dataset", "mode": "private", "notify": false,
		"invited_users": []any{}, "mode_action": "20", "message": "",
	}, decodeJSON(t, srv.RequestsFor(gt.RouteShareLink)[0].Body))
	require.NotNil(t, stored.Share)
	assert.Equal(t, "private", stored.Share.Mode)

	// Order of calls.
	var order []gt.Route
	for _, r := range srv.Requests() {
		order = append(order, r.Route)
	}
	assert.Equal(t, []gt.Route{gt.RouteTokenAuth, gt.RouteCreateDataset, gt.RouteEdgesArrow, gt.RouteNodesArrow, gt.RouteShareLink}, order)

	// A second upload reuses the token.
	res2, err := c.Upload(context.Background(), ds)
	require.NoError(t, err)
	assert.NotEqual(t, res.DatasetID, res2.DatasetID)
	assert.Equal(t, 1, srv.Calls(gt.RouteTokenAuth))
	assert.Len(t, srv.CompleteDatasets(), 2)
}

func TestUploadPublicShareAndNoNodes(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, nil)
	ds := testDataset(t)
	ds.Nodes = nil
	ds.NodeEncodings = nil
	ds.Name = ""
	ds.Share = SharePublic

	res, err := c.Upload(context.Background(), ds)
	require.NoError(t, err)
	assert.Equal(t, 0, srv.Calls(gt.RouteNodesArrow))
	body := decodeJSON(t, srv.RequestsFor(gt.RouteCreateDataset)[0].Body)
	assert.Equal(t, map[string]any{"bindings": map[string]any{}}, body["node_encodings"])
	assert.Equal(t, "untitled", body["name"])
	share := decodeJSON(t, srv.RequestsFor(gt.RouteShareLink)[0].Body)
	assert.Equal(t, "public", share["mode"])
	assert.Equal(t, "10", share["mode_action"])
	stored, _ := srv.Dataset(res.DatasetID)
	assert.False(t, stored.Complete())
	assert.Equal(t, edgesFixture, stored.Edges.Rows)

	// Empty share mode: no sharing call.
	ds.Share = ""
	_, err = c.Upload(context.Background(), ds)
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Calls(gt.RouteShareLink))
}

func TestPasswordLoginFallsBackToV2Route(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{TokenAuthMissing: true})
	c := newTestClient(t, srv, nil)
	_, err := c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Calls(gt.RouteTokenAuth))
	assert.Equal(t, 1, srv.Calls(gt.RouteTokenGenerate))
	gen := srv.RequestsFor(gt.RouteTokenGenerate)[0]
	assert.Equal(t, map[string]any{"username": gt.TestUsername, "password": gt.TestPassword}, decodeJSON(t, gen.Body))

	// The working route is remembered for the next login.
	srv.InvalidateTokens()
	_, err = c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Calls(gt.RouteTokenAuth))
	assert.Equal(t, 2, srv.Calls(gt.RouteTokenGenerate))
}

func TestLoginRoutesMissing(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{TokenAuthMissing: true, TokenGenerateMissing: true})
	c := newTestClient(t, srv, nil)
	_, err := c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "login route not found")
	assert.Equal(t, 0, srv.Calls(gt.RouteCreateDataset))
}

func TestWrongPasswordIsPermanentAuthError(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Password = "not-the-password" })
	_, err := c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	var ae *AuthError
	require.ErrorAs(t, err, &ae)
	assert.Contains(t, err.Error(), "graphistry: authentication rejected: Unable to log in with provided credentials.")
	assert.NotContains(t, err.Error(), "not-the-password")
}

func TestPersonalKeyWithOrg(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.Username, cfg.Password = "", ""
		cfg.PersonalKeyID, cfg.PersonalKeySecret = gt.TestPKeyID, gt.TestPKeySecret
		cfg.OrgName = gt.TestOrg
	})
	res, err := c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)

	require.Equal(t, 1, srv.Calls(gt.RoutePKeyPost))
	assert.Equal(t, 0, srv.Calls(gt.RoutePKeyGet))
	assert.Equal(t, 0, srv.Calls(gt.RouteTokenAuth))
	pk := srv.RequestsFor(gt.RoutePKeyPost)[0]
	assert.Equal(t, []string{"PersonalKey " + gt.TestPKeyID + ":" + gt.TestPKeySecret}, pk.Header.Values("Authorization"))
	assert.Equal(t, map[string]any{"org_name": gt.TestOrg}, decodeJSON(t, pk.Body))

	// Org switch after login: form slug=<org>, Bearer token.
	require.Equal(t, 1, srv.Calls(gt.RouteOrgSwitch))
	sw := srv.RequestsFor(gt.RouteOrgSwitch)[0]
	assert.Equal(t, "/api/v2/o/"+gt.TestOrg+"/switch/", sw.Path)
	assert.Equal(t, "application/x-www-form-urlencoded", sw.Header.Get("Content-Type"))
	form, err := url.ParseQuery(string(sw.Body))
	require.NoError(t, err)
	assert.Equal(t, url.Values{"slug": {gt.TestOrg}}, form)
	assert.Equal(t, "Bearer "+srv.IssuedTokens()[0], sw.Header.Get("Authorization"))
	assert.Equal(t, gt.TestOrg, srv.ActiveOrg(gt.TestUsername))

	// Switch happens before the upload; the dataset carries org_name.
	reqs := srv.Requests()
	assert.Equal(t, gt.RoutePKeyPost, reqs[0].Route)
	assert.Equal(t, gt.RouteOrgSwitch, reqs[1].Route)
	assert.Equal(t, gt.RouteCreateDataset, reqs[2].Route)
	stored, _ := srv.Dataset(res.DatasetID)
	assert.Equal(t, gt.TestOrg, stored.OrgName)
	assert.Equal(t, gt.TestOrg, stored.ActiveOrg)
	assert.Equal(t, gt.TestOrg, stored.Request["org_name"])
}

func TestPersonalKey405FallsBackToGET(t *testing.T) {
	for _, org := range []string{"", gt.TestOrg} {
		t.Run("org="+org, func(t *testing.T) {
			srv := gt.NewTestServer(t, gt.Options{PKeyPostNotAllowed: true})
			logs := newLogCapture()
			c := newTestClient(t, srv, func(cfg *Config) {
				cfg.Username, cfg.Password = "", ""
				cfg.PersonalKeyID, cfg.PersonalKeySecret = gt.TestPKeyID, gt.TestPKeySecret
				cfg.OrgName = org
				cfg.Logger = logs.logger
			})
			res, err := c.Upload(context.Background(), testDataset(t))
			require.NoError(t, err)
			assert.Equal(t, 1, srv.Calls(gt.RoutePKeyPost))
			require.Equal(t, 1, srv.Calls(gt.RoutePKeyGet))
			get := srv.RequestsFor(gt.RoutePKeyGet)[0]
			assert.Equal(t, "PersonalKey "+gt.TestPKeyID+":"+gt.TestPKeySecret, get.Header.Get("Authorization"))
			assert.Empty(t, get.Body, "GET fallback carries no org (graphistry-js ClientPKey.ts)")
			stored, _ := srv.Dataset(res.DatasetID)
			if org != "" {
				assert.Equal(t, 1, srv.Calls(gt.RouteOrgSwitch))
				assert.Equal(t, org, stored.ActiveOrg)
				assert.Equal(t, 1, logs.observed.FilterLevelExact(zapcore.WarnLevel).Len())
			} else {
				assert.Equal(t, 0, srv.Calls(gt.RouteOrgSwitch))
			}

			// The fallback is remembered.
			srv.InvalidateTokens()
			_, err = c.Upload(context.Background(), testDataset(t))
			require.NoError(t, err)
			assert.Equal(t, 1, srv.Calls(gt.RoutePKeyPost))
			assert.Equal(t, 2, srv.Calls(gt.RoutePKeyGet))
		})
	}
}

func TestPersonalKey405WithOrgNotMemberFails(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{PKeyPostNotAllowed: true})
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.Username, cfg.Password = "", ""
		cfg.PersonalKeyID, cfg.PersonalKeySecret = gt.TestPKeyID, gt.TestPKeySecret
		cfg.OrgName = gt.TestOtherOrg
	})
	_, err := c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), `cannot switch to organization "`+gt.TestOtherOrg+`"`)
	assert.Equal(t, 0, srv.Calls(gt.RouteCreateDataset))
}

func TestOrgLoginChecks(t *testing.T) {
	tests := []struct {
		org     string
		wantErr string
	}{
		{org: "no-such-org", wantErr: `organization "no-such-org" not found`},
		{org: gt.TestOtherOrg, wantErr: `not a member of organization "` + gt.TestOtherOrg + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.org, func(t *testing.T) {
			srv := gt.NewTestServer(t, gt.Options{})
			c := newTestClient(t, srv, func(cfg *Config) { cfg.OrgName = tt.org })
			_, err := c.Upload(context.Background(), testDataset(t))
			require.Error(t, err)
			assert.True(t, consumererror.IsPermanent(err))
			assert.Contains(t, err.Error(), tt.wantErr)
			login := decodeJSON(t, srv.RequestsFor(gt.RouteTokenAuth)[0].Body)
			assert.Equal(t, tt.org, login["org_name"])
			assert.Equal(t, 0, srv.Calls(gt.RouteOrgSwitch))
			assert.Equal(t, 0, srv.Calls(gt.RouteCreateDataset))
		})
	}
}

func TestPasswordLoginWithOrgSwitches(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.OrgName = gt.TestOrg })
	res, err := c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"username": gt.TestUsername, "password": gt.TestPassword, "org_name": gt.TestOrg},
		decodeJSON(t, srv.RequestsFor(gt.RouteTokenAuth)[0].Body))
	assert.Equal(t, 1, srv.Calls(gt.RouteOrgSwitch))
	stored, _ := srv.Dataset(res.DatasetID)
	assert.Equal(t, gt.TestOrg, stored.OrgName)
}

func TestOrgSwitchRouteMissingIsAWarning(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{OrgSwitchMissing: true})
	logs := newLogCapture()
	c := newTestClient(t, srv, func(cfg *Config) { cfg.OrgName = gt.TestOrg; cfg.Logger = logs.logger })
	_, err := c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Calls(gt.RouteOrgSwitch))
	assert.Equal(t, 1, logs.observed.FilterMessageSnippet("no organization switch route").Len())
}

func TestRefreshBeforeExpiry(t *testing.T) {
	clk := newClock()
	srv := gt.NewTestServer(t, gt.Options{Now: clk.Now, TokenLifetime: time.Hour})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Now = clk.Now })

	_, err := c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)

	// 54 minutes later: 6 minutes left, still used as is.
	clk.Advance(54 * time.Minute)
	_, err = c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, 0, srv.Calls(gt.RouteTokenRefresh))

	// 56 minutes: less than 5 minutes left -> refresh, no new login.
	clk.Advance(2 * time.Minute)
	_, err = c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	require.Equal(t, 1, srv.Calls(gt.RouteTokenRefresh))
	assert.Equal(t, 1, srv.Calls(gt.RouteTokenAuth))
	tokens := srv.IssuedTokens()
	require.Len(t, tokens, 2)
	assert.Equal(t, map[string]any{"token": tokens[0]}, decodeJSON(t, srv.RequestsFor(gt.RouteTokenRefresh)[0].Body))
	creates := srv.RequestsFor(gt.RouteCreateDataset)
	assert.Equal(t, "Bearer "+tokens[1], creates[len(creates)-1].Header.Get("Authorization"))

	// The refreshed token is good for another hour.
	clk.Advance(50 * time.Minute)
	_, err = c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Calls(gt.RouteTokenRefresh))
	assert.Equal(t, 1, srv.Calls(gt.RouteTokenAuth))
}

func TestRefreshRejectedLogsInAgain(t *testing.T) {
	clientClock, serverClock := newClock(), newClock()
	srv := gt.NewTestServer(t, gt.Options{Now: serverClock.Now})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Now = clientClock.Now })
	_, err := c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)

	// The client thinks 4 minutes are left; the server's token expired.
	clientClock.Advance(56 * time.Minute)
	serverClock.Advance(61 * time.Minute)
	_, err = c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Calls(gt.RouteTokenRefresh))
	assert.Equal(t, 2, srv.Calls(gt.RouteTokenAuth))
	// The refresh failed with the text pygraphistry matches on.
	last := srv.Requests()
	var refreshIdx int
	for i, r := range last {
		if r.Route == gt.RouteTokenRefresh {
			refreshIdx = i
		}
	}
	assert.Equal(t, gt.RouteTokenAuth, last[refreshIdx+1].Route)
}

func TestExpiredTokenLogsInWithoutRefresh(t *testing.T) {
	clk := newClock()
	srv := gt.NewTestServer(t, gt.Options{Now: clk.Now})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Now = clk.Now })
	_, err := c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	clk.Advance(2 * time.Hour)
	_, err = c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, 0, srv.Calls(gt.RouteTokenRefresh))
	assert.Equal(t, 2, srv.Calls(gt.RouteTokenAuth))
}

func TestTokenWithoutExpAssumesOneHour(t *testing.T) {
	clk := newClock()
	srv := gt.NewTestServer(t, gt.Options{Now: clk.Now, OmitExp: true})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Now = clk.Now })
	_, err := c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	clk.Advance(50 * time.Minute)
	_, err = c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, 0, srv.Calls(gt.RouteTokenRefresh))
	clk.Advance(6 * time.Minute)
	_, err = c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Calls(gt.RouteTokenRefresh))
	assert.Equal(t, 1, srv.Calls(gt.RouteTokenAuth))
}

func TestShortLivedTokenRefreshesHalfway(t *testing.T) {
	clk := newClock()
	srv := gt.NewTestServer(t, gt.Options{Now: clk.Now, TokenLifetime: 4 * time.Minute})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Now = clk.Now })
	_, err := c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	clk.Advance(time.Minute)
	_, err = c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, 0, srv.Calls(gt.RouteTokenRefresh))
	clk.Advance(90 * time.Second)
	_, err = c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Calls(gt.RouteTokenRefresh))
}

func TestUnauthorizedOnceReauthenticatesAndRetries(t *testing.T) {
	for _, route := range []gt.Route{gt.RouteCreateDataset, gt.RouteEdgesArrow, gt.RouteNodesArrow, gt.RouteShareLink} {
		t.Run(string(route), func(t *testing.T) {
			srv := gt.NewTestServer(t, gt.Options{})
			c := newTestClient(t, srv, nil)
			srv.FailNext(route, http.StatusUnauthorized, 1, nil)
			res, err := c.Upload(context.Background(), testDataset(t))
			require.NoError(t, err)
			assert.Equal(t, 2, srv.Calls(gt.RouteTokenAuth))
			assert.Equal(t, 2, srv.Calls(route))
			tokens := srv.IssuedTokens()
			reqs := srv.RequestsFor(route)
			assert.Equal(t, "Bearer "+tokens[0], reqs[0].Header.Get("Authorization"))
			assert.Equal(t, "Bearer "+tokens[1], reqs[1].Header.Get("Authorization"))
			stored, _ := srv.Dataset(res.DatasetID)
			assert.True(t, stored.Complete())
		})
	}
}

func TestServerSideTokenInvalidationReauthenticates(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, nil)
	_, err := c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	srv.InvalidateTokens()
	_, err = c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Calls(gt.RouteTokenAuth))
}

func TestUnauthorizedTwiceFailsClearly(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, nil)
	srv.FailNextWithBody(gt.RouteEdgesArrow, http.StatusUnauthorized, 2, nil, `{"detail":"Signature has expired."}`)
	_, err := c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	// consumererror.NewPermanent prefixes "Permanent error: ".
	assert.Contains(t, err.Error(), "graphistry: authentication rejected: Signature has expired.")
	var ae *AuthError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnauthorized, ae.HTTP.StatusCode)
	assert.Equal(t, "upload edges", ae.HTTP.Op)
	assert.Equal(t, 2, srv.Calls(gt.RouteTokenAuth), "re-authenticates exactly once")
	assert.Equal(t, 2, srv.Calls(gt.RouteEdgesArrow))
}

func TestServerErrorsAreRetryable(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, nil)
	srv.FailNext(gt.RouteCreateDataset, http.StatusInternalServerError, 3, nil)
	for i := 0; i < 3; i++ {
		_, err := c.Upload(context.Background(), testDataset(t))
		require.Error(t, err)
		assert.False(t, consumererror.IsPermanent(err), "attempt %d: %v", i, err)
		_, throttled := RetryAfter(err)
		assert.False(t, throttled)
		var he *HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, http.StatusInternalServerError, he.StatusCode)
		assert.Contains(t, err.Error(), "graphistrytest: injected HTTP 500")
	}
	_, err := c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, 4, srv.Calls(gt.RouteCreateDataset))
	assert.Equal(t, 1, srv.Calls(gt.RouteTokenAuth))

	// 5xx during login is retryable too.
	srv.InvalidateTokens()
	srv.FailNext(gt.RouteTokenAuth, http.StatusBadGateway, 1, nil)
	_, err = c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
}

func TestTooManyRequestsIsThrottled(t *testing.T) {
	clk := newClock()
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Now = clk.Now })

	srv.FailNext(gt.RouteCreateDataset, http.StatusTooManyRequests, 1, http.Header{"Retry-After": {"1"}})
	_, err := c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	// exporterhelper's throttleRetry type is internal; its Error() text
	// starts with "Throttle (<delay>)" and it unwraps to our HTTPError.
	assert.True(t, strings.HasPrefix(err.Error(), "Throttle (1s), error: graphistry: create dataset"), err.Error())
	d, ok := RetryAfter(err)
	require.True(t, ok)
	assert.Equal(t, time.Second, d)
	var he *HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusTooManyRequests, he.StatusCode)

	// HTTP-date form, on an Arrow upload.
	date := clk.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	srv.FailNext(gt.RouteEdgesArrow, http.StatusTooManyRequests, 1, http.Header{"Retry-After": {date}})
	_, err = c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	d, ok = RetryAfter(err)
	require.True(t, ok)
	assert.Equal(t, 30*time.Second, d)
	assert.True(t, strings.HasPrefix(err.Error(), "Throttle (30s)"), err.Error())

	// 503 with Retry-After is throttled as well; without it, a plain error.
	srv.FailNext(gt.RouteCreateDataset, http.StatusServiceUnavailable, 1, http.Header{"Retry-After": {"7"}})
	_, err = c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "Throttle (7s)"), err.Error())
	srv.FailNext(gt.RouteCreateDataset, http.StatusServiceUnavailable, 1, nil)
	_, err = c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.False(t, strings.HasPrefix(err.Error(), "Throttle"), err.Error())
	assert.False(t, consumererror.IsPermanent(err))
}

func TestBadRequestIsPermanentWithServerMessage(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, nil)

	srv.FailNextWithBody(gt.RouteCreateDataset, http.StatusBadRequest, 1, nil,
		`{"success": false, "message": "Invalid node_encodings: unknown binding node_colour"}`)
	_, err := c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "HTTP 400: Invalid node_encodings: unknown binding node_colour")
	var he *HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "/api/v2/upload/datasets/", he.Path)

	// A real server-side rejection: a corrupt Arrow file.
	ds := testDataset(t)
	ds.Edges = append([]byte("ARROW1\x00\x00"), []byte("definitely not flatbuffers")...)
	_, err = c.Upload(context.Background(), ds)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "Could not parse edges as an Arrow IPC file")

	// A plain-text body is quoted, bounded.
	srv.FailNextWithBody(gt.RouteNodesArrow, http.StatusRequestEntityTooLarge, 1, nil, strings.Repeat("x", 2000))
	_, err = c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Less(t, len(err.Error()), 700)
}

func TestCreateDatasetSuccessFalseIsPermanent(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, nil)
	srv.FailNextWithBody(gt.RouteCreateDataset, http.StatusOK, 1, nil, `{"success": false, "message": "quota exceeded for datasets"}`)
	_, err := c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "server reported failure: quota exceeded for datasets")
	assert.Equal(t, 0, srv.Calls(gt.RouteEdgesArrow))
}

func TestSharingUnavailableIsAWarning(t *testing.T) {
	for name, opts := range map[string]gt.Options{
		"404": {SharingMissing: true},
		"403": {SharingForbidden: true},
	} {
		t.Run(name, func(t *testing.T) {
			srv := gt.NewTestServer(t, opts)
			logs := newLogCapture()
			c := newTestClient(t, srv, func(cfg *Config) { cfg.Logger = logs.logger })
			res, err := c.Upload(context.Background(), testDataset(t))
			require.NoError(t, err)
			assert.NotEmpty(t, res.URL)
			stored, _ := srv.Dataset(res.DatasetID)
			assert.True(t, stored.Complete())
			assert.Nil(t, stored.Share)
			warns := logs.observed.FilterLevelExact(zapcore.WarnLevel).All()
			require.Len(t, warns, 1)
			assert.Contains(t, warns[0].Message, "sharing")
			assert.EqualValues(t, map[string]int{"404": 404, "403": 403}[name], warns[0].ContextMap()["status"])
		})
	}
}

func TestSharingServerErrorFails(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, nil)
	srv.FailNext(gt.RouteShareLink, http.StatusInternalServerError, 1, nil)
	_, err := c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
}

func TestNetworkErrorsAreRetryable(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, nil)
	srv.Down(true)
	_, err := c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err), err.Error())
	srv.Down(false)
	_, err = c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)

	srv.Unavailable(true)
	_, err = c.Upload(context.Background(), testDataset(t))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	srv.Unavailable(false)
}

func TestContextCancelled(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Upload(ctx, testDataset(t))
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestConcurrentUploadsShareOneLogin(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, nil)
	ds := testDataset(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Upload(context.Background(), ds)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 1, srv.Calls(gt.RouteTokenAuth))
	assert.Len(t, srv.CompleteDatasets(), len(errs))

	// After invalidation, concurrent 401s lead to few logins, all succeed.
	srv.InvalidateTokens()
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Upload(context.Background(), ds)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Len(t, srv.CompleteDatasets(), 2*len(errs))
}

func TestUploadValidation(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, nil)
	tests := map[string]struct {
		mutate  func(*Dataset)
		wantErr string
	}{
		"no edges":       {func(d *Dataset) { d.Edges = nil }, "no edges table"},
		"edges not IPC":  {func(d *Dataset) { d.Edges = []byte("src,dst\na,b\n") }, "edges are not Arrow IPC file bytes"},
		"nodes not IPC":  {func(d *Dataset) { d.Nodes = []byte{0xff, 0xfe} }, "nodes are not Arrow IPC file bytes"},
		"bad share":      {func(d *Dataset) { d.Share = "everyone" }, `invalid share mode "everyone"`},
		"no edge enc":    {func(d *Dataset) { d.EdgeEncodings = nil }, "edge encodings are required"},
		"no destination": {func(d *Dataset) { d.EdgeEncodings = map[string]any{"bindings": map[string]string{"source": "src"}} }, `bind "destination"`},
		"empty source": {func(d *Dataset) {
			d.EdgeEncodings = map[string]any{"bindings": map[string]any{"source": "", "destination": "dst"}}
		}, `bind "source"`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ds := testDataset(t)
			tt.mutate(&ds)
			_, err := c.Upload(context.Background(), ds)
			require.Error(t, err)
			assert.True(t, consumererror.IsPermanent(err))
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
	assert.Empty(t, srv.Requests(), "validation failures make no requests")
}

func TestNewValidation(t *testing.T) {
	tests := map[string]struct {
		cfg     Config
		wantErr string
	}{
		"no endpoint":       {Config{Username: "u", Password: "p"}, "endpoint is required"},
		"relative endpoint": {Config{Endpoint: "hub.graphistry.com", Username: "u", Password: "p"}, "absolute http or https URL"},
		"ftp endpoint":      {Config{Endpoint: "ftp://hub", Username: "u", Password: "p"}, "absolute http or https URL"},
		"userinfo":          {Config{Endpoint: "https://u:p@hub", Username: "u", Password: "p"}, "user information"},
		"query":             {Config{Endpoint: "https://hub/?x=1", Username: "u", Password: "p"}, "query or fragment"},
		"no credentials":    {Config{Endpoint: "https://hub"}, "credentials are required"},
		"both credentials":  {Config{Endpoint: "https://hub", Username: "u", Password: "p", PersonalKeyID: "i", PersonalKeySecret: "s"}, "not both"},
		"no password":       {Config{Endpoint: "https://hub", Username: "u"}, "both username and password"},
		"no pkey secret":    {Config{Endpoint: "https://hub", PersonalKeyID: "i"}, "both personal key id and personal key secret"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), "p@")
		})
	}
	c, err := New(Config{Endpoint: "https://hub.graphistry.com/", PersonalKeyID: "i", PersonalKeySecret: "s"})
	require.NoError(t, err)
	assert.Equal(t, "https://hub.graphistry.com", c.endpoint)
	assert.NotEmpty(t, c.agentVersion)
}

func TestEndpointWithPathPrefix(t *testing.T) {
	srv := gt.NewTestServer(t, gt.Options{})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Endpoint = srv.URL + "/" })
	res, err := c.Upload(context.Background(), testDataset(t))
	require.NoError(t, err)
	assert.Equal(t, srv.URL+"/graph/graph.html?dataset="+res.DatasetID, res.URL)
}

func TestSecretsNeverInLogsOrErrors(t *testing.T) {
	for _, kind := range []string{"password", "personal key"} {
		t.Run(kind, func(t *testing.T) {
			clk := newClock()
			srv := gt.NewTestServer(t, gt.Options{Now: clk.Now})
			logs := newLogCapture()
			c := newTestClient(t, srv, func(cfg *Config) {
				cfg.Now = clk.Now
				cfg.Logger = logs.logger
				cfg.OrgName = gt.TestOrg
				if kind == "personal key" {
					cfg.Username, cfg.Password = "", ""
					cfg.PersonalKeyID, cfg.PersonalKeySecret = gt.TestPKeyID, gt.TestPKeySecret
				}
			})
			ctx := context.Background()
			var errs []error
			upload := func() {
				if _, err := c.Upload(ctx, testDataset(t)); err != nil {
					errs = append(errs, err)
				}
			}
			upload() // login + org switch
			tok := srv.IssuedTokens()[0]
			secret := gt.TestPassword
			if kind == "personal key" {
				secret = gt.TestPKeySecret
			}

			// A server echoing secrets in its error bodies.
			srv.FailNextWithBody(gt.RouteCreateDataset, http.StatusBadRequest, 1, nil,
				`{"message":"rejected token `+tok+` for secret `+secret+`"}`)
			upload()
			srv.FailNextWithBody(gt.RouteEdgesArrow, http.StatusInternalServerError, 1, nil,
				"internal error, Authorization: Bearer "+tok)
			upload()
			srv.FailNext(gt.RouteNodesArrow, http.StatusUnauthorized, 2, nil)
			upload()
			srv.FailNext(gt.RouteCreateDataset, http.StatusTooManyRequests, 1, http.Header{"Retry-After": {"3"}})
			upload()
			srv.Down(true)
			upload()
			srv.Down(false)
			clk.Advance(57 * time.Minute) // refresh
			upload()
			clk.Advance(2 * time.Hour) // expired: login again
			upload()
			srv.FailNext(gt.RouteTokenRefresh, http.StatusUnauthorized, 1, nil)
			clk.Advance(56 * time.Minute) // refresh refused: login again
			upload()
			srv.InvalidateTokens()
			upload()

			require.GreaterOrEqual(t, len(errs), 5)
			require.GreaterOrEqual(t, srv.Calls(gt.RouteTokenRefresh), 2)

			secrets := append([]string{secret}, srv.IssuedTokens()...)
			require.Greater(t, len(secrets), 4)
			text := logs.buf.String()
			require.Contains(t, text, "graphistry: logged in", "debug logs were captured")
			for _, s := range secrets {
				assert.NotContains(t, text, s)
				for _, err := range errs {
					assert.NotContains(t, err.Error(), s)
					assert.NotContains(t, errorChainText(err), s)
				}
				for _, e := range logs.observed.All() {
					for k, v := range e.ContextMap() {
						assert.NotContains(t, k+"="+toString(v), s)
					}
				}
			}
			assert.Contains(t, errs[0].Error(), "[REDACTED]")
		})
	}
}

// errorChainText concatenates the messages of err and everything it wraps.
func errorChainText(err error) string {
	var b strings.Builder
	for e := err; e != nil; e = errors.Unwrap(e) {
		b.WriteString(e.Error())
		b.WriteString("\n")
	}
	var he *HTTPError
	if errors.As(err, &he) {
		b.WriteString(he.Message + he.Path)
	}
	return b.String()
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return zap.Any("", v).String
}
