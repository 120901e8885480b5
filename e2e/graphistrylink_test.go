// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/graphistrytest"
	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// TestDashboardLinksGraphistryGraph: a plotlyhtml exporter whose `graphistry` names the
// collector's graphistry exporter links, in its live page data, the newest dataset that exporter
// uploaded (to a fake Graphistry server here), as config.yaml sets them up.
func TestDashboardLinksGraphistryGraph(t *testing.T) {
	srv := graphistrytest.NewTestServer(t, graphistrytest.Options{})
	dir := t.TempDir()
	otlpPort, healthPort, servePort := llamatest.FreePort(t), llamatest.FreePort(t), llamatest.FreePort(t)
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
extensions:
  health_check: {endpoint: "127.0.0.1:%d"}
receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:%d"}
exporters:
  graphistry:
    endpoint: %q
    auth: {username: %q, password: %q}
    window: 200ms
  plotlyhtml:
    path: %q
    serve: {endpoint: "127.0.0.1:%d"}
    graphistry: graphistry
service:
  extensions: [health_check]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], exporters: [plotlyhtml, graphistry]}
`, healthPort, otlpPort, srv.URL, graphistrytest.TestUsername, graphistrytest.TestPassword,
		filepath.Join(dir, "dashboard.html"), servePort), 0o600))
	logs := &lockedBuffer{}
	cmd := execCollector(t, cfg, logs)
	waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), 30*time.Second, "collector not healthy:\n%s", logs)

	links := func() []map[string]string {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/dashboard.json", servePort))
		if err != nil {
			return nil
		}
		defer func() { _ = resp.Body.Close() }()
		var page struct {
			Links []map[string]string `json:"links"`
		}
		if json.NewDecoder(resp.Body).Decode(&page) != nil {
			return nil
		}
		return page.Links
	}
	require.Empty(t, links(), "nothing uploaded yet")

	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(pcommon.TraceID{1})
	s.SetSpanID(pcommon.SpanID{1})
	s.SetName("chat")
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-time.Second)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	body, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/traces", otlpPort), "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.Eventually(t, func() bool { return len(srv.CompleteDatasets()) == 1 }, 30*time.Second, 50*time.Millisecond,
		"no dataset uploaded:\n%s", logs)
	want := srv.URL + "/graph/graph.html?dataset=" + srv.CompleteDatasets()[0].ID
	require.Eventually(t, func() bool {
		l := links()
		return len(l) == 1 && l[0]["url"] == want
	}, 10*time.Second, 50*time.Millisecond, "the page does not link %s: %v\n%s", want, links(), logs)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "collector exit:\n%s", logs)
}
