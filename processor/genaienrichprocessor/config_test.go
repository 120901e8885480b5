// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/llamatelemetry/otelcol-llt/internal/configtest"
	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	launcher := component.MustNewID("llamalauncher")

	all := createDefaultConfig().(*Config)
	all.Normalize = NormalizeConfig{Enabled: false, KeepOriginal: true}
	all.Launcher = &launcher
	all.Models = []ModelConfig{{Name: "qwen2.5-3b", GGUF: "/models/qwen2.5-3b-instruct-q4_k_m.gguf"}}
	all.Cost = CostConfig{GPUHourlyUSD: 3.5, USDPerKWh: 0.12, PerMillionTokens: map[string]TokenPrice{"gpt-4o-mini": {Input: 0.15, Output: 0.6}}}
	all.Embeddings = EmbeddingsConfig{
		Enabled: true, Source: SourceServer, Tokenizer: TokenizerAuto, Window: 500, DropContent: false,
		Categories: []CategoryConfig{{Name: "code", Match: "(?i)func|class|def "}}, Clusters: 3,
		Timeout: 500 * time.Millisecond, MaxTextBytes: 1000,
	}
	all.Correlate = CorrelateConfig{Enabled: true, TTL: 30 * time.Second, MaxPending: 500,
		Fallback: FallbackConfig{Enabled: false, MaxSkew: time.Second}}
	all.Attention = AttentionConfig{Enabled: true, SampleEvery: 50, Interval: time.Minute, Layers: []int{0, 3, -1},
		MaxLayers: 4, MaxTokens: 32, QueueSize: 2, Timeout: 30 * time.Second}

	tests := []struct {
		name     string
		expected *Config
		errs     []string
	}{
		{name: "defaults", expected: createDefaultConfig().(*Config)},
		{name: "all", expected: all},
		{name: "bad", errs: []string{
			"models::0: `name` must be set", "models::0: `gguf` must be set", "`models` lists \"a\" twice",
			"cost: `gpu_hourly_usd` must be a number >= 0", "cost: `usd_per_kwh` must be a number >= 0, got -0.5",
			"cost::per_million_tokens::m: `input` must be a number >= 0",
			"embeddings: `source` must be gguf or server, got \"magic\"", "`embeddings::endpoint` is needed without a `launcher`",
			"embeddings: `window` must be >= 10", "embeddings: `clusters` must be 1..64", "embeddings: `timeout` must be > 0",
			"embeddings: `max_text_bytes` must be >= 1", "embeddings::categories::0: `name` must be set",
			"embeddings::categories::0: `match` is not a regular expression: \"(unclosed\"",
			"correlate: `ttl` must be > 0", "correlate: `max_pending` must be >= 1",
			"correlate::fallback: `max_skew` must be >= 0",
		}},
		{name: "bad_attention", errs: []string{
			"`attention` needs a `launcher` or `models`",
			"attention: `sample_every` must be >= 1, got 0", "attention: `interval` must be >= 0, got -1s",
			"attention: `layers` must name at least one layer", "attention: `max_layers` must be >= 0 (0: all), got -1",
			"attention: `max_tokens` must be between 2 and 256, got 1000", "attention: `queue_size` must be >= 1, got 0",
			"attention: `timeout` must be > 0, got 0s",
		}},
		{name: "bad_tokenizer", errs: []string{"embeddings: `tokenizer` must be auto, gguf or server, got \"sentencepiece\""}},
		{name: "gguf_without_model", errs: []string{"`embeddings::source` gguf needs a `launcher` or `models`"}},
		{name: "unknown_key", errs: []string{"has invalid keys: normalise"}},
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
			if len(tt.errs) > 0 {
				require.Error(t, err)
				for _, want := range tt.errs {
					configtest.AssertErrorLine(t, err, want)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestDefaultsArePrivate(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.False(t, cfg.Embeddings.Enabled, "embeddings are opt-in")
	assert.True(t, cfg.Embeddings.DropContent, "when turned on, only the point leaves")
	assert.True(t, cfg.Normalize.Enabled)
	assert.Zero(t, cfg.Cost.GPUHourlyUSD)
	assert.False(t, cfg.Attention.Enabled, "attention sampling is opt-in")
}
