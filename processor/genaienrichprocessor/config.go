// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor // import "github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor"

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/embed"
)

// Config is the genaienrich processor's configuration. The defaults are in createDefaultConfig.
type Config struct {
	// Normalize rewrites foreign attributes to the GenAI semantic conventions.
	Normalize NormalizeConfig `mapstructure:"normalize"`
	// Launcher is the ID of a llamalauncher extension: its model's facts, and its llama-server for
	// /tokenize and /v1/embeddings.
	Launcher *component.ID `mapstructure:"launcher"`
	// Models are further models whose facts are read from their GGUF files. Names are unique.
	Models []ModelConfig `mapstructure:"models"`
	// Cost prices requests by GPU time, GPU energy or tokens. Default: all off.
	Cost CostConfig `mapstructure:"cost"`
	// Embeddings makes 3D points of the prompts. Default: off.
	Embeddings EmbeddingsConfig `mapstructure:"embeddings"`
	// Correlate pairs an application's client span with the gateway's span of the same call.
	Correlate CorrelateConfig `mapstructure:"correlate"`
	// Attention computes, off the hot path, the attention matrices of sampled prompts from the
	// model's own weights and sends them on as a span (llt.attention). Default: off.
	Attention AttentionConfig `mapstructure:"attention"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// NormalizeConfig configures the attribute normalization.
type NormalizeConfig struct {
	// Enabled turns the normalization on. Default true.
	Enabled bool `mapstructure:"enabled"`
	// KeepOriginal keeps the source attributes beside the GenAI ones. Default false.
	KeepOriginal bool `mapstructure:"keep_original"`
}

// ModelConfig names a model and its GGUF file.
type ModelConfig struct {
	// Name is matched against gen_ai.response.model and gen_ai.request.model. Required.
	Name string `mapstructure:"name"`
	// GGUF is the model's file. Required.
	GGUF string `mapstructure:"gguf"`
}

// CostConfig configures the cost estimate.
type CostConfig struct {
	// GPUHourlyUSD prices GPU time for local models: a request costs its duration times this
	// hourly price divided by the requests running at the same time. 0 turns it off.
	GPUHourlyUSD float64 `mapstructure:"gpu_hourly_usd"`
	// USDPerKWh prices the GPU energy of a request (llt.gen_ai.gpu.energy, which the llamacpp
	// receiver's gateway writes when the nvml receiver and the launcher measure it), added to
	// the GPU-time cost. 0 turns it off.
	USDPerKWh float64 `mapstructure:"usd_per_kwh"`
	// PerMillionTokens prices tokens by model name, in USD per million tokens. Prices are >= 0.
	PerMillionTokens map[string]TokenPrice `mapstructure:"per_million_tokens"`
}

// TokenPrice is USD per million input and output tokens.
type TokenPrice struct {
	// Input is the price of a million input tokens (>= 0).
	Input float64 `mapstructure:"input"`
	// Output is the price of a million output tokens (>= 0).
	Output float64 `mapstructure:"output"`
}

// Embedding sources.
const (
	SourceGGUF   = "gguf"
	SourceServer = "server"
)

// Values of embeddings::tokenizer.
const (
	TokenizerAuto   = "auto"
	TokenizerGGUF   = "gguf"
	TokenizerServer = "server"
)

// EmbeddingsConfig configures the 3D embedding projections.
type EmbeddingsConfig struct {
	// Enabled turns the points on. Default false.
	Enabled bool `mapstructure:"enabled"`
	// Source is gguf (the mean of the model's own token embeddings over the prompt's tokens) or
	// server (llama-server's /v1/embeddings, which needs --embeddings). Default gguf.
	Source string `mapstructure:"source"`
	// Tokenizer is where tokens come from for source gguf: gguf (in the collector, from the
	// model's own vocabulary; SentencePiece vocabularies only), server (llama-server's
	// /tokenize, one HTTP call per prompt), or auto (gguf when the vocabulary is SentencePiece,
	// else server). Default auto.
	Tokenizer string `mapstructure:"tokenizer"`
	// Endpoint is the llama-server base URL when there is no launcher.
	Endpoint string `mapstructure:"endpoint"`
	// Window is the number of recent vectors the projection is fitted on (>= 10). Default 2000.
	Window int `mapstructure:"window"`
	// DropContent removes the captured text once the vector is made: only the point leaves.
	// Default true.
	DropContent bool `mapstructure:"drop_content"`
	// Categories are regular expressions tried in order on the text; the first match names the
	// category. Spans that match none get a k-means cluster id.
	Categories []CategoryConfig `mapstructure:"categories"`
	// Clusters is k for the k-means fallback (1..64). Default 4.
	Clusters int `mapstructure:"clusters"`
	// Timeout bounds the calls to llama-server for one batch of spans. Default 2s.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxTextBytes bounds the text used per span. Default 4096.
	MaxTextBytes int `mapstructure:"max_text_bytes"`
}

// CorrelateConfig configures the pairing of an instrumented application's client span with the
// llamacpp gateway's server span of the same call (see internal/correlate).
type CorrelateConfig struct {
	// Enabled turns the pairing on. Default true.
	Enabled bool `mapstructure:"enabled"`
	// TTL is how long the first span of a pair is remembered while its counterpart is awaited.
	// Default 2m.
	TTL time.Duration `mapstructure:"ttl"`
	// MaxPending bounds the spans remembered; the oldest is forgotten first. Default 10000.
	MaxPending int `mapstructure:"max_pending"`
	// Fallback pairs spans without a common gen_ai.response.id by models, token counts and time.
	Fallback FallbackConfig `mapstructure:"fallback"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// FallbackConfig configures pairing without a response id.
type FallbackConfig struct {
	// Enabled turns the fallback on. Default true.
	Enabled bool `mapstructure:"enabled"`
	// MaxSkew is how far the gateway's span may stick out of the client's (clock differences).
	// Default 100ms.
	MaxSkew time.Duration `mapstructure:"max_skew"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate checks the correlate section; messages name the key.
func (c *CorrelateConfig) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if c.TTL <= 0 {
		errs = append(errs, fmt.Errorf("`ttl` must be > 0, got %v", c.TTL))
	}
	if c.MaxPending < 1 {
		errs = append(errs, fmt.Errorf("`max_pending` must be >= 1, got %d", c.MaxPending))
	}
	return errors.Join(errs...)
}

// Validate checks the fallback section; messages name the key.
func (c *FallbackConfig) Validate() error {
	if c.MaxSkew < 0 {
		return fmt.Errorf("`max_skew` must be >= 0, got %v", c.MaxSkew)
	}
	return nil
}

// CategoryConfig is one category rule.
type CategoryConfig struct {
	// Name is the category of the text that matches. Required.
	Name string `mapstructure:"name"`
	// Match is a regular expression (Go syntax). Required.
	Match string `mapstructure:"match"`
}

func createDefaultConfig() component.Config {
	return &Config{
		Normalize: NormalizeConfig{Enabled: true},
		Embeddings: EmbeddingsConfig{
			Source: SourceGGUF, Tokenizer: TokenizerAuto, Window: 2000, DropContent: true, Clusters: embed.DefaultClusters,
			Timeout: 2 * time.Second, MaxTextBytes: 4096,
		},
		Attention: AttentionConfig{
			SampleEvery: 10, Interval: 10 * time.Second, Layers: []int{0, -1}, MaxLayers: 8,
			MaxTokens: 64, QueueSize: 1, Timeout: 2 * time.Minute,
		},
		Correlate: CorrelateConfig{
			Enabled: true, TTL: 2 * time.Minute, MaxPending: 10000,
			Fallback: FallbackConfig{Enabled: true, MaxSkew: 100 * time.Millisecond},
		},
	}
}

// Validate checks what involves more than one section: model names, and what embeddings need
// from `launcher` and `models`. Every section checks its own keys in its own Validate, and
// confmap.Validate puts the section's path in front of its messages.
func (cfg *Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for _, m := range cfg.Models {
		if m.Name != "" && seen[m.Name] {
			errs = append(errs, fmt.Errorf("`models` lists %q twice", m.Name))
		}
		seen[m.Name] = true
	}
	if cfg.Attention.Enabled && cfg.Launcher == nil && len(cfg.Models) == 0 {
		errs = append(errs, errAttentionWithoutModel)
	}
	if e := cfg.Embeddings; e.Enabled && cfg.Launcher == nil {
		if e.Source == SourceGGUF && len(cfg.Models) == 0 {
			errs = append(errs, errGGUFWithoutModel)
		}
		if e.Endpoint == "" {
			errs = append(errs, errNoEmbeddingsServer)
		}
	}
	return errors.Join(errs...)
}

var (
	errAttentionWithoutModel = errors.New("`attention` needs a `launcher` or `models` (the GGUF whose weights compute the attention)")
	errGGUFWithoutModel      = errors.New("`embeddings::source` gguf needs a `launcher` or `models` (the GGUF whose token embeddings are used)")
	errNoEmbeddingsServer    = errors.New("`embeddings::endpoint` is needed without a `launcher` (the llama-server that tokenizes or embeds)")
)

// Validate checks one model.
func (m *ModelConfig) Validate() error {
	var errs []error
	if m.Name == "" {
		errs = append(errs, errors.New("`name` must be set"))
	}
	if m.GGUF == "" {
		errs = append(errs, errors.New("`gguf` must be set"))
	}
	return errors.Join(errs...)
}

// Validate checks the prices; per_million_tokens checks itself (TokenPrice.Validate).
func (c *CostConfig) Validate() error {
	var errs []error
	if bad(c.GPUHourlyUSD) {
		errs = append(errs, fmt.Errorf("`gpu_hourly_usd` must be a number >= 0, got %v", c.GPUHourlyUSD))
	}
	if bad(c.USDPerKWh) {
		errs = append(errs, fmt.Errorf("`usd_per_kwh` must be a number >= 0, got %v", c.USDPerKWh))
	}
	return errors.Join(errs...)
}

// Validate checks one model's token prices.
func (p *TokenPrice) Validate() error {
	var errs []error
	if bad(p.Input) {
		errs = append(errs, fmt.Errorf("`input` must be a number >= 0, got %v", p.Input))
	}
	if bad(p.Output) {
		errs = append(errs, fmt.Errorf("`output` must be a number >= 0, got %v", p.Output))
	}
	return errors.Join(errs...)
}

// Validate checks the embeddings section; source and tokenizer only when it is enabled. What it
// needs from `launcher` and `models` is checked by Config.Validate.
func (e *EmbeddingsConfig) Validate() error {
	var errs []error
	if e.Enabled {
		switch e.Source {
		case SourceGGUF:
			switch e.Tokenizer {
			case TokenizerAuto, TokenizerGGUF, TokenizerServer:
			default:
				errs = append(errs, fmt.Errorf("`tokenizer` must be auto, gguf or server, got %q", e.Tokenizer))
			}
		case SourceServer:
		default:
			errs = append(errs, fmt.Errorf("`source` must be gguf or server, got %q", e.Source))
		}
	}
	if e.Window < 10 {
		errs = append(errs, fmt.Errorf("`window` must be >= 10, got %d", e.Window))
	}
	if e.Clusters < 1 || e.Clusters > embed.MaxClusters {
		errs = append(errs, fmt.Errorf("`clusters` must be 1..%d, got %d", embed.MaxClusters, e.Clusters))
	}
	if e.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("`timeout` must be > 0, got %v", e.Timeout))
	}
	if e.MaxTextBytes < 1 {
		errs = append(errs, fmt.Errorf("`max_text_bytes` must be >= 1, got %d", e.MaxTextBytes))
	}
	return errors.Join(errs...)
}

// Validate checks one category rule.
func (c *CategoryConfig) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("`name` must be set"))
	}
	if c.Match == "" {
		errs = append(errs, errors.New("`match` must be set"))
	} else if _, err := regexp.Compile(c.Match); err != nil {
		errs = append(errs, fmt.Errorf("`match` is not a regular expression: %q", c.Match))
	}
	return errors.Join(errs...)
}

func bad(v float64) bool { return v < 0 || math.IsNaN(v) || math.IsInf(v, 0) }

// AttentionConfig samples prompts and computes their attention matrices with the model's own
// weights, in the collector, one at a time on a background worker.
type AttentionConfig struct {
	// Enabled turns sampling on. It needs a model (launcher or models[0]), prompts captured on
	// the spans (the gateway's capture_content, or an SDK's content capture) and a llama or qwen2
	// model in a type the collector dequantizes (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K).
	Enabled bool `mapstructure:"enabled"`
	// SampleEvery takes one prompt in SampleEvery (the first one, then every SampleEvery-th);
	// default 10.
	SampleEvery int `mapstructure:"sample_every"`
	// Interval is the least time between two samples; default 10s.
	Interval time.Duration `mapstructure:"interval"`
	// Layers are the layers whose attention is sent, 0-based; a negative index counts from the
	// last computed layer (-1 is the last). Default [0, -1]: the first and the last computed.
	Layers []int `mapstructure:"layers"`
	// MaxLayers bounds the blocks the forward pass computes, from the first (the cost grows with
	// each); 0 computes all of them. Default 8.
	MaxLayers int `mapstructure:"max_layers"`
	// MaxTokens is the most positions: the prompt's first MaxTokens tokens, BOS included;
	// default 64, at most 256.
	MaxTokens int `mapstructure:"max_tokens"`
	// QueueSize is how many sampled prompts may wait for the worker; a sample that finds the queue
	// full is dropped and counted (otelcol_genaienrich_attention_dropped). Default 1.
	QueueSize int `mapstructure:"queue_size"`
	// Timeout bounds one sample's computation; default 2m.
	Timeout time.Duration `mapstructure:"timeout"`

	_ struct{}
}

// maxAttentionTokens bounds max_tokens: the matrices grow with its square (256 tokens: 33k values
// per head).
const maxAttentionTokens = 256

// Validate checks the attention settings when sampling is on.
func (c *AttentionConfig) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if c.SampleEvery < 1 {
		errs = append(errs, fmt.Errorf("`sample_every` must be >= 1, got %d", c.SampleEvery))
	}
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("`interval` must be >= 0, got %v", c.Interval))
	}
	if len(c.Layers) == 0 {
		errs = append(errs, errors.New("`layers` must name at least one layer (e.g. [0, -1])"))
	}
	if c.MaxLayers < 0 {
		errs = append(errs, fmt.Errorf("`max_layers` must be >= 0 (0: all), got %d", c.MaxLayers))
	}
	if c.MaxTokens < 2 || c.MaxTokens > maxAttentionTokens {
		errs = append(errs, fmt.Errorf("`max_tokens` must be between 2 and %d, got %d", maxAttentionTokens, c.MaxTokens))
	}
	if c.QueueSize < 1 {
		errs = append(errs, fmt.Errorf("`queue_size` must be >= 1, got %d", c.QueueSize))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("`timeout` must be > 0, got %v", c.Timeout))
	}
	return errors.Join(errs...)
}
