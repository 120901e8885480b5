package llamacppreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	endpoint := createDefaultConfig().(*Config)
	endpoint.Endpoint = "http://127.0.0.1:8080"
	endpoint.APIKey = "secret"
	endpoint.CollectionInterval = 5 * time.Second

	launcherID := component.MustNewID("llamalauncher")
	withLauncher := createDefaultConfig().(*Config)
	withLauncher.Launcher = &launcherID
	gw := defaultGatewayConfig()
	gw.Endpoint = "127.0.0.1:9091"
	gw.CaptureContent = true
	gw.MaxContentLength = 100
	gw.MaxRequestBody = 1 << 20
	withLauncher.Gateway = configoptional.Some(gw)

	gatewayDefaults := createDefaultConfig().(*Config)
	gatewayDefaults.Endpoint = "http://127.0.0.1:8080"
	gatewayDefaults.Gateway = configoptional.Some(defaultGatewayConfig())

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
		{name: "bad_endpoint", errs: []string{"`endpoint` must be an http(s) URL such as http://127.0.0.1:8080, got \"127.0.0.1:8080\""}},
		{name: "bad_gateway", errs: []string{
			"gateway: `endpoint` must be host:port, got \"nowhere\"",
			"`max_content_length` must not be negative, got -1",
			"`provider_name` must not be empty",
		}},
		{name: "bad_size", errs: []string{"invalid size \"lots\": want a number of bytes such as 1048576, 16MiB or 10MB"}},
		{name: "unknown_key", errs: []string{"has invalid keys: capture_contents"}},
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
