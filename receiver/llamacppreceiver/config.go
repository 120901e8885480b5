package llamacppreceiver

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

// Config is the llamacpp receiver's configuration. Exactly one of Launcher and Endpoint names
// the llama-server to observe.
type Config struct {
	scraperhelper.ControllerConfig `mapstructure:",squash"`
	// ClientConfig is how the receiver reaches llama-server: `endpoint` (e.g.
	// http://127.0.0.1:8080), `timeout`, `tls`, `headers`, ... Leave `endpoint` empty with
	// `launcher`.
	confighttp.ClientConfig `mapstructure:",squash"`
	// Launcher is the ID of a llamalauncher extension whose llama-server to observe; the receiver
	// then waits for it to be ready and follows it across restarts.
	Launcher *component.ID `mapstructure:"launcher"`
	// APIKey is llama-server's API key (with `endpoint`; a launcher provides its own).
	APIKey configopaque.String `mapstructure:"api_key"`
	// Gateway is the traced OpenAI-compatible proxy in front of llama-server; omit to disable.
	Gateway configoptional.Optional[GatewayConfig] `mapstructure:"gateway"`

	metadata.MetricsBuilderConfig `mapstructure:",squash"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// GatewayConfig configures the gateway.
type GatewayConfig struct {
	// Endpoint is the address the gateway listens on. Default 127.0.0.1:8081.
	Endpoint string `mapstructure:"endpoint"`
	// CaptureContent records prompts and responses as gen_ai.input.messages and
	// gen_ai.output.messages. Default false: content is opt-in.
	CaptureContent bool `mapstructure:"capture_content"`
	// MaxContentLength truncates each captured content attribute to this many bytes. Default 4096.
	MaxContentLength int `mapstructure:"max_content_length"`
	// MaxRequestBody is the largest request body accepted (413 above it), e.g. 16MiB. Default 16MiB.
	MaxRequestBody ByteSize `mapstructure:"max_request_body"`
	// ProviderName is gen_ai.provider.name on spans and metrics. Default llama_cpp.
	ProviderName string `mapstructure:"provider_name"`
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s. (Bodies and streamed
	// answers are not bounded: a generation can take minutes.)
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func defaultGatewayConfig() GatewayConfig {
	return GatewayConfig{
		Endpoint:          "127.0.0.1:8081",
		MaxContentLength:  4096,
		MaxRequestBody:    16 << 20,
		ProviderName:      "llama_cpp",
		ReadHeaderTimeout: 10 * time.Second,
	}
}

func createDefaultConfig() component.Config {
	cc := scraperhelper.NewDefaultControllerConfig()
	cc.CollectionInterval = time.Second
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = 5 * time.Second
	return &Config{
		ControllerConfig:     cc,
		ClientConfig:         client,
		Gateway:              configoptional.Default(defaultGatewayConfig()),
		MetricsBuilderConfig: metadata.NewDefaultMetricsBuilderConfig(),
	}
}

var (
	errNoTarget    = errors.New("one of `launcher` or `endpoint` is required")
	errTwoTargets  = errors.New("`launcher` and `endpoint` are mutually exclusive: the launcher knows its own endpoint")
	errLauncherKey = errors.New("`api_key` is taken from the launcher: remove it or use `endpoint`")
)

// Validate checks the receiver's configuration.
func (cfg *Config) Validate() error {
	var errs []error
	switch {
	case cfg.Launcher == nil && cfg.Endpoint == "":
		errs = append(errs, errNoTarget)
	case cfg.Launcher != nil && cfg.Endpoint != "":
		errs = append(errs, errTwoTargets)
	case cfg.Launcher != nil && cfg.APIKey != "":
		errs = append(errs, errLauncherKey)
	case cfg.Endpoint != "":
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("`endpoint` must be an http(s) URL such as http://127.0.0.1:8080, got %q", cfg.Endpoint))
		}
	}
	return errors.Join(errs...)
}

// Validate checks the gateway's configuration.
func (g *GatewayConfig) Validate() error {
	var errs []error
	if _, port, err := net.SplitHostPort(g.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("`endpoint` must be host:port, got %q", g.Endpoint))
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		errs = append(errs, fmt.Errorf("`endpoint` has an invalid port %q", port))
	}
	if g.MaxContentLength < 0 {
		errs = append(errs, fmt.Errorf("`max_content_length` must not be negative, got %d", g.MaxContentLength))
	}
	if g.MaxRequestBody <= 0 {
		errs = append(errs, errors.New("`max_request_body` must be positive"))
	}
	if strings.TrimSpace(g.ProviderName) == "" {
		errs = append(errs, errors.New("`provider_name` must not be empty"))
	}
	if g.ReadHeaderTimeout <= 0 {
		errs = append(errs, errors.New("`read_header_timeout` must be positive"))
	}
	return errors.Join(errs...)
}
