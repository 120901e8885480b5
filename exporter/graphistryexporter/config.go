package graphistryexporter // import "github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter"

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Sharing modes of an uploaded dataset.
const (
	SharePrivate      = "private"
	ShareOrganization = "organization"
	SharePublic       = "public"
)

// File formats of file mode.
const (
	FormatArrow   = "arrow"
	FormatParquet = "parquet"
)

// Config is the graphistry exporter's configuration.
type Config struct {
	// Endpoint is the Graphistry server's base URL (https://hub.graphistry.com or your own).
	// Empty: nothing is uploaded (file mode only).
	Endpoint string                 `mapstructure:"endpoint"`
	TLS      configtls.ClientConfig `mapstructure:"tls"`
	Auth     AuthConfig             `mapstructure:"auth"`
	// Window is how long spans are gathered into one dataset ...
	Window time.Duration `mapstructure:"window"`
	// ... or how many: a dataset is made when either is reached.
	MaxSpans int `mapstructure:"max_spans"`
	// Share is the dataset's sharing mode: private, organization or public.
	Share string     `mapstructure:"share"`
	File  FileConfig `mapstructure:"file"`

	QueueConfig   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	BackOffConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
	TimeoutConfig exporterhelper.TimeoutConfig                             `mapstructure:",squash"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// AuthConfig holds the Graphistry account: a username and password, or a personal key.
type AuthConfig struct {
	Username          string              `mapstructure:"username"`
	Password          configopaque.String `mapstructure:"password"`
	PersonalKeyID     string              `mapstructure:"personal_key_id"`
	PersonalKeySecret configopaque.String `mapstructure:"personal_key_secret"`
	// OrgName uploads into this organization (the exporter switches to it after logging in).
	OrgName string `mapstructure:"org_name"`
}

// FileConfig configures file mode.
type FileConfig struct {
	// Path is a directory; each dataset is written there as <name>.nodes.<ext> and
	// <name>.edges.<ext>. Empty: no files.
	Path string `mapstructure:"path"`
	// Format is arrow (Arrow IPC file) or parquet.
	Format string `mapstructure:"format"`
}

func createDefaultConfig() *Config {
	return &Config{
		Window:        30 * time.Second,
		MaxSpans:      100_000,
		Share:         SharePrivate,
		File:          FileConfig{Format: FormatArrow},
		QueueConfig:   configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		BackOffConfig: configretry.NewDefaultBackOffConfig(),
		TimeoutConfig: exporterhelper.TimeoutConfig{Timeout: 30 * time.Second},
	}
}

// Validate checks the configuration; every message names the key.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Endpoint == "" && cfg.File.Path == "" {
		errs = append(errs, errors.New("endpoint: empty and file::path empty: nothing to upload or write"))
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("endpoint: must be an http(s) URL such as https://hub.graphistry.com, got %q", cfg.Endpoint))
		} else if u.User != nil {
			errs = append(errs, errors.New("endpoint: must not carry credentials; use auth"))
		}
		a := cfg.Auth
		hasPassword := a.Username != "" || a.Password != ""
		hasKey := a.PersonalKeyID != "" || a.PersonalKeySecret != ""
		switch {
		case hasPassword && hasKey:
			errs = append(errs, errors.New("auth: set username and password, or personal_key_id and personal_key_secret, not both"))
		case hasPassword && (a.Username == "" || a.Password == ""):
			errs = append(errs, errors.New("auth: username and password must both be set"))
		case hasKey && (a.PersonalKeyID == "" || a.PersonalKeySecret == ""):
			errs = append(errs, errors.New("auth: personal_key_id and personal_key_secret must both be set"))
		case !hasPassword && !hasKey:
			errs = append(errs, errors.New("auth: an endpoint needs username and password, or personal_key_id and personal_key_secret"))
		}
	}
	if cfg.Window <= 0 {
		errs = append(errs, fmt.Errorf("window: must be > 0, got %v", cfg.Window))
	}
	if cfg.MaxSpans < 1 {
		errs = append(errs, fmt.Errorf("max_spans: must be >= 1, got %d", cfg.MaxSpans))
	}
	switch cfg.Share {
	case SharePrivate, ShareOrganization, SharePublic:
	default:
		errs = append(errs, fmt.Errorf("share: must be private, organization or public; got %q", cfg.Share))
	}
	switch cfg.File.Format {
	case FormatArrow, FormatParquet:
	default:
		errs = append(errs, fmt.Errorf("file::format: must be arrow or parquet; got %q", cfg.File.Format))
	}
	return errors.Join(errs...)
}
