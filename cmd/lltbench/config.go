// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// chatPath is the OpenAI-compatible endpoint that lltbench posts to.
const chatPath = "/v1/chat/completions"

// config is the validated command line.
type config struct {
	direct, gateway  string // base URLs as given
	directEndpoint   string // the chat completions URLs
	gatewayEndpoint  string
	concurrency      []int
	maxTokens        int
	stream           bool
	roundDuration    time.Duration // used when roundRequests is 0
	roundRequests    int
	rounds           int     // gateway rounds per concurrency, at least
	maxRounds        int     // at most, when targetSpread asks for more
	targetSpread     float64 // percent; 0: exactly rounds
	budget           time.Duration
	warmup           int
	pause            time.Duration
	collectorPID     int
	collectorMetrics string
	clkTck           int
	jsonPath         string
	model            string
	temperature      float64
	banTokens        []tokenRange
	bodyExtra        map[string]json.RawMessage
	timeout          time.Duration
	wait             time.Duration
	apiKey           string // from $LLAMA_API_KEY; never printed
	extraDescription string // --body-extra as given, for the report
}

// tokenRange is an inclusive range of token ids.
type tokenRange struct{ lo, hi int }

// usageError is an error in the command line; it exits with status 2.
type usageError struct{ msg string }

// Error returns the message.
func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

const usageHead = `lltbench runs interleaved A/B rounds of chat completions against llama-server directly
(--direct) and through the otelcol-llt gateway (--gateway), with an A/A control, and prints a
markdown report: output tokens/s gateway/direct, added latency, collector CPU per request.

Usage: lltbench [flags]

Flags:
`

const usageTail = `
Rounds at each concurrency go D G D G ... D (D: direct, G: gateway), after --warmup pairs that
are not counted. Exit status: 0 normally, 1 when the run failed, 2 on a usage error.
`

// rawFlags are the flag values before validation.
type rawFlags struct {
	direct, gateway, concurrency, jsonPath, model, banTokens, bodyExtra string
	collectorMetrics                                                    string
	maxTokens, roundRequests, rounds, maxRounds, warmup, collectorPID   int
	clkTck                                                              int
	stream                                                              bool
	roundDuration, budget, pause, timeout, wait                         time.Duration
	targetSpread, temperature                                           float64
}

func newFlagSet() (*flag.FlagSet, *rawFlags) {
	fs := flag.NewFlagSet("lltbench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	r := &rawFlags{}
	fs.StringVar(&r.direct, "direct", "http://127.0.0.1:8080", "base `URL` of llama-server itself")
	fs.StringVar(&r.gateway, "gateway", "http://127.0.0.1:8081", "base `URL` of the gateway in front of the same llama-server")
	fs.StringVar(&r.concurrency, "concurrency", "1,4,16", "comma-separated `LIST` of concurrencies (closed loop: each of N workers sends its next request when its answer is complete)")
	fs.IntVar(&r.maxTokens, "max-tokens", 128, "max_tokens of every request, sent with \"ignore_eos\": true so that every answer has this length (8 for a short-answer run)")
	fs.BoolVar(&r.stream, "stream", false, "stream the answers (SSE, stream_options.include_usage) and measure time to first token and the gap between chunks")
	fs.DurationVar(&r.roundDuration, "round-duration", 4*time.Second, "length of a round; requests still running at its end are awaited, their tokens counted pro rata")
	fs.IntVar(&r.roundRequests, "round-requests", 0, "make each round `N` requests instead of --round-duration")
	fs.IntVar(&r.rounds, "rounds", 4, "gateway rounds per concurrency (there is one direct round more); at least 3")
	fs.IntVar(&r.maxRounds, "max-rounds", 0, "with --target-spread: at most this many gateway rounds per concurrency (default: --rounds)")
	fs.Float64Var(&r.targetSpread, "target-spread", 0, "add rounds (up to --max-rounds, within --budget) until the 95% confidence half-width of the gateway/direct and A/A ratios is below this many `PERCENT`")
	fs.DurationVar(&r.budget, "budget", 0, "wall time for the whole run; each concurrency gets an equal share of what is left, and no round starts that would overrun it (0: no limit)")
	fs.IntVar(&r.warmup, "warmup", 1, "uncounted direct and gateway rounds before each concurrency's rounds")
	fs.DurationVar(&r.pause, "pause", 500*time.Millisecond, "idle time after each round, counted in its collector CPU window")
	fs.IntVar(&r.collectorPID, "collector-pid", 0, "`PID` of the collector, to read its CPU time and memory from /proc")
	fs.StringVar(&r.collectorMetrics, "collector-metrics", "", "`URL` of the collector's own Prometheus metrics (e.g. http://127.0.0.1:8888/metrics), read at each round boundary to count the spans it accepted (otelcol_receiver_accepted_spans) and report CPU per span")
	fs.IntVar(&r.clkTck, "clk-tck", 100, "clock ticks per second of /proc/PID/stat (USER_HZ)")
	fs.StringVar(&r.jsonPath, "json", "", "write the whole result, every round included, as JSON to `FILE`")
	fs.StringVar(&r.model, "model", "", "the request's \"model\" field; left out when empty")
	fs.Float64Var(&r.temperature, "temperature", 0, "temperature of every request")
	fs.StringVar(&r.banTokens, "ban-tokens", "", "token id `RANGES` (e.g. 0-258) never to sample, sent as logit_bias; for random-weight models whose byte tokens make invalid UTF-8")
	fs.StringVar(&r.bodyExtra, "body-extra", "", "a JSON object (or @FILE holding one) whose fields are added to every request body")
	fs.DurationVar(&r.timeout, "timeout", 2*time.Minute, "time limit of one request")
	fs.DurationVar(&r.wait, "wait", 0, "wait up to this long for GET /health of both URLs to answer 200 before starting")
	return fs, r
}

// printUsage writes the help text with every flag spelled --name.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	var b strings.Builder
	b.WriteString(usageHead)
	fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		b.WriteString("  --" + f.Name)
		if name != "" {
			b.WriteString(" " + name)
		}
		b.WriteString("\n        " + help)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "false" {
			b.WriteString(" (default " + f.DefValue + ")")
		}
		b.WriteString("\n")
	})
	b.WriteString(usageTail)
	_, _ = io.WriteString(w, b.String())
}

// parseConfig parses and validates args. It returns flag.ErrHelp for -h and a *usageError for
// anything wrong in the command line.
func parseConfig(args []string, getenv func(string) string) (*config, *flag.FlagSet, error) {
	fs, r := newFlagSet()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, fs, err
		}
		return nil, fs, usagef("%s", dashDash(err.Error()))
	}
	if fs.NArg() > 0 {
		return nil, fs, usagef("unexpected argument %q: lltbench takes flags only", fs.Arg(0))
	}
	c := &config{
		direct: r.direct, gateway: r.gateway, maxTokens: r.maxTokens, stream: r.stream,
		roundDuration: r.roundDuration, roundRequests: r.roundRequests, rounds: r.rounds,
		maxRounds: r.maxRounds, targetSpread: r.targetSpread, budget: r.budget, warmup: r.warmup,
		pause: r.pause, collectorPID: r.collectorPID, clkTck: r.clkTck, jsonPath: r.jsonPath,
		collectorMetrics: r.collectorMetrics,
		model:            r.model, temperature: r.temperature, timeout: r.timeout, wait: r.wait,
		apiKey: getenv("LLAMA_API_KEY"), extraDescription: r.bodyExtra,
	}
	var err error
	if c.directEndpoint, err = chatEndpoint(r.direct); err != nil {
		return nil, fs, usagef("--direct %q: %v", r.direct, err)
	}
	if c.gatewayEndpoint, err = chatEndpoint(r.gateway); err != nil {
		return nil, fs, usagef("--gateway %q: %v", r.gateway, err)
	}
	if c.concurrency, err = parseIntList(r.concurrency); err != nil {
		return nil, fs, usagef("--concurrency %q: %v", r.concurrency, err)
	}
	if c.maxRounds == 0 {
		c.maxRounds = c.rounds
	}
	switch {
	case r.maxTokens < 1:
		return nil, fs, usagef("--max-tokens must be >= 1, got %d", r.maxTokens)
	case r.roundRequests < 0:
		return nil, fs, usagef("--round-requests must be >= 0, got %d", r.roundRequests)
	case r.roundRequests == 0 && r.roundDuration <= 0:
		return nil, fs, usagef("--round-duration must be > 0, got %v", r.roundDuration)
	case r.rounds < 3:
		return nil, fs, usagef("--rounds must be >= 3 (the A/A control needs two), got %d", r.rounds)
	case c.maxRounds < c.rounds:
		return nil, fs, usagef("--max-rounds %d is less than --rounds %d", c.maxRounds, c.rounds)
	case math.IsNaN(r.targetSpread) || r.targetSpread < 0:
		return nil, fs, usagef("--target-spread must be >= 0, got %v", r.targetSpread)
	case r.budget < 0:
		return nil, fs, usagef("--budget must be >= 0, got %v", r.budget)
	case r.warmup < 0:
		return nil, fs, usagef("--warmup must be >= 0, got %d", r.warmup)
	case r.pause < 0:
		return nil, fs, usagef("--pause must be >= 0, got %v", r.pause)
	case r.collectorPID < 0:
		return nil, fs, usagef("--collector-pid must be > 0, got %d", r.collectorPID)
	case r.clkTck < 1:
		return nil, fs, usagef("--clk-tck must be >= 1, got %d", r.clkTck)
	case r.collectorMetrics != "" && !strings.HasPrefix(r.collectorMetrics, "http://") && !strings.HasPrefix(r.collectorMetrics, "https://"):
		return nil, fs, usagef("--collector-metrics %q: want an http:// or https:// URL", r.collectorMetrics)
	case math.IsNaN(r.temperature) || r.temperature < 0:
		return nil, fs, usagef("--temperature must be >= 0, got %v", r.temperature)
	case r.timeout <= 0:
		return nil, fs, usagef("--timeout must be > 0, got %v", r.timeout)
	case r.wait < 0:
		return nil, fs, usagef("--wait must be >= 0, got %v", r.wait)
	}
	if c.banTokens, err = parseTokenRanges(r.banTokens); err != nil {
		return nil, fs, usagef("--ban-tokens %q: %v", r.banTokens, err)
	}
	if c.bodyExtra, err = parseBodyExtra(r.bodyExtra); err != nil {
		return nil, fs, usagef("--body-extra: %v", err)
	}
	return c, fs, nil
}

// dashDash rewrites the flag package's "-name" in its error messages as "--name".
func dashDash(msg string) string {
	for _, p := range []string{"provided but not defined: -", "flag needs an argument: -", " for flag -"} {
		msg = strings.Replace(msg, p, p+"-", 1)
	}
	return msg
}

// chatEndpoint turns a base URL into the chat completions URL. A URL that already ends in
// /v1/chat/completions (or /v1) is completed rather than extended.
func chatEndpoint(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.Unwrap(err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", errors.New("want an http:// or https:// URL")
	}
	if u.Host == "" {
		return "", errors.New("no host")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("want a base URL without query or fragment")
	}
	p := strings.TrimRight(u.Path, "/")
	switch {
	case strings.HasSuffix(p, chatPath):
	case strings.HasSuffix(p, "/v1"):
		p += "/chat/completions"
	default:
		p += chatPath
	}
	u.Path, u.RawPath = p, ""
	return u.String(), nil
}

// healthURL is the /health URL of the server whose chat completions URL is endpoint.
func healthURL(endpoint string) string {
	return strings.TrimSuffix(endpoint, chatPath) + "/health"
}

// parseIntList parses "1,4,16": positive integers, no repeats, kept in the order given.
func parseIntList(s string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", f)
		}
		if n < 1 {
			return nil, fmt.Errorf("%d: want >= 1", n)
		}
		if seen[n] {
			return nil, fmt.Errorf("%d is listed twice", n)
		}
		seen[n] = true
		out = append(out, n)
	}
	return out, nil
}

// parseTokenRanges parses "0-258,300,400-410" ("" is none).
func parseTokenRanges(s string) ([]tokenRange, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []tokenRange
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q is not a token id or LO-HI range", f)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a token id or LO-HI range", f)
			}
		}
		if b-a > 1<<20 {
			return nil, fmt.Errorf("%q: more than 2^20 tokens", f)
		}
		out = append(out, tokenRange{a, b})
	}
	return out, nil
}

// parseBodyExtra parses a JSON object, or "@FILE" holding one.
func parseBodyExtra(s string) (map[string]json.RawMessage, error) {
	if s == "" {
		return nil, nil
	}
	b := []byte(s)
	if name, ok := strings.CutPrefix(s, "@"); ok {
		var err error
		if b, err = os.ReadFile(name); err != nil {
			return nil, err
		}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, errors.New("want a JSON object")
	}
	for _, k := range []string{"messages", "max_tokens", "stream", "stream_options"} {
		if _, ok := m[k]; ok {
			return nil, fmt.Errorf("%q is set by lltbench itself", k)
		}
	}
	return m, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
