// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llamatelemetry/otelcol-llt/internal/browsertest"
	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// interopDir is the Node.js harness with its packages installed (scripts/provision-interop.sh,
// which `make test` runs and passes as LLT_INTEROP). Without it the test fails under LLT_E2E=1.
func interopDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LLT_INTEROP")
	if dir == "" {
		dir = "interop"
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".lock-stamp")); err != nil {
		llamatest.Require(t, "the interop harness is not installed in %s (%v): run scripts/provision-interop.sh", dir, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		llamatest.Require(t, "node is not on PATH: %v", err)
	}
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	return abs
}

// sdkRun is the JSON line the harness prints.
type sdkRun struct {
	SDK       string `json:"sdk"`
	Propagate bool   `json:"propagate"`
	Calls     []struct {
		Stream     bool   `json:"stream"`
		ResponseID string `json:"response_id"`
		Model      string `json:"model"`
		Usage      struct {
			In  int64 `json:"prompt_tokens"`
			Out int64 `json:"completion_tokens"`
		} `json:"usage"`
		Prompt  string `json:"prompt"`
		Content string `json:"content"`
	} `json:"calls"`
	TraceIDs []string `json:"trace_ids"`
}

// runSDK runs the harness for one SDK and mode against baseURL and returns what it reports.
func runSDK(t *testing.T, dir, sdk string, propagate bool, baseURL, otlp, service string) sdkRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "client.mjs", "--sdk", sdk, "--propagate", strconv.FormatBool(propagate),
		"--base-url", baseURL, "--otlp", otlp, "--model", "demo", "--calls", "1", "--service-name", service)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s propagate=%v:\n%s", sdk, propagate, tail(stderr.String(), 40))
	var r sdkRun
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &r), "%s", stdout.String())
	require.Len(t, r.Calls, 2)
	return r
}

// liveSummary reads the unified dashboard's summary from the live data the pages fetch.
type liveSummary struct {
	Total     int   `json:"requests_total"`
	TokensIn  int64 `json:"tokens_in"`
	TokensOut int64 `json:"tokens_out"`
}

func (r *defaultRun) summary() (liveSummary, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/dashboard.json?d=unified", r.ServePort))
	if err != nil {
		return liveSummary{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return liveSummary{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return liveSummary{}, fmt.Errorf("%s: %.300s", resp.Status, body)
	}
	var page struct {
		Sections []struct {
			Name    string       `json:"name"`
			Summary *liveSummary `json:"summary"`
		} `json:"sections"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return liveSummary{}, fmt.Errorf("%w (%d bytes: %.200s)", err, len(body), body)
	}
	for _, s := range page.Sections {
		if s.Summary != nil {
			return *s.Summary, nil
		}
	}
	return liveSummary{}, fmt.Errorf("no summary in %.200s", body)
}

// mustSummary is summary that fails t on an error, after a few tries.
func (r *defaultRun) mustSummary(t *testing.T) liveSummary {
	t.Helper()
	var err error
	for range 5 {
		var s liveSummary
		if s, err = r.summary(); err == nil {
			return s
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.NoError(t, err, "reading the live dashboard data")
	return liveSummary{}
}

// TestInstrumentedApplications runs real instrumented applications against the default config:
// the npm openai client under OpenInference, OpenLLMetry and OpenLIT, each with and without
// trace-context propagation (undici instrumentation), a non-streamed and a streamed call each
// through the gateway; OpenLIT also calling llama-server directly (a call the gateway never sees,
// as a hosted provider's would be); and the official Go SDK as a plain client. It checks that
// every client span is normalized and paired with the gateway's span of its call, that the
// dashboard counts each call once with the tokens the clients were answered, that no prompt or
// answer leaves the collector (drop_content), and that OpenLIT's OTLP logs and metrics are taken.
func TestInstrumentedApplications(t *testing.T) {
	dir := interopDir(t)
	browsertest.Require(t)
	run := startDefaultConfig(t, "")

	type step struct {
		sdk       string
		propagate bool
		direct    bool // calls llama-server itself, not the gateway
	}
	steps := []step{
		{"openinference", false, false}, {"openinference", true, false},
		{"openllmetry", false, false}, {"openllmetry", true, false},
		{"openlit", false, false}, {"openlit", true, false},
		{"openlit", false, true},
	}
	var wantCalls int
	var wantIn, wantOut int64
	var secrets []string // prompts and answers that must not leave the collector
	type outcome struct {
		step
		run     sdkRun
		service string
		counted int
	}
	var outcomes []outcome
	for i, st := range steps {
		base := run.GatewayURL()
		if st.direct {
			base = run.LlamaURL()
		}
		service := fmt.Sprintf("interop-%s-%d", st.sdk, i)
		before := run.mustSummary(t)
		r := runSDK(t, dir, st.sdk, st.propagate, base, run.OTLPURL(), service)
		for _, c := range r.Calls {
			wantCalls++
			wantIn += c.Usage.In
			wantOut += c.Usage.Out
			secrets = append(secrets, c.Prompt)
			if len(c.Content) >= 12 {
				secrets = append(secrets, c.Content)
			}
		}
		// The dashboard counts this step's two calls as two requests once all its spans are in,
		// and stays there.
		var now liveSummary
		assert.Eventually(t, func() bool {
			s, err := run.summary()
			if err != nil {
				t.Logf("live data: %v", err)
				return false
			}
			now = s
			return now.Total-before.Total == len(r.Calls) && clientSpans(run.spans(), service) == len(r.Calls)
		}, 20*time.Second, 100*time.Millisecond, "%s propagate=%v direct=%v: the dashboard went from %d to %d requests",
			st.sdk, st.propagate, st.direct, before.Total, now.Total)
		time.Sleep(1500 * time.Millisecond)
		now = run.mustSummary(t)
		outcomes = append(outcomes, outcome{st, r, service, now.Total - before.Total})
	}
	// The official Go SDK, uninstrumented: only the gateway's spans.
	before := run.mustSummary(t)
	for _, stream := range []bool{false, true} {
		c, err := goCall(context.Background(), run.GatewayURL(), fmt.Sprintf("Say hello openai-go %v", stream), stream, 8)
		require.NoError(t, err)
		wantCalls++
		wantIn += c.In
		wantOut += c.Out
	}
	assert.Eventually(t, func() bool { s, err := run.summary(); return err == nil && s.Total-before.Total == 2 },
		20*time.Second, 100*time.Millisecond, "openai-go's calls are not on the dashboard")
	goCounted := run.mustSummary(t).Total - before.Total

	// OpenLIT's own OTLP logs and metrics are accepted (the default config has logs and metrics
	// pipelines on otlp).
	assert.Eventually(t, func() bool {
		raw, _ := os.ReadFile(run.File)
		return bytes.Contains(raw, []byte(`"resourceLogs"`)) && bytes.Contains(raw, []byte("gen_ai.client.inference.operation.details")) &&
			bytes.Contains(raw, []byte(`"resourceMetrics"`)) && bytes.Contains(raw, []byte("gen_ai.client.operation.duration"))
	}, 20*time.Second, 200*time.Millisecond, "OpenLIT's logs or metrics did not reach the file exporter")

	run.Stop(t)
	spans := run.Spans(t)
	gateway := map[string]fileSpan{} // by span id
	byTrace := map[string][]fileSpan{}
	for _, s := range spans {
		if s.Kind == int(ptrace.SpanKindServer) && s.Attrs["gen_ai.operation.name"] != nil {
			gateway[s.SpanID] = s
		}
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	linkedTo := map[string]string{} // client span id -> gateway span id, from links either way
	for _, s := range spans {
		for _, l := range s.Links {
			if l.Attrs["llt.gen_ai.correlation.method"] == nil {
				continue
			}
			if _, isGW := gateway[s.SpanID]; isGW {
				linkedTo[l.SpanID] = s.SpanID
			} else {
				linkedTo[s.SpanID] = l.SpanID
			}
		}
	}

	for _, o := range outcomes {
		name := fmt.Sprintf("%s propagate=%v direct=%v", o.sdk, o.propagate, o.direct)
		var clients []fileSpan
		for _, s := range spans {
			if s.Service == o.service && s.Attrs["gen_ai.operation.name"] != nil {
				clients = append(clients, s)
			}
		}
		pairs := 0
		for _, c := range clients {
			// Normalized to GenAI semantic conventions v1.41.
			assert.Equal(t, "chat", c.Attrs["gen_ai.operation.name"], name)
			assert.Equal(t, "demo", c.Attrs["gen_ai.request.model"], "%s: the request model is what was asked for", name)
			assert.NotNil(t, c.Attrs["gen_ai.provider.name"], name)
			assert.NotContains(t, c.Attrs, "llm.model_name", name)
			assert.NotContains(t, c.Attrs, "llm.token_count.prompt", name)
			if o.direct {
				assert.NotContains(t, linkedTo, c.SpanID, "%s: a call that did not go through the gateway has no pair", name)
				continue
			}
			// Paired with its gateway span: by parentage when the trace context was propagated,
			// by a correlation link otherwise.
			var gw fileSpan
			var ok bool
			if o.propagate {
				for _, s := range byTrace[c.TraceID] {
					if _, isGW := gateway[s.SpanID]; isGW {
						gw, ok = s, true
					}
				}
				assert.Empty(t, c.Links, "%s: propagated context needs no link", name)
			} else if id, linked := linkedTo[c.SpanID]; linked {
				gw, ok = gateway[id]
			}
			if !assert.True(t, ok, "%s: client span %s %s is not paired with a gateway span", name, c.Name, c.SpanID) {
				continue
			}
			pairs++
			// The client span has what its call was answered, streams included.
			call := o.run.Calls[0]
			if gw.Attrs["gen_ai.response.id"] == o.run.Calls[1].ResponseID {
				call = o.run.Calls[1]
			}
			assert.Equal(t, call.ResponseID, gw.Attrs["gen_ai.response.id"], name)
			assert.EqualValues(t, call.Usage.Out, c.Attrs["gen_ai.usage.output_tokens"], "%s: output tokens on the client span", name)
			assert.EqualValues(t, call.Usage.In, c.Attrs["gen_ai.usage.input_tokens"], "%s: input tokens on the client span", name)
			assert.Equal(t, call.Model, c.Attrs["gen_ai.response.model"], name)
		}
		t.Logf("%-13s propagate=%-5v direct=%-5v calls=%d client spans=%d correlated pairs=%d requests counted on the dashboard=%d",
			o.sdk, o.propagate, o.direct, len(o.run.Calls), len(clients), pairs, o.counted)
		assert.Len(t, clients, len(o.run.Calls), name)
		assert.Equal(t, len(o.run.Calls), o.counted, "%s: each call counts once", name)
		if !o.direct {
			assert.Equal(t, len(o.run.Calls), pairs, name)
		}
	}
	t.Logf("openai-go (plain)                       calls=2 client spans=0 correlated pairs=0 requests counted on the dashboard=%d", goCounted)
	assert.Equal(t, 2, goCounted)

	// The page, in Chromium: every call once, the tokens the clients were answered.
	b := browsertest.New(t, browsertest.Offline())
	page := b.Open(t, browsertest.FileURL(run.Dashboard))
	page.WaitForPlots(t, 17, 60*time.Second)
	page.AssertNoErrors(t)
	var raw string
	page.Eval(t, `JSON.stringify(JSON.parse(document.getElementById("llt-data").textContent).sections.find(s => s.name === "unified").summary)`, &raw)
	var sum liveSummary
	require.NoError(t, json.Unmarshal([]byte(raw), &sum))
	t.Logf("dashboard: %d requests, %d tokens in, %d out; the clients made %d calls and were answered %d in, %d out",
		sum.Total, sum.TokensIn, sum.TokensOut, wantCalls, wantIn, wantOut)
	assert.Equal(t, wantCalls, sum.Total)
	assert.Equal(t, wantIn, sum.TokensIn)
	assert.Equal(t, wantOut, sum.TokensOut)

	// drop_content: no prompt and no answer in any exporter's output.
	outputs := []string{run.File, run.Dashboard}
	graphs, _ := filepath.Glob(filepath.Join(run.Graphs, "*"))
	outputs = append(outputs, graphs...)
	require.NotEmpty(t, graphs, "the graphistry exporter wrote no files")
	for _, path := range outputs {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, s := range secrets {
			j, _ := json.Marshal(s)
			assert.False(t, bytes.Contains(data, []byte(s)) || bytes.Contains(data, bytes.Trim(j, `"`)),
				"%q left the collector in %s", s, filepath.Base(path))
		}
		assert.NotContains(t, string(data), "gen_ai.input.messages", filepath.Base(path))
		assert.NotContains(t, string(data), "gen_ai.output.messages", filepath.Base(path))
	}
}

// clientSpans counts the GenAI spans of one client service in spans.
func clientSpans(spans []fileSpan, service string) int {
	n := 0
	for _, s := range spans {
		if s.Service == service && s.Attrs["gen_ai.operation.name"] != nil {
			n++
		}
	}
	return n
}
