// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

// props is what the resource takes from GET /props. Zero values mean absent.
type props struct {
	Build      string // build_info, e.g. b11669-Debian
	ModelPath  string // model_path
	ModelAlias string // model_alias (a fallback for /v1/models data[0].id)
	TotalSlots *int64 // total_slots
	ContextLen *int64 // default_generation_settings.n_ctx
	Router     bool   // role is "router": the server runs no model itself (see router.go)
}

// modelInfo is what the resource takes from GET /v1/models (its first model).
type modelInfo struct {
	ID           string
	Params       *int64 // meta.n_params
	Size         *int64 // meta.size, bytes
	ContextTrain *int64 // meta.n_ctx_train
	Embedding    *int64 // meta.n_embd
	Vocab        *int64 // meta.n_vocab
}

type rawProps struct {
	BuildInfo  string `json:"build_info"`
	ModelPath  string `json:"model_path"`
	ModelAlias string `json:"model_alias"`
	Role       string `json:"role"`
	TotalSlots *int64 `json:"total_slots"`
	DefaultGen *struct {
		NCtx *int64 `json:"n_ctx"`
	} `json:"default_generation_settings"`
}

// parseProps decodes a /props body (any build: fields that are missing stay zero).
func parseProps(body []byte) (props, error) {
	var raw rawProps
	if err := json.Unmarshal(body, &raw); err != nil {
		return props{}, err
	}
	p := props{Build: raw.BuildInfo, ModelPath: raw.ModelPath, ModelAlias: raw.ModelAlias, TotalSlots: raw.TotalSlots}
	if raw.DefaultGen != nil {
		p.ContextLen = raw.DefaultGen.NCtx
	}
	if raw.Role == "router" {
		// A router's model_alias ("llama-server"), model_path ("none") and n_ctx (0) describe no
		// model: its models have their own resources.
		p = props{Build: raw.BuildInfo, Router: true}
	}
	return p, nil
}

type rawModels struct {
	Data []struct {
		ID   string `json:"id"`
		Meta *struct {
			NParams   *int64 `json:"n_params"`
			Size      *int64 `json:"size"`
			NCtxTrain *int64 `json:"n_ctx_train"`
			NEmbd     *int64 `json:"n_embd"`
			NVocab    *int64 `json:"n_vocab"`
		} `json:"meta"`
	} `json:"data"`
}

// parseModels decodes a /v1/models body and returns its first model (meta may be null, e.g.
// in router mode, or lack fields in older builds).
func parseModels(body []byte) (modelInfo, error) {
	var raw rawModels
	if err := json.Unmarshal(body, &raw); err != nil {
		return modelInfo{}, err
	}
	if len(raw.Data) == 0 {
		return modelInfo{}, errors.New("no model in `data`")
	}
	d := raw.Data[0]
	m := modelInfo{ID: d.ID}
	if d.Meta != nil {
		m.Params, m.Size, m.ContextTrain, m.Embedding, m.Vocab = d.Meta.NParams, d.Meta.Size, d.Meta.NCtxTrain, d.Meta.NEmbd, d.Meta.NVocab
	}
	return m, nil
}

// serverAddress splits a base URL into host and port (the scheme's default port when the URL
// has none).
func serverAddress(base string) (host string, port int64, ok bool) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", 0, false
	}
	host = u.Hostname() // without the brackets of an IPv6 literal, as server.address wants
	p := u.Port()
	if p == "" {
		switch u.Scheme {
		case "https":
			p = "443"
		default:
			p = "80"
		}
	}
	n, err := strconv.ParseInt(p, 10, 64)
	if err != nil {
		return host, 0, host != ""
	}
	return host, n, true
}

// buildResource assembles the resource attributes from what is known: the base URL, /props,
// /v1/models, and the launcher's model (nil with `endpoint`): the GGUF header's architecture,
// quantization, block count and head counts, which no endpoint of llama-server reports. Server
// answers win over the launcher's facts where both exist.
func buildResource(rb *metadata.ResourceBuilder, base string, p *props, m *modelInfo, lm *launcherapi.Model, gpus []launcherapi.GPU) pcommon.Resource {
	if len(gpus) > 0 {
		ids, names := make([]any, len(gpus)), make([]any, len(gpus))
		for i, g := range gpus {
			ids[i], names[i] = g.ID, g.Name
		}
		rb.SetLlamacppGpuIds(ids)
		rb.SetLlamacppGpuNames(names)
	}
	if host, port, ok := serverAddress(base); ok {
		rb.SetServerAddress(host)
		if port != 0 {
			rb.SetServerPort(port)
		}
	}
	alias, path := "", ""
	if lm != nil {
		alias, path = lm.Alias, lm.Path
		if lm.Facts.Architecture != "" {
			rb.SetLlamacppModelArchitecture(lm.Facts.Architecture)
		}
		if lm.Facts.Quantization != "" {
			rb.SetLlamacppModelQuantization(lm.Facts.Quantization)
		}
		setCount(rb.SetLlamacppModelBlockCount, lm.Facts.BlockCount)
		setCount(rb.SetLlamacppModelHeadCount, lm.Facts.HeadCount)
		// llama.cpp reads head_count_kv as head_count when the key is absent.
		setCount(rb.SetLlamacppModelHeadCountKv, cmp.Or(lm.Facts.HeadCountKV, lm.Facts.HeadCount))
	}
	if p != nil {
		if p.ModelAlias != "" {
			alias = p.ModelAlias
		}
		if p.ModelPath != "" {
			path = p.ModelPath
		}
		if p.Build != "" {
			rb.SetLlamacppBuild(p.Build)
		}
		setOpt(rb.SetLlamacppSlotsTotal, p.TotalSlots)
		setOpt(rb.SetLlamacppContextSize, p.ContextLen)
	}
	if m != nil {
		if m.ID != "" {
			alias = m.ID
		}
		setOpt(rb.SetLlamacppModelParameters, m.Params)
		setOpt(rb.SetLlamacppModelSize, m.Size)
		setOpt(rb.SetLlamacppModelContextTrain, m.ContextTrain)
		setOpt(rb.SetLlamacppModelEmbeddingLength, m.Embedding)
		setOpt(rb.SetLlamacppModelVocabSize, m.Vocab)
	}
	if alias != "" {
		rb.SetLlamacppModelAlias(alias)
	}
	if path != "" {
		rb.SetLlamacppModelPath(path)
	}
	return rb.Emit()
}

// setCount sets a count from the GGUF header; 0 means the header lacks it (or it does not fit).
func setCount(set func(int64), v uint64) {
	if v > 0 && v <= math.MaxInt64 {
		set(int64(v))
	}
}

func setOpt(set func(int64), v *int64) {
	if v != nil {
		set(*v)
	}
}
