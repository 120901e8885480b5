// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
)

// upstreamAnswers are llama-server's answers captured from the upstream 2026-05 CUDA build (the
// same files as the receiver's golden test): its /metrics says predicted_tokens_seconds 157.008,
// which is tokens_predicted_total / tokens_predicted_seconds_total (1100 / 7.006) and which that
// build never resets.
var upstreamAnswers = filepath.Join("..", "receiver", "llamacppreceiver", "testdata", "scraper", "upstream-2026-05-cuda-h200")

const (
	// throughputPerScrape is how many tokens the fake server generates between two /metrics
	// requests.
	throughputPerScrape = 400
	// upstreamSlotSpeed is the fixture's predicted_tokens_seconds.
	upstreamSlotSpeed  = 157.008
	throughputInterval = time.Second
)

// upstreamServer serves the captured answers of the upstream build; at every /metrics request
// tokens_predicted_total has grown by throughputPerScrape (and tokens_predicted_seconds_total by
// the time those tokens took at 157.008 tokens/s, so predicted_tokens_seconds stays 157.008, as it
// does on that build). It records when each /metrics request came.
type upstreamServer struct {
	*httptest.Server
	mu    sync.Mutex
	times []time.Time
}

func newUpstreamServer(t *testing.T) *upstreamServer {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(upstreamAnswers, name))
		require.NoError(t, err)
		return b
	}
	metrics := string(read("metrics.txt"))
	total := regexp.MustCompile(`(?m)^llamacpp:tokens_predicted_total .*$`)
	seconds := regexp.MustCompile(`(?m)^llamacpp:tokens_predicted_seconds_total .*$`)
	speed := regexp.MustCompile(`(?m)^llamacpp:predicted_tokens_seconds (.*)$`)
	require.Equal(t, strconv.FormatFloat(upstreamSlotSpeed, 'f', -1, 64), speed.FindStringSubmatch(metrics)[1])
	require.True(t, total.MatchString(metrics) && seconds.MatchString(metrics))

	s := &upstreamServer{}
	mux := http.NewServeMux()
	for path, file := range map[string]string{"/health": "health.json", "/props": "props.json", "/v1/models": "v1-models.json", "/slots": "slots.json"} {
		body := read(file)
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		})
	}
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		n := len(s.times)
		s.times = append(s.times, time.Now())
		s.mu.Unlock()
		grown := float64(n * throughputPerScrape)
		body := total.ReplaceAllString(metrics, fmt.Sprintf("llamacpp:tokens_predicted_total %d", 1100+n*throughputPerScrape))
		body = seconds.ReplaceAllString(body, fmt.Sprintf("llamacpp:tokens_predicted_seconds_total %g", 7.006+grown/upstreamSlotSpeed))
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(body))
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// metricsTimes are the times of the /metrics requests so far.
func (s *upstreamServer) metricsTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

// liveFigure is a figure of the live page's JSON feed, with its time axes expanded.
type liveFigure struct {
	ID    string `json:"id"`
	Empty string `json:"empty"`
	Data  []struct {
		Name string `json:"name"`
		// X is a time axis ({"t0", "d"}) on time-series panels, something else elsewhere.
		X json.RawMessage `json:"x"`
		Y []*float64      `json:"y"`
	} `json:"data"`
}

type liveFeed struct {
	Sections []struct {
		Name    string       `json:"name"`
		Figures []liveFigure `json:"figures"`
		Summary *struct {
			Stats []struct {
				Name    string   `json:"name"`
				Samples int      `json:"samples"`
				Mean    *float64 `json:"mean"`
				Max     *float64 `json:"max"`
			} `json:"stats"`
		} `json:"summary"`
	} `json:"sections"`
}

// TestThroughputIsTheCounterRate: llama-server's predicted_tokens_seconds is not the server's
// throughput. Against a server that, like the upstream 2026-05 build, keeps reporting 157.008
// while it generates throughputPerScrape tokens between scrapes, the live page's "Generation
// tokens/s" panel draws the growth of tokens_predicted_total over the time between scrapes, and
// shows 157.008 only as the separately labelled per-slot series.
func TestThroughputIsTheCounterRate(t *testing.T) {
	srv := newUpstreamServer(t)
	dir := t.TempDir()
	healthPort, servePort := llamatest.FreePort(t), llamatest.FreePort(t)
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
extensions:
  health_check: {endpoint: "127.0.0.1:%d"}
receivers:
  llamacpp:
    endpoint: %q
    collection_interval: %s
exporters:
  plotlyhtml:
    path: %q
    serve: {endpoint: "127.0.0.1:%d"}
    dashboards: [live]
service:
  extensions: [health_check]
  telemetry: {metrics: {level: none}}
  pipelines:
    metrics: {receivers: [llamacpp], exporters: [plotlyhtml]}
`, healthPort, srv.URL, throughputInterval, filepath.Join(dir, "dashboard.html"), servePort), 0o600))
	logs := &lockedBuffer{}
	cmd := execCollector(t, cfg, logs)
	waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), 30*time.Second, "collector not healthy:\n%s", logs)

	fetch := func() (*liveFeed, error) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/dashboard.json?d=live", servePort))
		if err != nil {
			return nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		var f liveFeed
		return &f, json.NewDecoder(resp.Body).Decode(&f)
	}
	figure := func(f *liveFeed, id string) *liveFigure {
		for _, sec := range f.Sections {
			for i := range sec.Figures {
				if sec.Figures[i].ID == id {
					return &sec.Figures[i]
				}
			}
		}
		return nil
	}

	// Four scrapes or more: three rates.
	const wantRates = 3
	var feed *liveFeed
	require.Eventually(t, func() bool {
		f, err := fetch()
		if err != nil {
			return false
		}
		g := figure(f, "live-generation-rate")
		if g == nil || len(g.Data) == 0 || len(g.Data[0].Y) < wantRates {
			return false
		}
		feed = f
		return true
	}, 30*time.Second, 200*time.Millisecond, "the live page never drew %d rates:\n%s", wantRates, logs)

	g := figure(feed, "live-generation-rate")
	require.Empty(t, g.Empty)
	main := g.Data[0]
	assert.Equal(t, "generated tokens/s", main.Name, "the panel's main series")
	scrapes := srv.metricsTimes()
	require.GreaterOrEqual(t, len(scrapes), wantRates+1)

	// Each point is at the receiver's scrape time; the /metrics request of that scrape is the
	// nearest one the server saw, and the rate is throughputPerScrape over the time since the one
	// before it.
	var axis struct {
		T0 int64   `json:"t0"`
		D  []int64 `json:"d"`
	}
	require.NoError(t, json.Unmarshal(main.X, &axis))
	require.Len(t, axis.D, len(main.Y))
	x := axis.T0
	for j, y := range main.Y {
		x += axis.D[j]
		require.NotNil(t, y, "point %d is a gap", j)
		at := time.UnixMilli(x)
		k := 0
		for i := range scrapes {
			if absDur(scrapes[i].Sub(at)) < absDur(scrapes[k].Sub(at)) {
				k = i
			}
		}
		require.Positive(t, k, "point %d at %v is the first scrape's", j, at)
		require.Less(t, absDur(scrapes[k].Sub(at)), throughputInterval/4, "point %d at %v: no /metrics request near it", j, at)
		interval := scrapes[k].Sub(scrapes[k-1])
		want := throughputPerScrape / interval.Seconds()
		t.Logf("point %d: %d tokens over %v between /metrics requests = %.2f tokens/s; drawn %.2f tokens/s", j,
			throughputPerScrape, interval.Round(time.Millisecond), want, *y)
		assert.InEpsilon(t, want, *y, 0.05, "point %d: the counter's growth over the interval", j)
		assert.Greater(t, math.Abs(*y-upstreamSlotSpeed), 50.0, "point %d is llama-server's per-slot gauge", j)
	}

	// llama-server's own figure is there, as its own series, unchanged.
	var slot []*float64
	for _, tr := range g.Data[1:] {
		assert.NotEqual(t, main.Name, tr.Name)
		if tr.Name == "llama-server per-slot decode speed (its own gauge)" {
			slot = tr.Y
		}
	}
	require.NotEmpty(t, slot, "no per-slot series: %+v", g.Data)
	for _, y := range slot {
		require.NotNil(t, y)
		assert.InDelta(t, upstreamSlotSpeed, *y, 0.01)
	}

	// The summary's server throughput is the counter rate too.
	var found bool
	for _, sec := range feed.Sections {
		if sec.Name != "live" || sec.Summary == nil {
			continue
		}
		for _, st := range sec.Summary.Stats {
			if st.Name == "server generation throughput" {
				found = true
				require.NotNil(t, st.Mean)
				require.NotNil(t, st.Max)
				t.Logf("summary: server generation throughput mean %.2f, max %.2f tokens/s over %d intervals", *st.Mean, *st.Max, st.Samples)
				assert.InEpsilon(t, throughputPerScrape/throughputInterval.Seconds(), *st.Mean, 0.15)
			}
		}
	}
	assert.True(t, found, "the live summary has no server generation throughput")
	stats := figure(feed, "live-statistics")
	require.NotNil(t, stats, "the live page has no statistics table")
	assert.Empty(t, stats.Empty)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "collector exit:\n%s", logs)
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
