// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	bin "encoding/binary"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/graphistrytest"
	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// TestGraphistryPersistentQueueSurvivesRestart: the Graphistry server is down for 30 s; spans
// sent meanwhile wait in the exporter's persistent queue (file_storage); the collector is
// restarted in between; when the server is back, every span arrives exactly once.
func TestGraphistryPersistentQueueSurvivesRestart(t *testing.T) {
	srv := graphistrytest.NewTestServer(t, graphistrytest.Options{})
	srv.Down(true)
	downSince := time.Now()
	dir := t.TempDir()
	storage := filepath.Join(dir, "queue")
	require.NoError(t, os.MkdirAll(storage, 0o755))
	otlpPort, healthPort := llamatest.FreePort(t), llamatest.FreePort(t)
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
extensions:
  file_storage: {directory: %q}
  health_check: {endpoint: "127.0.0.1:%d"}
receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:%d"}
exporters:
  graphistry:
    endpoint: %q
    auth: {username: %q, password: %q}
    window: 500ms
    sending_queue: {storage: file_storage}
    retry_on_failure: {initial_interval: 200ms, max_interval: 1s, max_elapsed_time: 0}
service:
  extensions: [file_storage, health_check]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], exporters: [graphistry]}
`, storage, healthPort, otlpPort, srv.URL, graphistrytest.TestUsername, graphistrytest.TestPassword), 0o600))

	run := func() (stop func(), logs *lockedBuffer) {
		logs = &lockedBuffer{}
		cmd := execCollector(t, cfg, logs)
		waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), 30*time.Second, "collector not healthy:\n%s", logs)
		return func() {
			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
			require.NoError(t, cmd.Wait(), "collector exit:\n%s", logs)
		}, logs
	}
	want := map[string]bool{}
	send := func(batch int) {
		td := ptrace.NewTraces()
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		for i := range 10 {
			s := ss.AppendEmpty()
			var tid pcommon.TraceID
			bin.BigEndian.PutUint64(tid[8:], uint64(batch*100+i+1))
			s.SetTraceID(tid)
			s.SetSpanID(pcommon.SpanID{byte(batch), byte(i), 1})
			s.SetName(fmt.Sprintf("batch %d span %d", batch, i))
			now := time.Now()
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
			want[s.TraceID().String()+":"+s.SpanID().String()] = true
		}
		body, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/traces", otlpPort), "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}

	stop, _ := run()
	send(1)
	send(2)
	time.Sleep(3 * time.Second) // the windows close and the uploads fail and retry
	stop()                      // restart while the server is still down
	stop, logs := run()
	send(3)
	time.Sleep(time.Until(downSince.Add(30 * time.Second)))
	srv.Down(false)
	require.Eventually(t, func() bool {
		got := map[string]int{}
		for _, d := range srv.CompleteDatasets() {
			for _, row := range d.Nodes.Rows {
				if id, _ := row["id"].(string); !strings.HasPrefix(id, "trace:") {
					got[id]++
				}
			}
		}
		return len(got) == len(want)
	}, 60*time.Second, 200*time.Millisecond, "not every span arrived:\n%s", logs)
	stop()

	got := map[string]int{}
	for _, d := range srv.CompleteDatasets() {
		for _, row := range d.Nodes.Rows {
			if id, _ := row["id"].(string); !strings.HasPrefix(id, "trace:") {
				got[id]++
			}
		}
	}
	for id := range want {
		assert.Equal(t, 1, got[id], "span %s arrived %d times", id, got[id])
	}
	assert.Len(t, got, len(want))
}

// execCollector starts the distribution with cfg, its output into logs.
func execCollector(t *testing.T, cfg string, logs *lockedBuffer) *exec.Cmd {
	return execCollectorBin(t, otelcolBin(t), cfg, logs)
}
