// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package embed

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeServer serves handler and records the last request's path, headers
// and decoded body.
type fakeServer struct {
	*httptest.Server
	path   string
	auth   string
	ctype  string
	body   map[string]any
	served int
}

func newFakeServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.served++
		f.path, f.auth, f.ctype = r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		f.body = nil
		if r.Method != http.MethodPost {
			http.Error(w, "want POST", http.StatusMethodNotAllowed)
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&f.body)
		handler(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestServerTokenizerHappyPath(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"tokens":[1,259,42,31999]}`)
	})
	tok := &ServerTokenizer{BaseURL: f.URL + "/", APIKey: "secret"}
	ids, err := tok.Tokenize(ctx(t), "hello <s> world")
	require.NoError(t, err)
	assert.Equal(t, []int32{1, 259, 42, 31999}, ids)
	assert.Equal(t, "/tokenize", f.path)
	assert.Equal(t, "Bearer secret", f.auth)
	assert.Equal(t, "application/json", f.ctype)
	assert.Equal(t, map[string]any{"content": "hello <s> world", "add_special": false, "parse_special": false}, f.body)

	// No key, no header; empty token list is not an error.
	f2 := newFakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"tokens":[]}`)
	})
	ids, err = (&ServerTokenizer{BaseURL: f2.URL}).Tokenize(ctx(t), "")
	require.NoError(t, err)
	assert.Empty(t, ids)
	assert.Empty(t, f2.auth)
}

func TestServerTokenizerTruncatesText(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"tokens":[5]}`)
	})
	tok := &ServerTokenizer{BaseURL: f.URL, MaxTextBytes: 5}
	_, err := tok.Tokenize(ctx(t), "abcdé€")
	require.NoError(t, err)
	assert.Equal(t, "abcd", f.body["content"], "a rune is never split")
}

func TestServerClientErrors(t *testing.T) {
	huge := func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"tokens":[`)
		chunk := []byte(strings.Repeat("1,", 32<<10))
		for range 1024 { // up to 64 MiB, until the client hangs up
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	cases := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request)
		want    []string
	}{
		{"500 with llama-server error", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":{"code":500,"message":"tokenizer exploded","type":"server_error"}}`)
		}, []string{"500", "tokenizer exploded"}},
		{"501 plain text", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNotImplemented)
			_, _ = io.WriteString(w, "not here\n")
		}, []string{"501", `"not here"`}},
		{"401 empty", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		}, []string{"401", "empty body"}},
		{"garbage JSON", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"tokens":[1,2,`)
		}, []string{"decoding response"}},
		{"HTML", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `<html>proxy</html>`)
		}, []string{"decoding response"}},
		{"no tokens", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"content":"x"}`)
		}, []string{`no "tokens"`}},
		{"pieces instead of ids", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"tokens":[{"id":1,"piece":"a"}]}`)
		}, []string{"decoding response"}},
		{"id out of int32", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"tokens":[4294967296]}`)
		}, []string{"decoding response"}},
		{"huge body", huge, []string{"exceeds the limit of 4194304 bytes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, tc.handler)
			_, err := (&ServerTokenizer{BaseURL: f.URL}).Tokenize(ctx(t), "x")
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Contains(t, err.Error(), "/tokenize")
		})
	}

	_, err := (&ServerTokenizer{}).Tokenize(ctx(t), "x")
	assert.ErrorContains(t, err, "no BaseURL")
	_, err = (&ServerTokenizer{BaseURL: "http://127.0.0.1:1"}).Tokenize(ctx(t), "x")
	assert.Error(t, err)
	long := newFakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, strings.Repeat("é", 10000))
	})
	_, err = (&ServerTokenizer{BaseURL: long.URL}).Tokenize(ctx(t), "x")
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 1000, "error bodies are cut short")
}

func TestServerClientsHonourContext(t *testing.T) {
	release := make(chan struct{})
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := (&ServerEmbedder{BaseURL: f.URL}).Embed(c, "x")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestServerEmbedder(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"model":"m","object":"list","usage":{"prompt_tokens":3,"total_tokens":3},
			"data":[{"embedding":[0.5,-1,2e-3],"index":0,"object":"embedding"},{"embedding":[9],"index":1}]}`)
	})
	e := &ServerEmbedder{BaseURL: f.URL, APIKey: "k", Model: "tiny"}
	v, err := e.Embed(ctx(t), "hello")
	require.NoError(t, err)
	assert.Equal(t, []float32{0.5, -1, 2e-3}, v)
	assert.Equal(t, "/v1/embeddings", f.path)
	assert.Equal(t, "Bearer k", f.auth)
	assert.Equal(t, map[string]any{"input": "hello", "model": "tiny"}, f.body)

	for name, tc := range map[string]struct {
		status int
		body   string
		want   string
	}{
		"500":          {500, `{"error":{"code":500,"message":"boom","type":"server_error"}}`, "boom"},
		"501":          {501, `{"error":{"code":501,"message":"This server does not support embeddings. Start it with --embeddings","type":"not_supported_error"}}`, "--embeddings"},
		"garbage":      {200, `{"data":[{"embedding":[1,2`, "decoding response"},
		"no data":      {200, `{"data":[]}`, "no data"},
		"empty vector": {200, `{"data":[{"embedding":[]}]}`, "is empty"},
		"overflow":     {200, `{"data":[{"embedding":[1e300]}]}`, "out of float32 range"},
		"strings":      {200, `{"data":[{"embedding":"AAAA"}]}`, "decoding response"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			_, err := (&ServerEmbedder{BaseURL: f.URL}).Embed(ctx(t), "x")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	big := newFakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"data":[{"embedding":[`+strings.Repeat("0.125,", 1000)+`1]}]}`)
	})
	_, err = (&ServerEmbedder{BaseURL: big.URL, MaxResponseBytes: 1024}).Embed(ctx(t), "x")
	assert.ErrorContains(t, err, "exceeds the limit of 1024 bytes")
	v, err = (&ServerEmbedder{BaseURL: big.URL}).Embed(ctx(t), "x")
	require.NoError(t, err)
	assert.Len(t, v, 1001)
}

// staticTokenizer returns fixed ids.
type staticTokenizer struct {
	ids []int32
	err error
}

func (s staticTokenizer) Tokenize(context.Context, string) ([]int32, error) { return s.ids, s.err }

func TestTokenMeanEmbedder(t *testing.T) {
	emb := openTestEmbeddings(t, testModel(t, false))
	m := &TokenMeanEmbedder{Tokenizer: staticTokenizer{ids: []int32{3, 4}}, Embeddings: emb}
	v, err := m.Embed(ctx(t), "ignored")
	require.NoError(t, err)
	want, err := emb.Mean([]int32{3, 4})
	require.NoError(t, err)
	assert.Equal(t, want, v)

	_, err = (&TokenMeanEmbedder{Tokenizer: staticTokenizer{err: io.ErrUnexpectedEOF}, Embeddings: emb}).Embed(ctx(t), "x")
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	_, err = (&TokenMeanEmbedder{Tokenizer: staticTokenizer{ids: nil}, Embeddings: emb}).Embed(ctx(t), "x")
	assert.ErrorContains(t, err, "no tokens")
	_, err = (&TokenMeanEmbedder{}).Embed(ctx(t), "x")
	assert.Error(t, err)
}
