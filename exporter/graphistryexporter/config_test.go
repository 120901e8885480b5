// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graphistryexporter

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/internal/configtest"
)

func load(t *testing.T, name string) (*Config, error) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := load(t, "defaults")
	require.NoError(t, err)
	assert.Empty(t, cfg.Endpoint)
	assert.Equal(t, 30*time.Second, cfg.Window)
	assert.Equal(t, 100_000, cfg.MaxSpans)
	assert.Equal(t, SharePrivate, cfg.Share)
	assert.Equal(t, FormatArrow, cfg.File.Format)
	assert.Equal(t, 10, cfg.File.MaxPending)
	assert.True(t, cfg.QueueConfig.HasValue(), "the queue is on by default")
	assert.True(t, cfg.BackOffConfig.Enabled)
	assert.Equal(t, 30*time.Second, cfg.Timeout)
	assert.False(t, cfg.ClientConfig.Auth.HasValue(), "no authenticator extension")

	cfg, err = load(t, "hub_password")
	require.NoError(t, err)
	assert.Equal(t, "https://hub.graphistry.com", cfg.Endpoint)
	assert.Equal(t, "alice", cfg.Auth.Username)
	assert.Equal(t, "s3cret-password", string(cfg.Auth.Password))
	assert.Equal(t, "llm-team", cfg.Auth.OrgName)
	assert.Equal(t, 10*time.Second, cfg.Window)
	assert.Equal(t, 5000, cfg.MaxSpans)
	assert.Equal(t, ShareOrganization, cfg.Share)
	assert.Equal(t, 45*time.Second, cfg.Timeout)
	assert.Equal(t, 10*time.Minute, cfg.BackOffConfig.MaxElapsedTime)
	require.True(t, cfg.QueueConfig.HasValue())
	assert.Equal(t, "file_storage", cfg.QueueConfig.Get().StorageID.String())
	assert.EqualValues(t, 500, cfg.QueueConfig.Get().QueueSize)
	assert.False(t, cfg.ClientConfig.Auth.HasValue(), "`auth` went to the Graphistry account only")

	// window and max_spans become the queue's batching.
	q := windowedQueue(cfg)
	require.True(t, q.Get().Batch.HasValue())
	b := q.Get().Batch.Get()
	assert.Equal(t, 10*time.Second, b.FlushTimeout)
	assert.EqualValues(t, 5000, b.MinSize)
	assert.EqualValues(t, 5000, b.MaxSize)

	cfg, err = load(t, "self_hosted_key")
	require.NoError(t, err)
	assert.Equal(t, "KEYID", cfg.Auth.PersonalKeyID)
	assert.Equal(t, "KEYSECRET", string(cfg.Auth.PersonalKeySecret))
	assert.Equal(t, FormatParquet, cfg.File.Format)
	assert.Equal(t, 3, cfg.File.MaxPending)
	// confighttp's own settings.
	assert.Equal(t, "/etc/otelcol-llt/graphistry-ca.pem", cfg.TLS.CAFile)
	tenant, ok := cfg.Headers.Get("X-Tenant")
	require.True(t, ok)
	assert.Equal(t, "llm-team", string(tenant))
	assert.Equal(t, 30*time.Second, cfg.Timeout, "the default timeout")
}

func TestConfigErrors(t *testing.T) {
	for name, want := range map[string][]string{
		"nothing": {"`endpoint` and `file::path` are both empty"},
		"bad": {
			"`endpoint` must be an http(s) URL such as https://hub.graphistry.com, got \"ftp://example.com\"",
			"`window` must be > 0", "`max_spans` must be >= 1", "`share` must be private, organization or public; got \"everyone\"",
			"file: `format` must be arrow or parquet; got \"csv\"",
			"file: `max_pending` must be >= 0, got -1",
			"auth: set `username` and `password`, or `personal_key_id` and `personal_key_secret`, not both",
		},
		"half_password":    {"auth: `username` and `password` must both be set"},
		"no_auth":          {"`auth` is required with `endpoint`: `username` and `password`, or `personal_key_id` and `personal_key_secret`"},
		"creds_in_url":     {"`endpoint` must not carry credentials"},
		"query_in_url":     {"`endpoint` must not carry a query or fragment"},
		"negative_timeout": {"`timeout` must not be negative, got -1s"},
		"authenticator":    {"`auth` is the Graphistry account", "authenticator extensions are not supported"},
		"unknown_auth_key": {"'auth' has invalid keys: user"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, name)
			require.Error(t, err)
			for _, w := range want {
				configtest.AssertErrorLine(t, err, w)
			}
		})
	}
}

// TestSecretsRedacted: the account's secrets are configopaque, so a printed configuration
// (confmap.Marshal, as `otelcol print-config` does) never shows them.
func TestSecretsRedacted(t *testing.T) {
	cfg, err := load(t, "self_hosted_key")
	require.NoError(t, err)
	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	assert.NotContains(t, fmt.Sprint(conf.ToStringMap()), "KEYSECRET")
	assert.Equal(t, "KEYID", conf.Get("auth::personal_key_id"))
	assert.Equal(t, "https://graphistry.internal", conf.Get("endpoint"))
}
