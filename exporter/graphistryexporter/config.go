// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graphistryexporter // import "github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter"

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/client"
	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/graph"
)

// Sharing modes of an uploaded dataset.
const (
	SharePrivate      = client.SharePrivate
	ShareOrganization = client.ShareOrganization
	SharePublic       = client.SharePublic
)

// File formats of file mode.
const (
	FormatArrow   = string(graph.FormatArrow)
	FormatParquet = string(graph.FormatParquet)
)

// Config is the graphistry exporter's configuration. The defaults are in createDefaultConfig.
type Config struct {
	// ClientConfig is how the exporter reaches the Graphistry server (confighttp):
	//   - `endpoint` is the server's base URL (https://hub.graphistry.com or your own). Default
	//     empty: nothing is uploaded (file mode only).
	//   - `timeout` bounds one dataset's upload, each of its requests and all of them together.
	//     Default 30s; 0 means no bound.
	//   - `tls`, `headers`, `proxy_url`, `compression`, ... apply to every request.
	// Its `auth` (an authenticator extension) is not offered: `auth` is the Graphistry account
	// (see Unmarshal).
	confighttp.ClientConfig `mapstructure:",squash"`
	// Auth is the Graphistry account: a username and password, or a personal key. Required
	// with `endpoint`. It shadows ClientConfig.Auth, which stays unset.
	Auth AuthConfig `mapstructure:"auth"`
	// Window is how long spans are gathered into one dataset (> 0) ... Default 30s.
	Window time.Duration `mapstructure:"window"`
	// ... or how many (>= 1): a dataset is made when either is reached. Default 100000.
	MaxSpans int `mapstructure:"max_spans"`
	// Share is the dataset's sharing mode: private, organization or public. Default private.
	Share string `mapstructure:"share"`
	// File configures file mode.
	File FileConfig `mapstructure:"file"`

	// QueueConfig is exporterhelper's queue. Default: on, in memory. Its batching is set from
	// Window and MaxSpans (windowedQueue).
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// BackOffConfig is exporterhelper's retry. Default: on, with exporterhelper's intervals.
	BackOffConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// AuthConfig is the Graphistry account: a username and password, or a personal key. The
// secrets are configopaque: never logged, and redacted when the configuration is printed.
type AuthConfig struct {
	// Username and Password log in with an account's password.
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
	// PersonalKeyID and PersonalKeySecret log in with a personal key (Account → Personal keys).
	PersonalKeyID     string              `mapstructure:"personal_key_id"`
	PersonalKeySecret configopaque.String `mapstructure:"personal_key_secret"`
	// OrgName uploads into this organization (the exporter switches to it after logging in).
	// Default: the account's own.
	OrgName string `mapstructure:"org_name"`
}

// FileConfig configures file mode.
type FileConfig struct {
	// Path is a directory; each dataset is written there as <name>.nodes.<ext> and
	// <name>.edges.<ext>. Default empty: no files.
	Path string `mapstructure:"path"`
	// Format is arrow (Arrow IPC file) or parquet. Default arrow.
	Format string `mapstructure:"format"`
	// MaxPending is how many windows whose files could not be written (a full or read-only
	// disk) are kept in memory and tried again every window (>= 0). When one more fails, the
	// oldest is dropped (counted in otelcol_graphistry_file_windows_dropped). 0: a window whose
	// files fail is dropped at once. Default 10.
	MaxPending int `mapstructure:"max_pending"`
}

func createDefaultConfig() *Config {
	cc := confighttp.NewDefaultClientConfig()
	cc.Timeout = 30 * time.Second
	return &Config{
		ClientConfig:  cc,
		Window:        30 * time.Second,
		MaxSpans:      100_000,
		Share:         SharePrivate,
		File:          FileConfig{Format: FormatArrow, MaxPending: 10},
		QueueConfig:   configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		BackOffConfig: configretry.NewDefaultBackOffConfig(),
	}
}

var (
	errNothingToDo   = errors.New("`endpoint` and `file::path` are both empty: nothing to upload or write")
	errURLUser       = errors.New("`endpoint` must not carry credentials: use `auth`")
	errURLQuery      = errors.New("`endpoint` must not carry a query or fragment")
	errNoAccount     = errors.New("`auth` is required with `endpoint`: `username` and `password`, or `personal_key_id` and `personal_key_secret`")
	errTwoAccounts   = errors.New("set `username` and `password`, or `personal_key_id` and `personal_key_secret`, not both")
	errHalfPassword  = errors.New("`username` and `password` must both be set")
	errHalfKey       = errors.New("`personal_key_id` and `personal_key_secret` must both be set")
	errAuthenticator = errors.New("`auth` is the Graphistry account (`username` and `password`, or `personal_key_id` and `personal_key_secret`): authenticator extensions are not supported, Graphistry's login issues the token the exporter sends")
)

// Unmarshal reads `auth` as the Graphistry account. The squashed confighttp.ClientConfig has
// an `auth` of its own, for an authenticator extension; one key cannot be both, and the account
// keeps it: Graphistry's login issues the bearer token the exporter sends with every request,
// which an authenticator's Authorization header would replace.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if conf.IsSet("auth::authenticator") {
		return errAuthenticator
	}
	// The account alone first; the other keys are left to the second pass, which does not see
	// `auth`.
	account := struct {
		Auth *AuthConfig    `mapstructure:"auth"`
		Rest map[string]any `mapstructure:",remain"`
	}{Auth: &cfg.Auth}
	if err := conf.Unmarshal(&account); err != nil {
		return err
	}
	conf.Delete("auth") // conf is this call's own copy
	return conf.Unmarshal(cfg)
}

// Validate checks the top-level keys, and that an `endpoint` comes with `auth`. AuthConfig and
// FileConfig check their own keys (confmap.Validate puts the section in front of their
// messages), and confighttp checks its own settings.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Endpoint == "" && cfg.File.Path == "" {
		errs = append(errs, errNothingToDo)
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, fmt.Errorf("`endpoint` must be an http(s) URL such as https://hub.graphistry.com, got %q", cfg.Endpoint))
		case u.User != nil:
			errs = append(errs, errURLUser)
		case u.RawQuery != "" || u.Fragment != "":
			errs = append(errs, errURLQuery)
		}
		if !cfg.Auth.hasLogin() {
			errs = append(errs, errNoAccount)
		}
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("`timeout` must not be negative, got %v", cfg.Timeout))
	}
	if cfg.Window <= 0 {
		errs = append(errs, fmt.Errorf("`window` must be > 0, got %v", cfg.Window))
	}
	if cfg.MaxSpans < 1 {
		errs = append(errs, fmt.Errorf("`max_spans` must be >= 1, got %d", cfg.MaxSpans))
	}
	switch cfg.Share {
	case SharePrivate, ShareOrganization, SharePublic:
	default:
		errs = append(errs, fmt.Errorf("`share` must be private, organization or public; got %q", cfg.Share))
	}
	return errors.Join(errs...)
}

func (a *AuthConfig) hasLogin() bool {
	return a.Username != "" || a.Password != "" || a.PersonalKeyID != "" || a.PersonalKeySecret != ""
}

// Validate checks that the account is one kind of login, complete. Whether one is needed at
// all (with `endpoint`) is checked by Config.Validate.
func (a *AuthConfig) Validate() error {
	hasPassword := a.Username != "" || a.Password != ""
	hasKey := a.PersonalKeyID != "" || a.PersonalKeySecret != ""
	switch {
	case hasPassword && hasKey:
		return errTwoAccounts
	case hasPassword && (a.Username == "" || a.Password == ""):
		return errHalfPassword
	case hasKey && (a.PersonalKeyID == "" || a.PersonalKeySecret == ""):
		return errHalfKey
	}
	return nil
}

// Validate checks the file format and max_pending.
func (f *FileConfig) Validate() error {
	var errs []error
	switch f.Format {
	case FormatArrow, FormatParquet:
	default:
		errs = append(errs, fmt.Errorf("`format` must be arrow or parquet; got %q", f.Format))
	}
	if f.MaxPending < 0 {
		errs = append(errs, fmt.Errorf("`max_pending` must be >= 0, got %d", f.MaxPending))
	}
	return errors.Join(errs...)
}
