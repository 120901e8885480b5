// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/gateway"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

// Config is the llamacpp receiver's configuration. Exactly one of Launcher and Endpoint names
// the llama-server to observe.
type Config struct {
	scraperhelper.ControllerConfig `mapstructure:",squash"`
	// ClientConfig is how the receiver reaches llama-server: `endpoint` (e.g.
	// http://127.0.0.1:8080, or host:port for http://host:port, as receiver_creator sets it),
	// `timeout`, `tls`, `headers`, ... Leave `endpoint` empty with `launcher`.
	confighttp.ClientConfig `mapstructure:",squash"`
	// Launcher is the ID of a llamalauncher extension whose llama-server to observe; the receiver
	// then waits for it to be ready and follows it across restarts.
	Launcher *component.ID `mapstructure:"launcher"`
	// APIKey is llama-server's API key (with `endpoint`; a launcher provides its own).
	APIKey configopaque.String `mapstructure:"api_key"`
	// Gateway is the traced OpenAI-compatible proxy in front of llama-server; omit to disable.
	Gateway configoptional.Optional[GatewayConfig] `mapstructure:"gateway"`
	// Metrics switches each metric on or off (`metrics::<name>::enabled`, all on by default):
	// those of documentation.md and the gateway's histograms.
	Metrics MetricsConfig `mapstructure:"metrics"`
	// ResourceAttributes switches each resource attribute on or off (documentation.md).
	ResourceAttributes metadata.ResourceAttributesConfig `mapstructure:"resource_attributes"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// MetricsConfig is the `metrics` section: the switches that mdatagen generates for the metrics
// of metadata.yaml, and those of the gateway's five histograms, which metadata.yaml cannot
// declare: with mdatagen v0.159 a histogram under `metrics:` generates code that does not
// compile (it sets a number value on a histogram point, and has no buckets; see
// open-telemetry/opentelemetry-collector#13575). The gateway aggregates them itself, with the
// GenAI semantic conventions' bucket boundaries (internal/gateway/metrics.go).
type MetricsConfig struct {
	metadata.MetricsConfig `mapstructure:",squash"`
	// GenAIServerRequestDuration switches gen_ai.server.request.duration.
	GenAIServerRequestDuration MetricConfig `mapstructure:"gen_ai.server.request.duration"`
	// GenAIServerTimeToFirstToken switches gen_ai.server.time_to_first_token.
	GenAIServerTimeToFirstToken MetricConfig `mapstructure:"gen_ai.server.time_to_first_token"`
	// GenAIServerTimePerOutputToken switches gen_ai.server.time_per_output_token.
	GenAIServerTimePerOutputToken MetricConfig `mapstructure:"gen_ai.server.time_per_output_token"`
	// GenAIClientTokenUsage switches gen_ai.client.token.usage.
	GenAIClientTokenUsage MetricConfig `mapstructure:"gen_ai.client.token.usage"`
	// LlamacppGatewayRequestDuration switches llamacpp.gateway.request.duration.
	LlamacppGatewayRequestDuration MetricConfig `mapstructure:"llamacpp.gateway.request.duration"`
}

// MetricConfig switches one of the gateway's histograms, as mdatagen's configs do the others.
type MetricConfig struct {
	Enabled bool `mapstructure:"enabled"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func defaultMetricsConfig() MetricsConfig {
	on := MetricConfig{Enabled: true}
	return MetricsConfig{
		MetricsConfig:                  metadata.DefaultMetricsConfig(),
		GenAIServerRequestDuration:     on,
		GenAIServerTimeToFirstToken:    on,
		GenAIServerTimePerOutputToken:  on,
		GenAIClientTokenUsage:          on,
		LlamacppGatewayRequestDuration: on,
	}
}

// metricsBuilderConfig is the scraper's share of Metrics and ResourceAttributes.
func (cfg *Config) metricsBuilderConfig() metadata.MetricsBuilderConfig {
	return metadata.MetricsBuilderConfig{Metrics: cfg.Metrics.MetricsConfig, ResourceAttributes: cfg.ResourceAttributes}
}

// disabledGatewayMetrics names the gateway's metrics switched off.
func (cfg *Config) disabledGatewayMetrics() []string {
	var off []string
	for name, on := range map[string]bool{
		gateway.MetricRequestDuration:    cfg.Metrics.GenAIServerRequestDuration.Enabled,
		gateway.MetricTimeToFirstToken:   cfg.Metrics.GenAIServerTimeToFirstToken.Enabled,
		gateway.MetricTimePerOutputToken: cfg.Metrics.GenAIServerTimePerOutputToken.Enabled,
		gateway.MetricTokenUsage:         cfg.Metrics.GenAIClientTokenUsage.Enabled,
		gateway.MetricGatewayDuration:    cfg.Metrics.LlamacppGatewayRequestDuration.Enabled,
		gateway.MetricGatewayRequests:    cfg.Metrics.LlamacppGatewayRequests.Enabled,
	} {
		if !on {
			off = append(off, name)
		}
	}
	slices.Sort(off)
	return off
}

// GatewayConfig configures the gateway.
type GatewayConfig struct {
	// ServerConfig is where and how the gateway listens, as for any HTTP receiver
	// (confighttp.ServerConfig): `endpoint` (default 127.0.0.1:8081), `transport` (tcp, or unix
	// with a socket path as endpoint), `tls` (cert_file, key_file, client_ca_file, ...), `auth`
	// (`authenticator:` an extension such as bearertokenauth), `cors`, `response_headers`,
	// `include_metadata`, `max_request_body_size` (every request, pass-through ones included;
	// default `max_request_body`), `read_header_timeout` (default 10s), `read_timeout` and
	// `write_timeout` (default 0: none; a generation can take minutes, and a write timeout cuts
	// a streamed answer at that age), `keepalive` (idle_timeout, default 2m),
	// `compression_algorithms` (request bodies it decompresses) and `middlewares`.
	confighttp.ServerConfig `mapstructure:",squash"`
	// CaptureContent records prompts and responses as gen_ai.input.messages and
	// gen_ai.output.messages. Default false: content is opt-in.
	CaptureContent bool `mapstructure:"capture_content"`
	// MaxContentLength truncates each captured content attribute to this many bytes. Default 4096.
	MaxContentLength int `mapstructure:"max_content_length"`
	// MaxRequestBody is the largest inference request body accepted (413 above it), e.g. 16MiB.
	// Default 16MiB.
	MaxRequestBody ByteSize `mapstructure:"max_request_body"`
	// ProviderName is gen_ai.provider.name on spans and metrics. Default llama_cpp.
	ProviderName string `mapstructure:"provider_name"`
	// ServerWait bounds how long an inference request waits for llama-server before it is sent:
	// while the launcher restarts it, or while connecting is refused. Then it is answered 503.
	// 0 turns waiting off (the request fails at once). Default 30s.
	ServerWait time.Duration `mapstructure:"server_wait"`
	// MaxConcurrentRequests bounds the inference requests in flight; one more is answered 429
	// with Retry-After at once, without reaching llama-server. Pass-through requests (health,
	// metrics, props, ...) are not counted. 0: no limit. Default 128.
	MaxConcurrentRequests int `mapstructure:"max_concurrent_requests"`
	// WriteStallTimeout closes the connection of a client that takes no byte of an answer for
	// this long (one write blocked on its full buffers). 0: no bound. Default 1m.
	WriteStallTimeout time.Duration `mapstructure:"write_stall_timeout"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// defaultGatewayConfig is the `gateway` section's defaults: the gateway package's, defined there.
func defaultGatewayConfig() GatewayConfig {
	d := gateway.NewDefaultConfig()
	return GatewayConfig{
		ServerConfig:     d.Server,
		CaptureContent:   d.CaptureContent,
		MaxContentLength: d.MaxContentLength,
		MaxRequestBody:   ByteSize(d.MaxRequestBody),
		ProviderName:     d.ProviderName,
		ServerWait:       d.ServerWait,

		MaxConcurrentRequests: d.MaxConcurrentRequests,
		WriteStallTimeout:     d.WriteStallTimeout,
	}
}

// gatewayConfig is the gateway's Config for this section.
func (g *GatewayConfig) gatewayConfig() gateway.Config {
	return gateway.Config{
		Server:           g.ServerConfig,
		CaptureContent:   g.CaptureContent,
		MaxContentLength: g.MaxContentLength,
		MaxRequestBody:   int64(g.MaxRequestBody),
		ProviderName:     g.ProviderName,
		ServerWait:       g.ServerWait,

		MaxConcurrentRequests: g.MaxConcurrentRequests,
		WriteStallTimeout:     g.WriteStallTimeout,
	}
}

func createDefaultConfig() component.Config {
	cc := scraperhelper.NewDefaultControllerConfig()
	cc.CollectionInterval = time.Second
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = 5 * time.Second
	return &Config{
		ControllerConfig:   cc,
		ClientConfig:       client,
		Gateway:            configoptional.Default(defaultGatewayConfig()),
		Metrics:            defaultMetricsConfig(),
		ResourceAttributes: metadata.DefaultResourceAttributesConfig(),
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
		if _, err := endpointURL(cfg.Endpoint); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// endpointURL is `endpoint` as the base URL the receiver sends requests to, without a trailing
// slash. An endpoint without a scheme, `host:port`, is taken as http://host:port: that is what
// receiver_creator hands a template for what an observer found (host_observer's
// 127.0.0.1:8080, k8s_observer's pod-ip:port), and llama-server serves plain HTTP unless it was
// built with SSL and given a certificate (then the template sets `endpoint: https://` followed by
// the backquoted `endpoint` variable).
func endpointURL(endpoint string) (string, error) {
	raw := endpoint
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("`endpoint` must be an http(s) URL such as http://127.0.0.1:8080, or host:port, got %q", endpoint)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("`endpoint` has an invalid port %q", p)
		}
	}
	return trimSlash(raw), nil
}

// Validate checks the gateway's configuration.
func (g *GatewayConfig) Validate() error {
	var errs []error
	switch g.NetAddr.Transport {
	case confignet.TransportTypeTCP, confignet.TransportTypeTCP4, confignet.TransportTypeTCP6, "":
		if _, port, err := net.SplitHostPort(g.NetAddr.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("`endpoint` must be host:port, got %q", g.NetAddr.Endpoint))
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			errs = append(errs, fmt.Errorf("`endpoint` has an invalid port %q", port))
		}
	case confignet.TransportTypeUnix:
		if g.NetAddr.Endpoint == "" {
			errs = append(errs, errors.New("`endpoint` must be the socket's path with `transport: unix`"))
		}
	default:
		errs = append(errs, fmt.Errorf("`transport` must be tcp, tcp4, tcp6 or unix for HTTP, got %q", g.NetAddr.Transport))
	}
	if g.MaxContentLength < 0 {
		errs = append(errs, fmt.Errorf("`max_content_length` must not be negative, got %d", g.MaxContentLength))
	}
	if g.MaxRequestBody <= 0 {
		errs = append(errs, errors.New("`max_request_body` must be positive"))
	} else if g.MaxRequestBodySize != 0 && g.MaxRequestBodySize < int64(g.MaxRequestBody) {
		errs = append(errs, fmt.Errorf("`max_request_body_size` (%d, every request) must not be below `max_request_body` (%d, inference requests); leave it out to use the same", g.MaxRequestBodySize, g.MaxRequestBody))
	}
	if strings.TrimSpace(g.ProviderName) == "" {
		errs = append(errs, errors.New("`provider_name` must not be empty"))
	}
	if g.ServerWait < 0 {
		errs = append(errs, fmt.Errorf("`server_wait` must not be negative (0: no waiting), got %v", g.ServerWait))
	}
	if g.MaxConcurrentRequests < 0 {
		errs = append(errs, fmt.Errorf("`max_concurrent_requests` must not be negative (0: no limit), got %d", g.MaxConcurrentRequests))
	}
	if g.WriteStallTimeout < 0 {
		errs = append(errs, fmt.Errorf("`write_stall_timeout` must not be negative (0: no bound), got %v", g.WriteStallTimeout))
	}
	if g.ReadHeaderTimeout <= 0 {
		errs = append(errs, errors.New("`read_header_timeout` must be positive"))
	}
	return errors.Join(errs...)
}
