// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
)

// target is the llama-server the receiver observes: a fixed endpoint, or a launcher's server,
// read afresh at every use so that the receiver follows it across restarts (new PID, and a new
// port when the launcher picks free ports).
type target struct {
	launcher launcherapi.Launcher // nil with `endpoint`
	endpoint string
	apiKey   string
}

// baseURL is the server's URL without a trailing slash ("" while a launcher has no server).
func (t *target) baseURL() string {
	if t.launcher != nil {
		return t.launcher.BaseURL()
	}
	return t.endpoint
}

// key is the API key to send as `Authorization: Bearer <key>` ("" for none).
func (t *target) key() string {
	if t.launcher != nil {
		return t.launcher.APIKey()
	}
	return t.apiKey
}

// ready reports whether requests can be sent: always with an endpoint (a scrape then tells
// whether the server is up); with a launcher, only once its server answered /health.
func (t *target) ready() bool {
	return t.launcher == nil || t.launcher.State() == launcherapi.StateReady
}

// launcherState is the launcher's state, or StateReady with an endpoint.
func (t *target) launcherState() launcherapi.State {
	if t.launcher == nil {
		return launcherapi.StateReady
	}
	return t.launcher.State()
}

// model returns the launcher's model facts (ok is false with an endpoint).
func (t *target) model() (launcherapi.Model, bool) {
	if t.launcher == nil {
		return launcherapi.Model{}, false
	}
	return t.launcher.Model(), true
}
