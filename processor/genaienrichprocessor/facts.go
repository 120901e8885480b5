// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// Model fact attributes: the same names the llamacpp receiver gives its resources.
const (
	attrArchitecture    = "llamacpp.model.architecture"
	attrParameters      = "llamacpp.model.parameters"
	attrQuantization    = "llamacpp.model.quantization"
	attrContextTrain    = "llamacpp.model.context_train"
	attrBlockCount      = "llamacpp.model.block_count"
	attrEmbeddingLength = "llamacpp.model.embedding_length"
)

// modelFacts are the attributes one model adds.
type modelFacts struct {
	architecture, quantization                          string
	parameters, contextTrain, blockCount, embeddingDims int64
}

func factsOf(f gguf.ModelFacts) *modelFacts {
	return &modelFacts{
		architecture: f.Architecture, quantization: f.Quantization,
		parameters: clampInt(f.ParameterCount), contextTrain: clampInt(f.ContextLength),
		blockCount: clampInt(f.BlockCount), embeddingDims: clampInt(f.EmbeddingLength),
	}
}

func clampInt(v uint64) int64 {
	if v > 1<<62 {
		return 1 << 62
	}
	return int64(v)
}

// put adds the facts to attrs; attributes already there are kept.
func (m *modelFacts) put(attrs pcommon.Map) int {
	n := 0
	str := func(k, v string) {
		if v == "" {
			return
		}
		if _, ok := attrs.Get(k); !ok {
			attrs.PutStr(k, v)
			n++
		}
	}
	num := func(k string, v int64) {
		if v <= 0 {
			return
		}
		if _, ok := attrs.Get(k); !ok {
			attrs.PutInt(k, v)
			n++
		}
	}
	str(attrArchitecture, m.architecture)
	num(attrParameters, m.parameters)
	str(attrQuantization, m.quantization)
	num(attrContextTrain, m.contextTrain)
	num(attrBlockCount, m.blockCount)
	num(attrEmbeddingLength, m.embeddingDims)
	return n
}

// factsIndex finds a model's facts by the names a span may carry for it.
type factsIndex struct {
	byName map[string]*modelFacts
	// launcher's facts, for spans of the launcher's llama-server whatever model name they carry.
	launcher *modelFacts
	// baseURL gives the launcher's llama-server URL, known once it runs (it can change on restart).
	baseURL func() string

	mu       sync.Mutex
	lastURL  string
	lastHost string
}

func newFactsIndex() *factsIndex { return &factsIndex{byName: map[string]*modelFacts{}} }

// add indexes facts under name and, for a path, under its file name with and without .gguf.
func (x *factsIndex) add(facts *modelFacts, names ...string) {
	for _, n := range names {
		if n == "" {
			continue
		}
		for _, k := range []string{n, filepath.Base(n), strings.TrimSuffix(filepath.Base(n), ".gguf")} {
			if _, ok := x.byName[k]; !ok && k != "." && k != "/" {
				x.byName[k] = facts
			}
		}
	}
}

func (x *factsIndex) setLauncher(facts *modelFacts, baseURL func() string) {
	x.launcher = facts
	x.baseURL = baseURL
}

// launcherHost is host:port of the launcher's llama-server, or "" while it is not running.
func (x *factsIndex) launcherHost() string {
	cur := x.baseURL()
	x.mu.Lock()
	defer x.mu.Unlock()
	if cur != x.lastURL {
		x.lastURL, x.lastHost = cur, ""
		if u, err := url.Parse(cur); err == nil {
			x.lastHost = u.Host
		}
	}
	return x.lastHost
}

// lookup returns the facts for a span or data point's attributes, or nil.
func (x *factsIndex) lookup(attrs pcommon.Map) *modelFacts {
	for _, k := range []string{conventions.AttrGenAIResponseModel, conventions.AttrGenAIRequestModel} {
		if v, ok := attrs.Get(k); ok && v.Type() == pcommon.ValueTypeStr {
			if f := x.byName[v.Str()]; f != nil {
				return f
			}
		}
	}
	if x.launcher != nil {
		addr, ok1 := attrs.Get("server.address")
		port, ok2 := attrs.Get("server.port")
		if ok1 && ok2 {
			if host := x.launcherHost(); host != "" && addr.AsString()+":"+port.AsString() == host {
				return x.launcher
			}
		}
	}
	return nil
}

func (x *factsIndex) empty() bool { return len(x.byName) == 0 && x.launcher == nil }
