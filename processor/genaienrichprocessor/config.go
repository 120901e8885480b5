package genaienrichprocessor // import "github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor"

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Config is the genaienrich processor's configuration.
type Config struct {
	Normalize NormalizeConfig `mapstructure:"normalize"`
	// Launcher is the ID of a llamalauncher extension: its model's facts, and its llama-server for
	// /tokenize and /v1/embeddings.
	Launcher *component.ID `mapstructure:"launcher"`
	// Models are further models whose facts are read from their GGUF files.
	Models     []ModelConfig    `mapstructure:"models"`
	Cost       CostConfig       `mapstructure:"cost"`
	Embeddings EmbeddingsConfig `mapstructure:"embeddings"`
	// Correlate pairs an application's client span with the gateway's span of the same call.
	Correlate CorrelateConfig `mapstructure:"correlate"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// NormalizeConfig configures the attribute normalization.
type NormalizeConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// KeepOriginal keeps the source attributes beside the GenAI ones.
	KeepOriginal bool `mapstructure:"keep_original"`
}

// ModelConfig names a model and its GGUF file.
type ModelConfig struct {
	// Name is matched against gen_ai.response.model and gen_ai.request.model.
	Name string `mapstructure:"name"`
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
	// PerMillionTokens prices tokens by model name, in USD per million tokens.
	PerMillionTokens map[string]TokenPrice `mapstructure:"per_million_tokens"`
}

// TokenPrice is USD per million input and output tokens.
type TokenPrice struct {
	Input  float64 `mapstructure:"input"`
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
	Enabled bool `mapstructure:"enabled"`
	// Source is gguf (the mean of the model's own token embeddings over the prompt's tokens) or
	// server (llama-server's /v1/embeddings, which needs --embeddings).
	Source string `mapstructure:"source"`
	// Tokenizer is where tokens come from for source gguf: gguf (in the collector, from the
	// model's own vocabulary; SentencePiece vocabularies only), server (llama-server's
	// /tokenize, one HTTP call per prompt), or auto (gguf when the vocabulary is SentencePiece,
	// else server).
	Tokenizer string `mapstructure:"tokenizer"`
	// Endpoint is the llama-server base URL when there is no launcher.
	Endpoint string `mapstructure:"endpoint"`
	// Window is the number of recent vectors the projection is fitted on.
	Window int `mapstructure:"window"`
	// DropContent removes the captured text once the vector is made: only the point leaves.
	DropContent bool `mapstructure:"drop_content"`
	// Categories are regular expressions tried in order on the text; the first match names the
	// category. Spans that match none get a k-means cluster id.
	Categories []CategoryConfig `mapstructure:"categories"`
	// Clusters is k for the k-means fallback.
	Clusters int `mapstructure:"clusters"`
	// Timeout bounds the calls to llama-server for one batch of spans.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxTextBytes bounds the text used per span.
	MaxTextBytes int `mapstructure:"max_text_bytes"`
}

// CorrelateConfig configures the pairing of an instrumented application's client span with the
// llamacpp gateway's server span of the same call (see internal/correlate).
type CorrelateConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// TTL is how long the first span of a pair is remembered while its counterpart is awaited.
	TTL time.Duration `mapstructure:"ttl"`
	// MaxPending bounds the spans remembered; the oldest is forgotten first.
	MaxPending int `mapstructure:"max_pending"`
	// Fallback pairs spans without a common gen_ai.response.id by models, token counts and time.
	Fallback FallbackConfig `mapstructure:"fallback"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// FallbackConfig configures pairing without a response id.
type FallbackConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// MaxSkew is how far the gateway's span may stick out of the client's (clock differences).
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
	Name  string `mapstructure:"name"`
	Match string `mapstructure:"match"`
}

func createDefaultConfig() component.Config {
	return &Config{
		Normalize: NormalizeConfig{Enabled: true},
		Embeddings: EmbeddingsConfig{
			Source: SourceGGUF, Tokenizer: TokenizerAuto, Window: 2000, DropContent: true, Clusters: 4,
			Timeout: 2 * time.Second, MaxTextBytes: 4096,
		},
		Correlate: CorrelateConfig{
			Enabled: true, TTL: 2 * time.Minute, MaxPending: 10000,
			Fallback: FallbackConfig{Enabled: true, MaxSkew: 100 * time.Millisecond},
		},
	}
}

// Validate checks the configuration; every message names the key.
func (cfg *Config) Validate() error {
	var errs []error
	names := map[string]bool{}
	for i, m := range cfg.Models {
		if m.Name == "" {
			errs = append(errs, fmt.Errorf("models[%d]::name: must be set", i))
		}
		if m.GGUF == "" {
			errs = append(errs, fmt.Errorf("models[%d]::gguf: must be set", i))
		}
		if names[m.Name] && m.Name != "" {
			errs = append(errs, fmt.Errorf("models[%d]::name: %q listed twice", i, m.Name))
		}
		names[m.Name] = true
	}
	if bad(cfg.Cost.GPUHourlyUSD) {
		errs = append(errs, fmt.Errorf("cost::gpu_hourly_usd: must be a number >= 0, got %v", cfg.Cost.GPUHourlyUSD))
	}
	if bad(cfg.Cost.USDPerKWh) {
		errs = append(errs, fmt.Errorf("cost::usd_per_kwh: must be a number >= 0, got %v", cfg.Cost.USDPerKWh))
	}
	for model, p := range cfg.Cost.PerMillionTokens {
		if bad(p.Input) || bad(p.Output) {
			errs = append(errs, fmt.Errorf("cost::per_million_tokens::%s: prices must be numbers >= 0", model))
		}
	}
	e := cfg.Embeddings
	if e.Enabled {
		switch e.Source {
		case SourceGGUF:
			switch e.Tokenizer {
			case TokenizerAuto, TokenizerGGUF, TokenizerServer:
			default:
				errs = append(errs, fmt.Errorf("embeddings::tokenizer: must be auto, gguf or server, got %q", e.Tokenizer))
			}
			if cfg.Launcher == nil && len(cfg.Models) == 0 {
				errs = append(errs, errors.New("embeddings::source: gguf needs a launcher or models (the GGUF whose token embeddings are used)"))
			}
		case SourceServer:
		default:
			errs = append(errs, fmt.Errorf("embeddings::source: must be gguf or server, got %q", e.Source))
		}
		if cfg.Launcher == nil && e.Endpoint == "" {
			errs = append(errs, errors.New("embeddings::endpoint: needed without a launcher (the llama-server that tokenizes or embeds)"))
		}
	}
	if e.Window < 10 {
		errs = append(errs, fmt.Errorf("embeddings::window: must be >= 10, got %d", e.Window))
	}
	if e.Clusters < 1 || e.Clusters > 64 {
		errs = append(errs, fmt.Errorf("embeddings::clusters: must be 1..64, got %d", e.Clusters))
	}
	if e.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("embeddings::timeout: must be > 0, got %v", e.Timeout))
	}
	if e.MaxTextBytes < 1 {
		errs = append(errs, fmt.Errorf("embeddings::max_text_bytes: must be >= 1, got %d", e.MaxTextBytes))
	}
	for i, c := range e.Categories {
		if c.Name == "" {
			errs = append(errs, fmt.Errorf("embeddings::categories[%d]::name: must be set", i))
		}
		if _, err := regexp.Compile(c.Match); err != nil || c.Match == "" {
			errs = append(errs, fmt.Errorf("embeddings::categories[%d]::match: not a regular expression: %q", i, c.Match))
		}
	}
	return errors.Join(errs...)
}

func bad(v float64) bool { return v < 0 || math.IsNaN(v) || math.IsInf(v, 0) }
