// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package embed

import (
	"container/list"
	"errors"
	"fmt"
	"sync"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

const (
	// TokenEmbeddingTensor is the tensor whose row t is the embedding of
	// token t.
	TokenEmbeddingTensor = "token_embd.weight"
	// MaxMeanTokens is the most tokens [TokenEmbeddings.Mean] uses: the
	// first MaxMeanTokens of a longer list. It bounds the work per span;
	// the opening of a prompt says most about what kind of prompt it is.
	MaxMeanTokens = 512
	// DefaultRowCacheBytes is the size of the dequantized row cache of
	// [OpenTokenEmbeddings]: 8192 rows of a 1024-wide model, 2048 rows of a
	// 4096-wide one.
	DefaultRowCacheBytes = 32 << 20
)

// ErrNoTokenEmbeddings reports that a GGUF file has no token_embd.weight
// tensor (some models only have a tied output tensor, or are not language
// models at all).
var ErrNoTokenEmbeddings = errors.New("no " + TokenEmbeddingTensor + " tensor")

// TokenEmbeddings gives access to the token embedding matrix of a GGUF
// model. Rows are read and dequantized on demand and kept in a
// least-recently-used cache bounded in bytes, so even a 150k × 4096 matrix
// costs only the cache's memory. It is safe for concurrent use.
type TokenEmbeddings struct {
	f     *gguf.File
	dim   int
	vocab int

	mu      sync.Mutex
	maxRows int
	lru     *list.List // of *rowEntry, most recently used first
	rows    map[int32]*list.Element
}

type rowEntry struct {
	id  int32
	row []float32
}

// supportedTypes are the tensor types gguf.Dequantize decodes.
var supportedTypes = []gguf.TensorType{
	gguf.TensorTypeF32, gguf.TensorTypeF16, gguf.TensorTypeBF16,
	gguf.TensorTypeQ8_0, gguf.TensorTypeQ4_0, gguf.TensorTypeQ4_K, gguf.TensorTypeQ6_K,
}

// OpenTokenEmbeddings opens the GGUF model at path for reading its token
// embeddings, with a row cache of DefaultRowCacheBytes. It fails if the
// file is not GGUF, has no token_embd.weight, or stores it in a type that
// cannot be dequantized (F32, F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K can).
func OpenTokenEmbeddings(path string) (*TokenEmbeddings, error) {
	return OpenTokenEmbeddingsCache(path, DefaultRowCacheBytes)
}

// File is the opened GGUF file the rows are read from (its metadata holds
// the vocabulary). It stays open until Close.
func (e *TokenEmbeddings) File() *gguf.File { return e.f }

// OpenTokenEmbeddingsCache is like [OpenTokenEmbeddings] with a row cache
// of about cacheBytes (at least one row).
func OpenTokenEmbeddingsCache(path string, cacheBytes int64) (*TokenEmbeddings, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("embed: opening token embeddings of %s: %w", path, err)
	}
	e, err := newTokenEmbeddings(f, cacheBytes)
	if err != nil {
		_ = f.Close() // the open error is the one worth reporting
		return nil, fmt.Errorf("embed: %s: %w", path, err)
	}
	return e, nil
}

func newTokenEmbeddings(f *gguf.File, cacheBytes int64) (*TokenEmbeddings, error) {
	t, ok := f.Tensor(TokenEmbeddingTensor)
	if !ok {
		return nil, ErrNoTokenEmbeddings
	}
	supported := false
	for _, s := range supportedTypes {
		supported = supported || t.Type == s
	}
	if !supported {
		return nil, fmt.Errorf("%s has type %s, which cannot be dequantized (supported: %v)", TokenEmbeddingTensor, t.Type, supportedTypes)
	}
	if len(t.Dims) != 2 || t.Dims[0] == 0 || t.Dims[1] == 0 {
		return nil, fmt.Errorf("%s has dimensions %v, want [n_embd n_vocab]", TokenEmbeddingTensor, t.Dims)
	}
	const maxInt32 = 1<<31 - 1
	if t.Dims[0] > maxInt32 || t.Dims[1] > maxInt32 {
		return nil, fmt.Errorf("%s dimensions %v are too large", TokenEmbeddingTensor, t.Dims)
	}
	e := &TokenEmbeddings{
		f: f, dim: int(t.Dims[0]), vocab: int(t.Dims[1]),
		lru: list.New(), rows: map[int32]*list.Element{},
	}
	e.maxRows = int(max(1, min(cacheBytes/(4*int64(e.dim)), int64(e.vocab))))
	// Read one row now so that a truncated or unreadable file fails here
	// rather than on the first span.
	if _, err := e.row(0); err != nil {
		return nil, err
	}
	return e, nil
}

// Close closes the model file. Mean fails after Close unless every row
// it needs is cached.
func (e *TokenEmbeddings) Close() error { return e.f.Close() }

// Dim returns the embedding length (n_embd).
func (e *TokenEmbeddings) Dim() int { return e.dim }

// Vocab returns the number of rows (n_vocab); valid token ids are
// 0..Vocab()-1.
func (e *TokenEmbeddings) Vocab() int { return e.vocab }

// Row returns a copy of the embedding of token id.
func (e *TokenEmbeddings) Row(id int32) ([]float32, error) {
	if id < 0 || int(id) >= e.vocab {
		return nil, fmt.Errorf("embed: token id %d out of range [0, %d)", id, e.vocab)
	}
	r, err := e.row(id)
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), r...), nil
}

// Mean returns the mean of the embeddings of tokens, of which only the
// first [MaxMeanTokens] are used. Repeated tokens count as often as they
// occur. It fails on an empty list and on a token id outside
// [0, Vocab()).
func (e *TokenEmbeddings) Mean(tokens []int32) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, errors.New("embed: mean of no tokens")
	}
	if len(tokens) > MaxMeanTokens {
		tokens = tokens[:MaxMeanTokens]
	}
	// Count first, so that each distinct row is fetched once: code and
	// byte-level vocabularies repeat tokens a lot.
	counts := make(map[int32]int, len(tokens))
	order := make([]int32, 0, len(tokens))
	for _, id := range tokens {
		if id < 0 || int(id) >= e.vocab {
			return nil, fmt.Errorf("embed: token id %d out of range [0, %d)", id, e.vocab)
		}
		if counts[id] == 0 {
			order = append(order, id)
		}
		counts[id]++
	}
	sum := make([]float64, e.dim)
	for _, id := range order { // first-occurrence order: deterministic sums
		r, err := e.row(id)
		if err != nil {
			return nil, err
		}
		c := float64(counts[id])
		for i, x := range r {
			sum[i] += c * float64(x)
		}
	}
	out := make([]float32, e.dim)
	n := float64(len(tokens))
	for i, s := range sum {
		out[i] = float32(s / n)
	}
	return out, nil
}

// row returns the cached row id, reading it on a miss. The returned slice
// is shared and must not be modified. id must be in range.
func (e *TokenEmbeddings) row(id int32) ([]float32, error) {
	e.mu.Lock()
	if el, ok := e.rows[id]; ok {
		e.lru.MoveToFront(el)
		r := el.Value.(*rowEntry).row
		e.mu.Unlock()
		return r, nil
	}
	e.mu.Unlock()
	// Read without the lock: two goroutines may read the same row at
	// once, which costs a read but never blocks others behind the disk.
	r, err := e.f.DequantizeRow(TokenEmbeddingTensor, int(id))
	if err != nil {
		return nil, fmt.Errorf("embed: reading embedding of token %d: %w", id, err)
	}
	if len(r) != e.dim {
		return nil, fmt.Errorf("embed: embedding of token %d has %d values, want %d", id, len(r), e.dim)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if el, ok := e.rows[id]; ok { // another goroutine got there first
		e.lru.MoveToFront(el)
		return el.Value.(*rowEntry).row, nil
	}
	e.rows[id] = e.lru.PushFront(&rowEntry{id: id, row: r})
	for e.lru.Len() > e.maxRows {
		old := e.lru.Back()
		e.lru.Remove(old)
		delete(e.rows, old.Value.(*rowEntry).id)
	}
	return r, nil
}

// cachedRows returns the number of rows in the cache (for tests).
func (e *TokenEmbeddings) cachedRows() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lru.Len()
}
