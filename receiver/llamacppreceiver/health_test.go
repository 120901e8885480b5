// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

func TestHealthState(t *testing.T) {
	for status, want := range map[int]metadata.AttributeLlamacppServerState{
		200: metadata.AttributeLlamacppServerStateOk,
		503: metadata.AttributeLlamacppServerStateLoading,
		500: metadata.AttributeLlamacppServerStateError,
		401: metadata.AttributeLlamacppServerStateError,
		404: metadata.AttributeLlamacppServerStateError,
	} {
		assert.Equal(t, want, healthState(status), status)
	}
}

func TestLauncherHealth(t *testing.T) {
	for st, want := range map[launcherapi.State]metadata.AttributeLlamacppServerState{
		launcherapi.StateReady:      metadata.AttributeLlamacppServerStateOk,
		launcherapi.StateStarting:   metadata.AttributeLlamacppServerStateLoading,
		launcherapi.StateRestarting: metadata.AttributeLlamacppServerStateLoading,
		launcherapi.StateFailed:     metadata.AttributeLlamacppServerStateError,
		launcherapi.StateStopped:    metadata.AttributeLlamacppServerStateUnreachable,
		launcherapi.State(99):       metadata.AttributeLlamacppServerStateUnreachable,
	} {
		assert.Equal(t, want, launcherHealth(st), st.String())
		assert.Equal(t, st == launcherapi.StateReady, up(launcherHealth(st)) == 1)
	}
}
