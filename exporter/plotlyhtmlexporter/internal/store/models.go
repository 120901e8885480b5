// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"path"
	"sort"
)

// MaxModels bounds the models whose facts a store keeps; the one seen longest ago goes first.
const MaxModels = 8

// maxFactText bounds one text fact kept (bytes).
const maxFactText = 512

// ModelFacts are what is known of one served model: the llamacpp receiver's resource attributes
// (llamacpp.model.*) and the model facts the genaienrich processor puts on spans. Numbers are 0
// when unknown.
type ModelFacts struct {
	// Name is the model's name: llamacpp.model.alias, the model a span names, else the file's
	// base name. Facts of one name are merged.
	Name         string
	Architecture string
	Quantization string
	Path         string
	Parameters   int64
	ContextTrain int64
	// BlockCount is the number of layers (blocks).
	BlockCount      int64
	HeadCount       int64
	HeadCountKV     int64
	EmbeddingLength int64
	VocabSize       int64
	// SizeBytes is the size of the model's tensors (llamacpp.model.size).
	SizeBytes int64
	// SeenNs is when facts of the model last arrived (the store's clock).
	SeenNs int64
}

// Known is true when f says anything beyond a name.
func (f *ModelFacts) Known() bool {
	return f.Architecture != "" || f.Quantization != "" || f.Path != "" || f.Parameters > 0 || f.ContextTrain > 0 ||
		f.BlockCount > 0 || f.HeadCount > 0 || f.HeadCountKV > 0 || f.EmbeddingLength > 0 || f.VocabSize > 0 || f.SizeBytes > 0
}

// merge takes the facts that n knows.
func (f *ModelFacts) merge(n *ModelFacts) {
	str := func(dst *string, v string) {
		if v != "" {
			*dst = cutUTF8(v, maxFactText)
		}
	}
	num := func(dst *int64, v int64) {
		if v > 0 {
			*dst = v
		}
	}
	str(&f.Architecture, n.Architecture)
	str(&f.Quantization, n.Quantization)
	str(&f.Path, n.Path)
	num(&f.Parameters, n.Parameters)
	num(&f.ContextTrain, n.ContextTrain)
	num(&f.BlockCount, n.BlockCount)
	num(&f.HeadCount, n.HeadCount)
	num(&f.HeadCountKV, n.HeadCountKV)
	num(&f.EmbeddingLength, n.EmbeddingLength)
	num(&f.VocabSize, n.VocabSize)
	num(&f.SizeBytes, n.SizeBytes)
}

// SetModelFacts merges facts into what the store knows of the model of that name (the file's
// base name when the facts name none). Facts that say nothing beyond a name are ignored.
func (s *Store) SetModelFacts(facts []ModelFacts) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UnixNano()
	for i := range facts {
		f := &facts[i]
		if !f.Known() {
			continue
		}
		name := f.Name
		if name == "" && f.Path != "" {
			name = path.Base(f.Path)
		}
		if name == "" {
			continue
		}
		name = cutUTF8(name, maxFactText)
		if s.models == nil {
			s.models = map[string]*ModelFacts{}
		}
		m := s.models[name]
		if m == nil {
			if len(s.models) >= MaxModels {
				s.evictModel()
			}
			m = &ModelFacts{Name: name}
			s.models[name] = m
		}
		// Copy on write: a snapshot holds copies, but keep the record whole while merging.
		next := *m
		next.merge(f)
		next.SeenNs = now
		s.models[name] = &next
	}
}

// evictModel removes the model seen longest ago.
func (s *Store) evictModel() {
	var oldest string
	var at int64
	for k, m := range s.models {
		if oldest == "" || m.SeenNs < at || (m.SeenNs == at && k < oldest) {
			oldest, at = k, m.SeenNs
		}
	}
	delete(s.models, oldest)
}

// modelsView is the models seen within the window, by name (a stable order from one page to
// the next).
func (s *Store) modelsView(cutoffNs int64) []ModelFacts {
	var out []ModelFacts
	for _, m := range s.models {
		if m.SeenNs >= cutoffNs {
			out = append(out, *m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
