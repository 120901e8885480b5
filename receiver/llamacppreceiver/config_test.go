// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/gateway"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	endpoint := createDefaultConfig().(*Config)
	endpoint.Endpoint = "http://127.0.0.1:8080"
	endpoint.APIKey = "secret"
	endpoint.CollectionInterval = 5 * time.Second

	hostPort := createDefaultConfig().(*Config)
	hostPort.Endpoint = "127.0.0.1:8080"

	launcherID := component.MustNewID("llamalauncher")
	withLauncher := createDefaultConfig().(*Config)
	withLauncher.Launcher = &launcherID
	gw := defaultGatewayConfig()
	gw.NetAddr.Endpoint = "127.0.0.1:9091"
	gw.CaptureContent = true
	gw.MaxContentLength = 100
	gw.MaxRequestBody = 1 << 20
	gw.MaxConcurrentRequests = 1000
	gw.WriteStallTimeout = 5 * time.Second
	withLauncher.Gateway = configoptional.Some(gw)

	gatewayDefaults := createDefaultConfig().(*Config)
	gatewayDefaults.Endpoint = "http://127.0.0.1:8080"
	gatewayDefaults.Gateway = configoptional.Some(defaultGatewayConfig())

	unlimited := createDefaultConfig().(*Config)
	unlimited.Endpoint = "http://127.0.0.1:8080"
	gwUnlimited := defaultGatewayConfig()
	gwUnlimited.MaxConcurrentRequests = 0
	gwUnlimited.WriteStallTimeout = 0
	unlimited.Gateway = configoptional.Some(gwUnlimited)

	tests := []struct {
		name     string
		expected *Config
		errs     []string
	}{
		{name: "endpoint", expected: endpoint},
		{name: "launcher", expected: withLauncher},
		{name: "gateway_defaults", expected: gatewayDefaults},
		{name: "no_target", errs: []string{"one of `launcher` or `endpoint` is required"}},
		{name: "both_targets", errs: []string{"`launcher` and `endpoint` are mutually exclusive"}},
		{name: "bad_endpoint", errs: []string{"`endpoint` must be an http(s) URL such as http://127.0.0.1:8080, or host:port, got \"ftp://127.0.0.1:8080\""}},
		{name: "host_port", expected: hostPort},
		{name: "bad_gateway", errs: []string{
			"gateway: `endpoint` must be host:port, got \"nowhere\"",
			"`max_content_length` must not be negative, got -1",
			"`provider_name` must not be empty",
		}},
		{name: "bad_size", errs: []string{"invalid size \"lots\": want a number of bytes such as 1048576, 16MiB or 10MB"}},
		{name: "unknown_key", errs: []string{"has invalid keys: capture_contents"}},
		{name: "bad_transport", errs: []string{"gateway: `transport` must be tcp, tcp4, tcp6 or unix for HTTP, got \"udp\""}},
		{name: "bad_unix", errs: []string{"gateway: `endpoint` must be the socket's path with `transport: unix`"}},
		{name: "bad_body_limits", errs: []string{
			"gateway: `max_request_body_size` (1024, every request) must not be below `max_request_body` (1048576, inference requests)",
		}},
		{name: "bad_read_header_timeout", errs: []string{"gateway: `read_header_timeout` must be positive"}},
		{name: "gateway_unlimited", expected: unlimited},
		{name: "bad_limits", errs: []string{
			"gateway: `max_concurrent_requests` must not be negative (0: no limit), got -1",
			"`write_stall_timeout` must not be negative (0: no bound), got -1s",
		}},
		{name: "unknown_metric", errs: []string{"has invalid keys: gen_ai.server.nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, tt.name).String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = confmap.Validate(cfg)
			}
			if tt.expected == nil {
				require.Error(t, err)
				for _, e := range tt.errs {
					assert.ErrorContains(t, err, e)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestDefaultConfigHasNoGateway(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.False(t, cfg.Gateway.HasValue(), "the gateway is opt-in")
	assert.Equal(t, time.Second, cfg.CollectionInterval)
}

// TestEndpointURL: `endpoint` is a URL, or host:port as receiver_creator hands it over for what an
// observer found, which is taken as plain HTTP.
func TestEndpointURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080":         "http://127.0.0.1:8080",
		"localhost:8080":         "http://localhost:8080",
		"10.1.2.3:8080":          "http://10.1.2.3:8080",
		"[::1]:8080":             "http://[::1]:8080",
		"llama.default.svc":      "http://llama.default.svc",
		"http://127.0.0.1:8080/": "http://127.0.0.1:8080",
		"https://llama:8443":     "https://llama:8443",
		"http://h:1/prefix/":     "http://h:1/prefix",
	} {
		got, err := endpointURL(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"ftp://h:21", ":8080", "http://", "h:99999", "h:0", "h:port", "http://[::1", "unix:///tmp/llama.sock"} {
		_, err := endpointURL(bad)
		assert.Error(t, err, bad)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"512": 512, "16MiB": 16 << 20, "10MB": 10e6, "2 KiB": 2048, "1GB": 1e9, "7B": 7} {
		var b ByteSize
		require.NoError(t, b.UnmarshalText([]byte(in)), in)
		assert.Equal(t, want, b, in)
	}
	for _, bad := range []string{"", "MiB", "-1", "1.5MiB", "99999999999999999999", "4611686018427387904GiB"} {
		var b ByteSize
		assert.Error(t, b.UnmarshalText([]byte(bad)), bad)
	}
}

// loadCase unmarshals and validates one entry of testdata/config.yaml.
func loadCase(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	return cfg
}

// TestGatewayServerConfig: the `gateway` section takes confighttp's server keys (squashed) beside
// its own, and keeps the gateway's defaults for what it does not set.
func TestGatewayServerConfig(t *testing.T) {
	cfg := loadCase(t, "gateway_tls_auth")
	require.True(t, cfg.Gateway.HasValue())
	g := cfg.Gateway.Get()
	assert.Equal(t, "0.0.0.0:8443", g.NetAddr.Endpoint)
	require.True(t, g.TLS.HasValue())
	assert.Equal(t, "/etc/llt/gateway.crt", g.TLS.Get().CertFile)
	assert.Equal(t, "/etc/llt/gateway.key", g.TLS.Get().KeyFile)
	require.True(t, g.Auth.HasValue())
	assert.Equal(t, component.MustNewID("bearertokenauth"), g.Auth.Get().Config.AuthenticatorID)
	require.True(t, g.CORS.HasValue())
	assert.Equal(t, []string{"https://app.example"}, g.CORS.Get().AllowedOrigins)
	assert.True(t, g.CaptureContent)
	// What the section leaves out keeps the gateway's defaults, not confighttp's: no write timeout.
	assert.Equal(t, 10*time.Second, g.ReadHeaderTimeout)
	assert.Zero(t, g.WriteTimeout)
	assert.Zero(t, g.ReadTimeout)
	assert.Equal(t, ByteSize(16<<20), g.MaxRequestBody)
	assert.Equal(t, 4096, g.MaxContentLength)
	assert.Equal(t, "llama_cpp", g.ProviderName)

	gc := g.gatewayConfig()
	assert.Equal(t, g.ServerConfig, gc.Server)
	assert.True(t, gc.CaptureContent)
	assert.EqualValues(t, 16<<20, gc.MaxRequestBody)

	unix := loadCase(t, "gateway_unix").Gateway.Get()
	assert.Equal(t, confignet.TransportTypeUnix, unix.NetAddr.Transport)
	assert.Equal(t, "/run/llt/gateway.sock", unix.NetAddr.Endpoint)
}

// TestGatewayDefaultsDefinedOnce: the `gateway` section's defaults are the gateway package's.
func TestGatewayDefaultsDefinedOnce(t *testing.T) {
	d := defaultGatewayConfig()
	assert.Equal(t, gateway.NewDefaultConfig(), d.gatewayConfig())
	assert.Equal(t, "127.0.0.1:8081", d.NetAddr.Endpoint)
	assert.Equal(t, confignet.TransportTypeTCP, d.NetAddr.Transport)
	assert.Zero(t, d.WriteTimeout, "confighttp's default 30s write timeout would cut streams")
	assert.NoError(t, d.Validate())
}

// TestMetricsSwitches: `metrics::<name>::enabled` switches the gateway's histograms and its
// counter as it does the scraped metrics.
func TestMetricsSwitches(t *testing.T) {
	assert.Empty(t, createDefaultConfig().(*Config).disabledGatewayMetrics(), "all on by default")

	cfg := loadCase(t, "metrics_switches")
	assert.False(t, cfg.Metrics.GenAIServerTimeToFirstToken.Enabled)
	assert.False(t, cfg.Metrics.LlamacppGatewayRequestDuration.Enabled)
	assert.False(t, cfg.Metrics.LlamacppGatewayRequests.Enabled)
	assert.False(t, cfg.Metrics.LlamacppSlotBusy.Enabled)
	assert.True(t, cfg.Metrics.GenAIServerRequestDuration.Enabled)
	assert.True(t, cfg.Metrics.LlamacppSlotsBusy.Enabled)
	assert.Equal(t, []string{
		"gen_ai.server.time_to_first_token", "llamacpp.gateway.request.duration", "llamacpp.gateway.requests",
	}, cfg.disabledGatewayMetrics())
	mbc := cfg.metricsBuilderConfig()
	assert.False(t, mbc.Metrics.LlamacppSlotBusy.Enabled, "the scraper gets the generated switches")
	assert.True(t, mbc.Metrics.LlamacppSlotsBusy.Enabled)
}

// TestGatewayLimitDefaults: the gateway's load limits are on by default, as documented.
func TestGatewayLimitDefaults(t *testing.T) {
	g := defaultGatewayConfig()
	assert.Equal(t, 128, g.MaxConcurrentRequests)
	assert.Equal(t, time.Minute, g.WriteStallTimeout)
	gc := g.gatewayConfig()
	assert.Equal(t, gateway.DefaultMaxConcurrentRequests, gc.MaxConcurrentRequests)
	assert.Equal(t, gateway.DefaultWriteStallTimeout, gc.WriteStallTimeout)
}
