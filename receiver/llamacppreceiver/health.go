// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"net/http"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

// healthState maps the status of GET /health to llamacpp.server.state: 200 ok; 503 loading
// (llama-server answers every route with 503 "Loading model" until the model is loaded, and
// legacy builds answered /health with 503 {"status":"loading model"}); anything else error.
func healthState(status int) metadata.AttributeLlamacppServerState {
	switch status {
	case http.StatusOK:
		return metadata.AttributeLlamacppServerStateOk
	case http.StatusServiceUnavailable:
		return metadata.AttributeLlamacppServerStateLoading
	}
	return metadata.AttributeLlamacppServerStateError
}

// launcherHealth maps a launcher that is not ready to llamacpp.server.state: starting or
// restarting is loading, failed is error, and stopped (no server) is unreachable.
func launcherHealth(s launcherapi.State) metadata.AttributeLlamacppServerState {
	switch s {
	case launcherapi.StateReady:
		return metadata.AttributeLlamacppServerStateOk
	case launcherapi.StateStarting, launcherapi.StateRestarting:
		return metadata.AttributeLlamacppServerStateLoading
	case launcherapi.StateFailed:
		return metadata.AttributeLlamacppServerStateError
	}
	return metadata.AttributeLlamacppServerStateUnreachable
}

// up is llamacpp.server.up for a state.
func up(s metadata.AttributeLlamacppServerState) int64 {
	if s == metadata.AttributeLlamacppServerStateOk {
		return 1
	}
	return 0
}
