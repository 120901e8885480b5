// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

var (
	codePrompts = []string{
		"func add(a, b int) int { return a + b }",
		"for (int i = 0; i < n; i++) { sum += a[i]; }",
		"SELECT id, name FROM users WHERE age > 30;",
		"def fib(n): return n if n < 2 else fib(n-1) + fib(n-2)",
		"const xs = items.map((x) => x * 2).filter((x) => x > 10);",
		"if err != nil { return fmt.Errorf(\"open: %w\", err) }",
		"class Stack { push(x) { this.items.push(x); } }",
		"while (*p != '\\0') { p++; } return p - s;",
		"let v: Vec<u32> = (0..10).map(|i| i * i).collect();",
		"git log --oneline | grep -c fix; echo $?",
		"#include <stdio.h>\nint main() { printf(\"%d\\n\", 42); }",
		"map[string]int{\"a\": 1, \"b\": 2}[key]++",
	}
	prosePrompts = []string{
		"The weather was lovely this morning and we walked along the river.",
		"My grandmother used to bake bread every Sunday before church.",
		"Please tell me a short story about a dog who learns to swim.",
		"We are planning a trip to the mountains next summer with friends.",
		"The library opens at nine and closes late on weekdays.",
		"She smiled when she saw the garden full of yellow flowers.",
		"What is a good name for a small family restaurant by the sea",
		"Reading a good book on a rainy afternoon is a simple pleasure.",
		"The children played in the park until the sun went down.",
		"He wrote a long letter to his brother who lives abroad.",
		"Our neighbours have a friendly cat that visits every evening.",
		"Learning to play the piano takes patience and daily practice.",
	}
)

// TestGenAIEnrichEndToEnd runs the distribution with the launcher, the gateway (capturing content)
// and genaienrich with embeddings and drop_content, sends code and prose prompts with known trace
// ids, and reads the file exporter's output: every span has the model's facts, code and prose
// land apart in the 3D projection, and no prompt text leaves the collector.
func TestGenAIEnrichEndToEnd(t *testing.T) {
	model := llamatest.WriteModel(t, modelgen.Tiny())
	dir := t.TempDir()
	out := filepath.Join(dir, "telemetry.jsonl")
	llamaPort, gwPort := llamatest.FreePort(t), llamatest.FreePort(t)
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
extensions:
  llamalauncher:
    executable: %q
    model: %q
    port: %d
    context_size: 1024
    parallel: 2
    gpu: {devices: []}
receivers:
  llamacpp:
    launcher: llamalauncher
    collection_interval: 1s
    gateway:
      endpoint: "127.0.0.1:%d"
      capture_content: true
processors:
  genaienrich:
    launcher: llamalauncher
    cost: {gpu_hourly_usd: 2.0}
    embeddings:
      enabled: true
      window: 200
      drop_content: true
      categories:
        - {name: code, match: "[{};]|=>|def |SELECT|#include|\\|"}
  batch: {timeout: 100ms}
exporters:
  file: {path: %q, flush_interval: 100ms}
service:
  extensions: [llamalauncher]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [llamacpp], processors: [genaienrich, batch], exporters: [file]}
    metrics: {receivers: [llamacpp], processors: [genaienrich, batch], exporters: [file]}
`, llamatest.Server(t), model, llamaPort, gwPort, out), 0o600))
	cmd, logs := startCollector(t, otelcolBin(t), cfg, llamaPort)

	category := map[string]string{} // trace id -> code | prose
	seq := map[string]int{}
	send := func(prompt, kind string) {
		var tid [16]byte
		_, _ = rand.Read(tid[:])
		id := hex.EncodeToString(tid[:])
		body, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"role": "user", "content": prompt}}, "max_tokens": 4})
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", gwPort), strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("traceparent", "00-"+id+"-00f067aa0ba902b7-01")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
		category[id] = kind
		seq[id] = len(seq)
	}
	for round := range 2 {
		for i := range codePrompts {
			send(codePrompts[i]+strings.Repeat(" ", round), "code")
			send(prosePrompts[i]+strings.Repeat(" ", round), "prose")
		}
	}

	type point struct {
		kind, cat string
		p         [3]float64
		seq       int
	}
	var points []point
	var facts map[string]any
	require.Eventually(t, func() bool {
		points, facts = nil, nil
		f, err := os.Open(out)
		if err != nil {
			return false
		}
		defer func() { _ = f.Close() }()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			for _, sp := range spansOf(t, sc.Bytes()) {
				kind, ok := category[sp.TraceID]
				if !ok || sp.Attrs["gen_ai.operation.name"] == nil {
					continue
				}
				facts = sp.Attrs
				if pr, ok := sp.Attrs["llt.embedding.projection"].([]any); ok && len(pr) == 3 {
					var p [3]float64
					for i := range 3 {
						p[i], _ = pr[i].(float64)
					}
					cat, _ := sp.Attrs["llt.embedding.category"].(string)
					points = append(points, point{kind, cat, p, seq[sp.TraceID]})
				}
			}
		}
		// Every span but the first two: the first fit needs three vectors (embed.MinFitVectors).
		return len(points) >= len(category)-2
	}, 30*time.Second, 200*time.Millisecond, "spans with projections missing:\n%s", logs)

	// Model facts from the launcher's GGUF, and the derived values.
	assert.Equal(t, "llama", facts["llamacpp.model.architecture"])
	assert.Equal(t, "F32", facts["llamacpp.model.quantization"])
	assert.EqualValues(t, 2, facts["llamacpp.model.block_count"])
	assert.EqualValues(t, 64, facts["llamacpp.model.embedding_length"])
	assert.Contains(t, facts, "llt.gen_ai.output_tokens_per_second")
	assert.Equal(t, "gpu_time", facts["llt.gen_ai.cost.method"])

	// Code and prose land in separable regions: every point is nearer its own group's centroid
	// than the other group's, with the centroids farther apart than the mean spread. Judged on
	// the second round: a point is projected with the fit of its time, and the first fits are
	// made on 3, 6 and 12 vectors (the window doubles, embed.MinFitVectors), so the first
	// round's points sit in bases of their own; which early fit a point meets depends on when
	// the background refit ends. From the second round on, the fit holds the whole first round.
	firstRound := 2 * len(codePrompts)
	all := len(points)
	points = slices.DeleteFunc(points, func(pt point) bool { return pt.seq < firstRound })
	require.Len(t, points, firstRound, "second-round points")
	var cc, cp [3]float64
	var nc, np float64
	for _, pt := range points {
		for i := range 3 {
			if pt.kind == "code" {
				cc[i] += pt.p[i]
			} else {
				cp[i] += pt.p[i]
			}
		}
		if pt.kind == "code" {
			nc++
		} else {
			np++
		}
	}
	require.Positive(t, nc)
	require.Positive(t, np)
	for i := range 3 {
		cc[i] /= nc
		cp[i] /= np
	}
	dist := func(a, b [3]float64) float64 {
		return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
	}
	wrong, spread := 0, 0.0
	for _, pt := range points {
		own, other := cc, cp
		if pt.kind == "prose" {
			own, other = cp, cc
		}
		spread += dist(pt.p, own)
		if dist(pt.p, own) >= dist(pt.p, other) {
			wrong++
		}
	}
	spread /= float64(len(points))
	t.Logf("%d points, %d of the second round; centroid distance %.3f, mean spread %.3f, %d on the wrong side", all, len(points), dist(cc, cp), spread, wrong)
	assert.LessOrEqual(t, wrong, len(points)/10, "code and prose are not separated")
	assert.Greater(t, dist(cc, cp), spread, "the groups overlap")
	codeRule := 0
	for _, pt := range points {
		if pt.kind == "code" && pt.cat == "code" {
			codeRule++
		}
	}
	assert.Greater(t, codeRule, int(nc)/2, "the code rule names code prompts")

	// No captured text leaves: not one prompt is in the output.
	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	for _, p := range append(append([]string{}, codePrompts...), prosePrompts...) {
		j, _ := json.Marshal(p)
		assert.NotContains(t, string(raw), strings.Trim(string(j), `"`), "captured text left the collector")
	}
	assert.NotContains(t, string(raw), "gen_ai.input.messages")
	assert.NotContains(t, string(raw), "gen_ai.output.messages")

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "collector exit:\n%s", logs)
}

type jsonSpan struct {
	TraceID string
	Attrs   map[string]any
}

// spansOf decodes the spans of one OTLP/JSON line of the file exporter (other signals: none);
// a line that does not decode has none.
func spansOf(_ *testing.T, line []byte) []jsonSpan {
	spans, _ := fileSpansOf(line)
	out := make([]jsonSpan, 0, len(spans))
	for _, s := range spans {
		out = append(out, jsonSpan{TraceID: strings.ToLower(s.TraceID), Attrs: s.Attrs})
	}
	return out
}

func otlpValue(v map[string]any) any {
	switch {
	case v["stringValue"] != nil:
		return v["stringValue"]
	case v["intValue"] != nil:
		var n int64
		_, _ = fmt.Sscan(fmt.Sprint(v["intValue"]), &n)
		return n
	case v["doubleValue"] != nil:
		return v["doubleValue"]
	case v["boolValue"] != nil:
		return v["boolValue"]
	case v["arrayValue"] != nil:
		arr, _ := v["arrayValue"].(map[string]any)
		vals, _ := arr["values"].([]any)
		out := make([]any, 0, len(vals))
		for _, x := range vals {
			m, _ := x.(map[string]any)
			out = append(out, otlpValue(m))
		}
		return out
	}
	return nil
}
