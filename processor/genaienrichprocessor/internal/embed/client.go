// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
)

// Tokenizer turns text into the token ids of a model.
type Tokenizer interface {
	Tokenize(ctx context.Context, text string) ([]int32, error)
}

// Embedder turns text into a vector.
type Embedder interface {
	Embed(ctx context.Context, text string) ([]float32, error)
}

// ServerTokenizer is a [Tokenizer] backed by llama-server's POST /tokenize.
// It sends {"content": text, "add_special": false, "parse_special": false}:
// no BOS token is added (it would be the same row in every mean), and text
// that looks like a special token ("<|im_start|>") is tokenized as the plain
// text it is. The zero value is not usable: BaseURL must be set. A
// ServerTokenizer is safe for concurrent use.
type ServerTokenizer struct {
	// BaseURL is the server's base URL, such as http://127.0.0.1:8080.
	BaseURL string
	// APIKey, when set, is sent as "Authorization: Bearer APIKey".
	APIKey string
	// Client sends the requests; nil means a client with a 30 s timeout.
	Client *http.Client
	// MaxResponseBytes bounds the response body; 0 means
	// DefaultMaxResponseBytes. A longer body is an error.
	MaxResponseBytes int64
	// MaxTextBytes bounds the text sent; 0 means DefaultMaxTextBytes.
	// Longer text is cut at a UTF-8 boundary.
	MaxTextBytes int
}

// Tokenize returns the token ids of text.
func (s *ServerTokenizer) Tokenize(ctx context.Context, text string) ([]int32, error) {
	in := struct {
		Content      string `json:"content"`
		AddSpecial   bool   `json:"add_special"`
		ParseSpecial bool   `json:"parse_special"`
	}{Content: truncateUTF8(text, orDefault(s.MaxTextBytes, DefaultMaxTextBytes))}
	var out struct {
		Tokens *[]int32 `json:"tokens"`
	}
	if err := postJSON(ctx, s.Client, s.BaseURL, "/tokenize", s.APIKey, s.MaxResponseBytes, in, &out); err != nil {
		return nil, err
	}
	if out.Tokens == nil {
		return nil, errors.New("embed: POST /tokenize: response has no \"tokens\" array")
	}
	return *out.Tokens, nil
}

// ServerEmbedder is an [Embedder] backed by an OpenAI-compatible
// POST /v1/embeddings, such as llama-server started with --embeddings and a
// pooling other than none. It sends {"input": text} (and "model" when Model
// is set) and returns data[0].embedding. The zero value is not usable:
// BaseURL must be set. A ServerEmbedder is safe for concurrent use.
type ServerEmbedder struct {
	// BaseURL is the server's base URL, such as http://127.0.0.1:8080.
	BaseURL string
	// APIKey, when set, is sent as "Authorization: Bearer APIKey".
	APIKey string
	// Model, when set, is sent as "model".
	Model string
	// Client sends the requests; nil means a client with a 30 s timeout.
	Client *http.Client
	// MaxResponseBytes bounds the response body; 0 means
	// DefaultMaxResponseBytes. A longer body is an error.
	MaxResponseBytes int64
	// MaxTextBytes bounds the text sent; 0 means DefaultMaxTextBytes.
	// Longer text is cut at a UTF-8 boundary. The server may still reject
	// text longer than its context.
	MaxTextBytes int
}

// Embed returns the embedding of text.
func (s *ServerEmbedder) Embed(ctx context.Context, text string) ([]float32, error) {
	in := struct {
		Input string `json:"input"`
		Model string `json:"model,omitempty"`
	}{Input: truncateUTF8(text, orDefault(s.MaxTextBytes, DefaultMaxTextBytes)), Model: s.Model}
	var out struct {
		Data []struct {
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
	}
	if err := postJSON(ctx, s.Client, s.BaseURL, "/v1/embeddings", s.APIKey, s.MaxResponseBytes, in, &out); err != nil {
		return nil, err
	}
	if len(out.Data) == 0 {
		return nil, errors.New("embed: POST /v1/embeddings: response has no data")
	}
	e := out.Data[0].Embedding
	if len(e) == 0 {
		return nil, errors.New("embed: POST /v1/embeddings: data[0].embedding is empty")
	}
	v := make([]float32, len(e))
	for i, x := range e {
		v[i] = float32(x)
		if math.IsInf(float64(v[i]), 0) {
			return nil, fmt.Errorf("embed: POST /v1/embeddings: data[0].embedding[%d] = %g is out of float32 range", i, x)
		}
	}
	return v, nil
}

// TokenMeanEmbedder is an [Embedder] that tokenizes text with Tokenizer
// and returns the mean of the tokens' rows of Embeddings (see
// [TokenEmbeddings.Mean]). The tokenizer must be the one of the model the
// embeddings come from.
type TokenMeanEmbedder struct {
	Tokenizer  Tokenizer
	Embeddings *TokenEmbeddings
}

// Embed returns the mean token embedding of text.
func (m *TokenMeanEmbedder) Embed(ctx context.Context, text string) ([]float32, error) {
	if m.Tokenizer == nil || m.Embeddings == nil {
		return nil, errors.New("embed: TokenMeanEmbedder needs a Tokenizer and Embeddings")
	}
	toks, err := m.Tokenizer.Tokenize(ctx, text)
	if err != nil {
		return nil, err
	}
	return m.Embeddings.Mean(toks)
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}
