// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

func readTestdata(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata", "scraper"}, parts...)...))
	require.NoError(t, err)
	return b
}

func TestParseProps(t *testing.T) {
	p, err := parseProps(readTestdata(t, "debian-b11669-cpu", "props.json"))
	require.NoError(t, err)
	assert.Equal(t, props{Build: "b11669-Debian", ModelPath: "/models/tiny.gguf", ModelAlias: "tiny-test", TotalSlots: ptr(2), ContextLen: ptr(512)}, p)

	p, err = parseProps(readTestdata(t, "upstream-2026-05-cuda-h200", "props.json"))
	require.NoError(t, err)
	assert.Equal(t, props{Build: "b0-unknown", ModelPath: "/models/qwen-q4km.gguf", ModelAlias: "qwen-q4km.gguf", TotalSlots: ptr(4), ContextLen: ptr(2048)}, p)

	p, err = parseProps([]byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, props{}, p)

	_, err = parseProps([]byte(`[]`))
	require.EqualError(t, err, "json: cannot unmarshal array into Go value of type llamacppreceiver.rawProps")
}

func TestParseModels(t *testing.T) {
	m, err := parseModels(readTestdata(t, "debian-b11669-cpu", "v1-models.json"))
	require.NoError(t, err)
	assert.Equal(t, modelInfo{ID: "tiny-test", Params: ptr(117440), Size: ptr(469760), ContextTrain: ptr(512), Embedding: ptr(64), Vocab: ptr(275)}, m)

	m, err = parseModels(readTestdata(t, "upstream-2026-05-cuda-h200", "v1-models.json"))
	require.NoError(t, err)
	assert.Equal(t, modelInfo{ID: "qwen-q4km.gguf", Params: ptr(3085938688), Size: ptr(1923946496), ContextTrain: ptr(32768), Embedding: ptr(2048), Vocab: ptr(151936)}, m)

	m, err = parseModels([]byte(`{"data":[{"id":"router-model","meta":null}]}`))
	require.NoError(t, err)
	assert.Equal(t, modelInfo{ID: "router-model"}, m)

	_, err = parseModels([]byte(`{"data":{}}`))
	require.ErrorContains(t, err, "json: cannot unmarshal object into Go struct field rawModels.data")

	_, err = parseModels([]byte(`{"object":"list","data":[]}`))
	require.EqualError(t, err, "no model in `data`")
}

func TestServerAddress(t *testing.T) {
	tests := []struct {
		base string
		host string
		port int64
		ok   bool
	}{
		{"http://127.0.0.1:8080", "127.0.0.1", 8080, true},
		{"http://[::1]:9000", "::1", 9000, true},
		{"https://llama.internal", "llama.internal", 443, true},
		{"http://llama.internal", "llama.internal", 80, true},
		{"", "", 0, false},
		{"127.0.0.1:8080", "", 0, false},
	}
	for _, tt := range tests {
		host, port, ok := serverAddress(tt.base)
		assert.Equal(t, tt.ok, ok, tt.base)
		assert.Equal(t, tt.host, host, tt.base)
		assert.Equal(t, tt.port, port, tt.base)
	}
}

// TestBuildResourcePrecedence: the server's answers win over the launcher's facts.
func TestBuildResourcePrecedence(t *testing.T) {
	rb := metadata.NewMetricsBuilder(metadata.NewDefaultMetricsBuilderConfig(), receivertest.NewNopSettings(metadata.Type)).NewResourceBuilder()
	lm := &launcherapi.Model{Path: "/launcher/model.gguf", Alias: "launcher-alias", Facts: gguf.ModelFacts{Architecture: "qwen2", Quantization: "Q4_K_M"}}

	res := buildResource(rb, "http://127.0.0.1:8080", nil, nil, lm, nil)
	assert.Equal(t, map[string]any{
		"server.address": "127.0.0.1", "server.port": int64(8080),
		"llamacpp.model.alias": "launcher-alias", "llamacpp.model.path": "/launcher/model.gguf",
		"llamacpp.model.architecture": "qwen2", "llamacpp.model.quantization": "Q4_K_M",
	}, res.Attributes().AsRaw())

	res = buildResource(rb, "http://127.0.0.1:8080", &props{ModelPath: "/models/m.gguf", ModelAlias: "props-alias"}, &modelInfo{ID: "models-id"}, lm, nil)
	alias, _ := res.Attributes().Get("llamacpp.model.alias")
	assert.Equal(t, "models-id", alias.Str())
	path, _ := res.Attributes().Get("llamacpp.model.path")
	assert.Equal(t, "/models/m.gguf", path.Str())
}

// The GGUF header's block and head counts are on the resource with a launcher; head_count_kv
// falls back to head_count as llama.cpp reads it; absent counts and disabled attributes are left
// out.
func TestBuildResourceModelShape(t *testing.T) {
	all := metadata.DefaultResourceAttributesConfig()
	for _, tc := range []struct {
		name  string
		facts gguf.ModelFacts
		want  map[string]any
	}{
		{"grouped-query attention (Qwen2.5-3B's shape)", gguf.ModelFacts{BlockCount: 36, HeadCount: 16, HeadCountKV: 2},
			map[string]any{"llamacpp.model.block_count": int64(36), "llamacpp.model.head_count": int64(16), "llamacpp.model.head_count_kv": int64(2)}},
		{"no head_count_kv key", gguf.ModelFacts{BlockCount: 2, HeadCount: 4},
			map[string]any{"llamacpp.model.block_count": int64(2), "llamacpp.model.head_count": int64(4), "llamacpp.model.head_count_kv": int64(4)}},
		{"no counts", gguf.ModelFacts{}, map[string]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := buildResource(metadata.NewResourceBuilder(all), "", nil, nil, &launcherapi.Model{Facts: tc.facts}, nil)
			got := map[string]any{}
			for k, v := range res.Attributes().AsRaw() {
				if strings.HasPrefix(k, "llamacpp.model.") && (strings.HasSuffix(k, "_count") || strings.HasSuffix(k, "_count_kv")) {
					got[k] = v
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
	// Without a launcher no endpoint tells them.
	res := buildResource(metadata.NewResourceBuilder(all), "http://127.0.0.1:8080", &props{Build: "b1"}, &modelInfo{ID: "m"}, nil, nil)
	assert.NotContains(t, res.Attributes().AsRaw(), "llamacpp.model.block_count")
	// Each can be switched off.
	off := metadata.DefaultResourceAttributesConfig()
	off.LlamacppModelHeadCountKv.Enabled = false
	res = buildResource(metadata.NewResourceBuilder(off), "", nil, nil, &launcherapi.Model{Facts: gguf.ModelFacts{BlockCount: 2, HeadCount: 4, HeadCountKV: 4}}, nil)
	assert.Equal(t, map[string]any{"llamacpp.model.block_count": int64(2), "llamacpp.model.head_count": int64(4)}, res.Attributes().AsRaw())
}

// The launcher's GPUs, as the nvml receiver names them, are on the resource.
func TestBuildResourceGPUs(t *testing.T) {
	rb := metadata.NewMetricsBuilder(metadata.NewDefaultMetricsBuilderConfig(), receivertest.NewNopSettings(metadata.Type)).NewResourceBuilder()
	res := buildResource(rb, "http://127.0.0.1:8080", nil, nil, nil, []launcherapi.GPU{{ID: "GPU-a", Name: "gpu0"}, {ID: "GPU-b", Name: "gpu1"}})
	a := res.Attributes().AsRaw()
	assert.Equal(t, []any{"GPU-a", "GPU-b"}, a["llamacpp.gpu.ids"])
	assert.Equal(t, []any{"gpu0", "gpu1"}, a["llamacpp.gpu.names"])
	res = buildResource(rb, "http://127.0.0.1:8080", nil, nil, nil, nil)
	assert.NotContains(t, res.Attributes().AsRaw(), "llamacpp.gpu.ids")
}
