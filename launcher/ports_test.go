// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensiontest"
)

func newNamedLauncher(t *testing.T, name, host string, port int) *llamaLauncher {
	t.Helper()
	cfg := createDefaultConfig()
	cfg.Model = "unused.gguf"
	cfg.Host, cfg.Port = host, port
	set := extensiontest.NewNopSettings(NewFactory().Type())
	set.ID = component.MustNewIDWithName("llamalauncher", name)
	return newLauncher(cfg, set)
}

// Two launchers of one process on one fixed port: the second is refused with an error that
// names the first; after the first's shutdown the port is free for it. Port 0 claims nothing,
// and different hosts do not clash unless one of them binds every address.
func TestPortClaims(t *testing.T) {
	const port = 48090
	a := newNamedLauncher(t, "a", "127.0.0.1", port)
	b := newNamedLauncher(t, "b", "127.0.0.1", port)
	require.NoError(t, claimPort(a))
	require.NoError(t, claimPort(a), "claiming again is harmless")
	err := claimPort(b)
	require.EqualError(t, err, "`port` 48090 on 127.0.0.1: llamalauncher/b and llamalauncher/a (on 127.0.0.1) both have it; give each launcher its own `port`, or 0 for a free one")
	require.NoError(t, a.Shutdown(context.Background())) // never started: releases the port only
	require.NoError(t, claimPort(b))
	defer releasePort(b)

	other := newNamedLauncher(t, "c", "127.0.0.2", port)
	require.NoError(t, claimPort(other), "another address, the same port")
	defer releasePort(other)
	all := newNamedLauncher(t, "d", "0.0.0.0", port)
	assert.ErrorContains(t, claimPort(all), "`port` 48090 on 0.0.0.0: llamalauncher/d and llamalauncher/")

	zero1, zero2 := newNamedLauncher(t, "e", "127.0.0.1", 0), newNamedLauncher(t, "f", "127.0.0.1", 0)
	require.NoError(t, claimPort(zero1))
	require.NoError(t, claimPort(zero2))
	releasePort(zero1)
	releasePort(zero2)
}

// Start refuses a port another started launcher has, before it starts any process.
func TestStartRefusesAClaimedPort(t *testing.T) {
	first := newNamedLauncher(t, "a", "127.0.0.1", 48091)
	require.NoError(t, claimPort(first))
	defer releasePort(first)
	cfg := testConfig(t)
	cfg.Port = 48091
	set := extensiontest.NewNopSettings(NewFactory().Type())
	set.ID = component.MustNewIDWithName("llamalauncher", "b")
	second := newLauncher(cfg, set)
	err := second.Start(context.Background(), &statusHost{})
	require.ErrorContains(t, err, "`port` 48091 on 127.0.0.1: llamalauncher/b and llamalauncher/a (on 127.0.0.1) both have it")
	assert.Zero(t, second.PID())
	require.NoError(t, second.Shutdown(context.Background()))
}
