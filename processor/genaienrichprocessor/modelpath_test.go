// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// modelLauncher is a launcher that reports model and nothing else.
type modelLauncher struct{ model launcherapi.Model }

func (l modelLauncher) BaseURL() string                                { return "http://127.0.0.1:1" }
func (modelLauncher) APIKey() string                                   { return "" }
func (modelLauncher) PID() int                                         { return 0 }
func (l modelLauncher) Model() launcherapi.Model                       { return l.model }
func (modelLauncher) State() launcherapi.State                         { return launcherapi.StateReady }
func (modelLauncher) WaitReady(context.Context) error                  { return nil }
func (modelLauncher) SubscribeLogs(func(launcherapi.LogRecord)) func() { return func() {} }

// A launcher in router mode reports no model: the GGUF file comes from `models`, and without it
// the error says what to set.
func TestModelPathRouterLauncher(t *testing.T) {
	router := modelLauncher{}
	_, err := modelPath(&Config{}, router)
	require.ErrorIs(t, err, errNoModelFile)
	assert.ErrorContains(t, err, "`models`")

	cfg := &Config{Models: []ModelConfig{{Name: "alpha", GGUF: "/models/alpha.gguf"}}}
	p, err := modelPath(cfg, router)
	require.NoError(t, err)
	assert.Equal(t, "/models/alpha.gguf", p)

	p, err = modelPath(cfg, modelLauncher{model: launcherapi.Model{Path: "/models/one.gguf"}})
	require.NoError(t, err)
	assert.Equal(t, "/models/one.gguf", p, "a launcher's own model wins")
}
