// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

// A real router's /models (Debian build 11669, `--models-dir` with two generated models, beta
// loaded by a request): ids and statuses, sorted.
func TestParseRouterModelsCapture(t *testing.T) {
	body, err := os.ReadFile("testdata/router/models-b11669.json")
	require.NoError(t, err)
	models, err := parseRouterModels(body)
	require.NoError(t, err)
	assert.Equal(t, []routerModel{
		{ID: "alpha", Status: metadata.AttributeLlamacppModelStatusUnloaded, Raw: "unloaded"},
		{ID: "beta", Status: metadata.AttributeLlamacppModelStatusLoaded, Raw: "loaded"},
	}, models)
}

func TestParseRouterModels(t *testing.T) {
	models, err := parseRouterModels([]byte(`{"data":[
		{"id":"z","status":{"value":"sleeping"}},
		{"id":"a","status":{"value":"unloaded","failed":true,"exit_code":1}},
		{"id":"a","status":{"value":"loaded"}},
		{"id":""},
		{"id":"m","status":{"value":"downloading"}},
		{"id":"n"}]}`))
	require.NoError(t, err)
	require.Len(t, models, 4)
	assert.Equal(t, "a", models[0].ID)
	assert.Equal(t, metadata.AttributeLlamacppModelStatusFailed, models[0].Status, "an unloaded model whose load failed")
	assert.Equal(t, "m", models[1].ID)
	assert.Zero(t, models[1].Status, "a status this receiver does not know")
	assert.Equal(t, "downloading", models[1].Raw)
	assert.Zero(t, models[2].Status, "no status")
	assert.Equal(t, metadata.AttributeLlamacppModelStatusSleeping, models[3].Status)

	_, err = parseRouterModels([]byte(`{"object":"list"}`))
	assert.ErrorContains(t, err, "no `data` list")
	_, err = parseRouterModels([]byte(`not json`))
	assert.Error(t, err)
}

func TestModelQuery(t *testing.T) {
	assert.Equal(t, "?autoload=false&model=qwen%2F0.5b+q4%26x", modelQuery("qwen/0.5b q4&x"))
}
