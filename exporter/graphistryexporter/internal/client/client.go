// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package client is a small Graphistry REST API client that uploads one graph
// (an edges table and optionally a nodes table, both as Arrow IPC file bytes)
// as a dataset and returns its viewer URL.
//
// It follows what the official clients send:
//
//   - authentication: pygraphistry graphistry/arrow_uploader.py (login,
//     pkey_login, refresh, _handle_login_response) and graphistry/pygraphistry.py
//     (org switch, re-login on "Token has expired."); graphistry-js
//     projects/js-upload-api/src/Client.ts and ClientPKey.ts; Hub docs
//     /docs/api/1/rest/auth/ and /docs/api/2/rest/sso/;
//   - upload: arrow_uploader.py create_dataset, post_arrow, post_share_link
//     (the api=3 "direct dataset upload" flow, as_files=False) with
//     graphistry/privacy.py defaults; graphistry-js Dataset.ts (datasetURL,
//     fillMetadata) and Privacy.ts; Hub docs /docs/api/2/rest/upload/ and
//     /docs/api/2/rest/upload/data/.
//
// Errors are shaped for the collector's exporterhelper retry logic: 429 (and
// 503 with Retry-After) become exporterhelper.NewThrottleRetry errors, other
// 5xx and network failures plain (retryable) errors, and other 4xx
// consumererror permanent errors carrying the server's message.
//
// Passwords, personal key secrets and tokens never appear in errors or logs.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"
)

// AgentName is sent as metadata.agent with every dataset, like pygraphistry's
// "pygraphistry" and graphistry-js' "@graphistry/js-upload-api".
const AgentName = "otelcol-llt-graphistry"

// APIVersion is sent as metadata.apiversion ("3" = JWT/Arrow upload API).
const APIVersion = "3"

const modulePath = "github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter"

// Sharing modes accepted by [Dataset.Share] (pygraphistry privacy.py Mode).
const (
	SharePrivate      = "private"
	ShareOrganization = "organization"
	SharePublic       = "public"
)

// Config configures a [Client].
type Config struct {
	// Endpoint is the server's base URL, e.g. https://hub.graphistry.com.
	// It is used both for API calls and for the returned viewer URL.
	Endpoint string

	// Username and Password select password authentication.
	Username string
	Password string

	// PersonalKeyID and PersonalKeySecret select personal key authentication.
	// Exactly one of the two credential kinds must be configured.
	PersonalKeyID     string
	PersonalKeySecret string

	// OrgName, when set, logs in to and uploads into that organization.
	OrgName string

	// HTTPClient sends the requests. Default: http.DefaultClient, which sets no timeout: the
	// exporter passes the client its confighttp settings build, `timeout` included.
	HTTPClient *http.Client
	// Logger receives debug and warning logs. Default: no-op.
	Logger *zap.Logger
	// Now is the clock used for token lifetimes and Retry-After dates.
	// Default: time.Now.
	Now func() time.Time

	// AgentVersion is sent as metadata.agentversion. Default: this module's
	// version from the build info, or "dev".
	AgentVersion string
}

// Dataset is one graph to upload.
type Dataset struct {
	// Name and Description of the dataset. An empty name is sent as
	// "untitled" (pygraphistry's default).
	Name        string
	Description string
	// NodeEncodings and EdgeEncodings are the "node_encodings" and
	// "edge_encodings" objects (Hub docs /docs/api/2/rest/upload/). Edge
	// bindings must name "source" and "destination". A nil NodeEncodings is
	// sent as {"bindings": {}}.
	NodeEncodings map[string]any
	EdgeEncodings map[string]any
	// Metadata is merged into the "metadata" object; agent, apiversion and
	// agentversion are always set by the client.
	Metadata map[string]any
	// Nodes and Edges are Arrow IPC *file* format bytes (ipc.NewFileWriter,
	// pyarrow RecordBatchFileWriter). Edges is required; empty Nodes skips the
	// nodes upload (the server then synthesizes nodes from edges).
	Nodes []byte
	Edges []byte
	// Share is the sharing mode: "private", "organization" or "public". Empty
	// leaves the server's default and makes no sharing call (pygraphistry only
	// calls the share endpoint when privacy() was set).
	Share string
}

// Result describes an uploaded dataset.
type Result struct {
	DatasetID string
	// URL is the viewer URL {endpoint}/graph/graph.html?dataset={id}. It never
	// contains a token.
	URL string
}

// Client uploads datasets to one Graphistry server. It is safe for concurrent
// use; authentication is shared between concurrent uploads.
type Client struct {
	endpoint     string
	cfg          Config
	httpClient   *http.Client
	logger       *zap.Logger
	now          func() time.Time
	agentVersion string

	// authSem serializes authentication and guards the fields below it; it is
	// a channel so that waiting for it honours context cancellation.
	authSem      chan struct{}
	token        string
	expiry       time.Time
	refreshAt    time.Time
	passwordPath string // the password login route that last worked
	pkeyGET      bool   // the server answered 405 to the personal key POST

	secretsMu sync.Mutex
	secrets   []string // configured secrets, redacted from server messages
	tokens    []string // recent tokens, redacted as well
}

// New validates cfg and returns a client. It makes no network call; the
// first [Client.Upload] logs in.
func New(cfg Config) (*Client, error) {
	endpoint := strings.TrimRight(strings.TrimSpace(cfg.Endpoint), "/")
	if endpoint == "" {
		return nil, errors.New("graphistry: endpoint is required")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("graphistry: invalid endpoint: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("graphistry: endpoint %q must be an absolute http or https URL", endpoint)
	}
	if u.User != nil {
		return nil, errors.New("graphistry: endpoint must not contain user information; use the credential settings")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("graphistry: endpoint must not contain a query or fragment")
	}
	hasPassword := cfg.Username != "" || cfg.Password != ""
	hasPKey := cfg.PersonalKeyID != "" || cfg.PersonalKeySecret != ""
	switch {
	case hasPassword && hasPKey:
		return nil, errors.New("graphistry: configure either username/password or personal key id/secret, not both")
	case !hasPassword && !hasPKey:
		return nil, errors.New("graphistry: credentials are required: username/password or personal key id/secret")
	case hasPassword && (cfg.Username == "" || cfg.Password == ""):
		return nil, errors.New("graphistry: both username and password are required")
	case hasPKey && (cfg.PersonalKeyID == "" || cfg.PersonalKeySecret == ""):
		return nil, errors.New("graphistry: both personal key id and personal key secret are required")
	}
	c := &Client{
		endpoint:     endpoint,
		cfg:          cfg,
		httpClient:   cfg.HTTPClient,
		logger:       cfg.Logger,
		now:          cfg.Now,
		agentVersion: cfg.AgentVersion,
		authSem:      make(chan struct{}, 1),
		passwordPath: pathTokenAuth,
	}
	if c.httpClient == nil {
		c.httpClient = http.DefaultClient
	}
	if c.logger == nil {
		c.logger = zap.NewNop()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.agentVersion == "" {
		c.agentVersion = defaultAgentVersion()
	}
	for _, s := range []string{cfg.Password, cfg.PersonalKeySecret} {
		if s != "" {
			c.secrets = append(c.secrets, s)
		}
	}
	return c, nil
}

// API paths (trailing slashes matter on Graphistry: "Take note of the use of
// trailing slashes", Hub docs /docs/api/2/rest/upload/).
const (
	pathTokenAuth     = "/api-token-auth/"                    // pygraphistry arrow_uploader.py login()
	pathTokenGenerate = "/api/v2/auth/token/generate"         // graphistry-js Client.ts AUTH_API_ENDPOINT
	pathPKeyJWT       = "/api/v2/auth/pkey/jwt/"              // pygraphistry pkey_login(), graphistry-js ClientPKey.ts
	pathTokenRefresh  = "/api/v2/auth/token/refresh"          // pygraphistry arrow_uploader.py refresh()
	pathDatasets      = "/api/v2/upload/datasets/"            // pygraphistry create_dataset()
	pathShareLink     = "/api/v2/share/link/"                 // pygraphistry post_share_link()
	pathOrgSwitchFmt  = "/api/v2/o/%s/switch/"                // pygraphistry.py _switch_org_url()
	pathArrowFmt      = "/api/v2/upload/datasets/%s/%s/arrow" // pygraphistry post_arrow()
)

// Upload creates a dataset, uploads the edges and nodes tables, applies the
// sharing mode and returns the dataset ID and viewer URL.
//
// Errors are ready for exporterhelper: see the package documentation. An
// upload that fails after the dataset was created leaves an incomplete dataset
// on the server; a retry creates a new one.
func (c *Client) Upload(ctx context.Context, ds Dataset) (Result, error) {
	body, err := c.datasetRequest(ds)
	if err != nil {
		return Result{}, consumererror.NewPermanent(err)
	}

	resp, err := c.doAuthed(ctx, request{
		op: "create dataset", method: http.MethodPost, path: pathDatasets,
		contentType: "application/json", body: body,
	})
	if err != nil {
		return Result{}, err
	}
	var created struct {
		Success *bool  `json:"success"`
		Message string `json:"message"`
		Data    struct {
			DatasetID string `json:"dataset_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp.body, &created); err != nil {
		return Result{}, consumererror.NewPermanent(c.badResponse("create dataset", pathDatasets, resp))
	}
	if created.Success == nil || !*created.Success {
		msg := c.redact(serverMessage(resp.body))
		return Result{}, consumererror.NewPermanent(fmt.Errorf("graphistry: create dataset: server reported failure: %s", msg))
	}
	id := created.Data.DatasetID
	if id == "" {
		return Result{}, consumererror.NewPermanent(errors.New("graphistry: create dataset: response has no data.dataset_id"))
	}
	log := c.logger.With(zap.String("dataset_id", id))
	log.Debug("graphistry: dataset created")

	if err := c.uploadArrow(ctx, id, "edges", ds.Edges); err != nil {
		return Result{}, err
	}
	if len(ds.Nodes) > 0 {
		if err := c.uploadArrow(ctx, id, "nodes", ds.Nodes); err != nil {
			return Result{}, err
		}
	}
	if ds.Share != "" {
		if err := c.share(ctx, id, ds.Share); err != nil {
			return Result{}, err
		}
	}
	res := Result{
		DatasetID: id,
		URL:       c.endpoint + "/graph/graph.html?dataset=" + url.QueryEscape(id),
	}
	log.Debug("graphistry: dataset uploaded", zap.String("url", res.URL))
	return res, nil
}

// datasetRequest validates ds and builds the create-dataset JSON body
// (arrow_uploader.py post(as_files=False) and create_dataset()).
func (c *Client) datasetRequest(ds Dataset) ([]byte, error) {
	if len(ds.Edges) == 0 {
		return nil, errors.New("graphistry: dataset has no edges table")
	}
	if !isArrowFile(ds.Edges) {
		return nil, errors.New("graphistry: edges are not Arrow IPC file bytes (missing ARROW1 magic)")
	}
	if len(ds.Nodes) > 0 && !isArrowFile(ds.Nodes) {
		return nil, errors.New("graphistry: nodes are not Arrow IPC file bytes (missing ARROW1 magic)")
	}
	switch ds.Share {
	case "", SharePrivate, ShareOrganization, SharePublic:
	default:
		return nil, fmt.Errorf("graphistry: invalid share mode %q: want private, organization or public", ds.Share)
	}
	if err := validateEdgeEncodings(ds.EdgeEncodings); err != nil {
		return nil, err
	}
	nodeEnc := ds.NodeEncodings
	if nodeEnc == nil {
		nodeEnc = map[string]any{"bindings": map[string]any{}}
	}
	metadata := make(map[string]any, len(ds.Metadata)+3)
	for k, v := range ds.Metadata {
		metadata[k] = v
	}
	metadata["agent"] = AgentName
	metadata["apiversion"] = APIVersion
	metadata["agentversion"] = c.agentVersion
	name := ds.Name
	if name == "" {
		name = "untitled"
	}
	payload := map[string]any{
		"node_encodings": nodeEnc,
		"edge_encodings": ds.EdgeEncodings,
		"metadata":       metadata,
		"name":           name,
		"description":    ds.Description,
	}
	if c.cfg.OrgName != "" {
		payload["org_name"] = c.cfg.OrgName
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("graphistry: encoding dataset request: %w", err)
	}
	return b, nil
}

// validateEdgeEncodings mirrors pygraphistry validate/validate_encodings.py
// validate_edge_encodings: bindings must include source and destination.
func validateEdgeEncodings(enc map[string]any) error {
	if enc == nil {
		return errors.New("graphistry: edge encodings are required (bindings source and destination)")
	}
	raw, err := json.Marshal(enc)
	if err != nil {
		return fmt.Errorf("graphistry: edge encodings are not JSON: %w", err)
	}
	var parsed struct {
		Bindings map[string]any `json:"bindings"`
	}
	if err := json.Unmarshal(raw, &parsed); err != nil {
		return fmt.Errorf("graphistry: edge encodings bindings must be an object: %w", err)
	}
	for _, k := range []string{"source", "destination"} {
		if s, _ := parsed.Bindings[k].(string); s == "" {
			return fmt.Errorf("graphistry: edge encodings must bind %q to a column", k)
		}
	}
	return nil
}

// uploadArrow posts one table (arrow_uploader.py post_arrow()). pygraphistry
// sends the raw bytes with requests' data= (no Content-Type); this client
// labels them application/octet-stream. The answer must have success true.
func (c *Client) uploadArrow(ctx context.Context, id, kind string, data []byte) error {
	path := fmt.Sprintf(pathArrowFmt, url.PathEscape(id), kind)
	op := "upload " + kind
	resp, err := c.doAuthed(ctx, request{
		op: op, method: http.MethodPost, path: path,
		contentType: "application/octet-stream", body: data,
	})
	if err != nil {
		return err
	}
	var out struct {
		Success *bool `json:"success"`
	}
	if err := json.Unmarshal(resp.body, &out); err != nil || out.Success == nil {
		return consumererror.NewPermanent(c.badResponse(op, path, resp))
	}
	if !*out.Success {
		msg := c.redact(serverMessage(resp.body))
		return consumererror.NewPermanent(fmt.Errorf("graphistry: %s: server reported failure: %s", op, msg))
	}
	return nil
}

// share sets the dataset's sharing mode (arrow_uploader.py post_share_link()
// with cascade_privacy_settings() defaults: notify false, no invited users,
// mode_action "20" (edit) for private and "10" (view) otherwise, empty
// message). A 404 (server without sharing) or 403 (account without sharing)
// is logged as a warning and the upload still counts as done.
func (c *Client) share(ctx context.Context, id, mode string) error {
	action := "10"
	if mode == SharePrivate {
		action = "20"
	}
	body, err := json.Marshal(map[string]any{
		"obj_pk":        id,
		"obj_type":      "dataset",
		"mode":          mode,
		"notify":        false,
		"invited_users": []string{},
		"mode_action":   action,
		"message":       "",
	})
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("graphistry: encoding share request: %w", err))
	}
	_, err = c.doAuthed(ctx, request{
		op: "share dataset", method: http.MethodPost, path: pathShareLink,
		contentType: "application/json", body: body,
	})
	var he *HTTPError
	if errors.As(err, &he) && (he.StatusCode == http.StatusNotFound || he.StatusCode == http.StatusForbidden) {
		reason := "the server does not support sharing"
		if he.StatusCode == http.StatusForbidden {
			reason = "the account may not change sharing settings"
		}
		c.logger.Warn("graphistry: could not set the dataset's sharing mode; keeping the server default",
			zap.String("dataset_id", id),
			zap.String("mode", mode),
			zap.Int("status", he.StatusCode),
			zap.String("reason", reason),
			zap.String("server_message", he.Message))
		return nil
	}
	return err
}

func isArrowFile(b []byte) bool {
	return bytes.HasPrefix(b, []byte("ARROW1"))
}

// defaultAgentVersion returns this module's version from the binary's build
// info, or "dev".
func defaultAgentVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if bi.Main.Path == modulePath && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == modulePath && d.Version != "" && d.Version != "(devel)" {
			return d.Version
		}
	}
	return "dev"
}
