// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Arrival processes accepted by --arrivals.
const (
	arrivalsFixed   = "fixed"
	arrivalsPoisson = "poisson"
)

// chatPath is the OpenAI-compatible endpoint that lltload posts to.
const chatPath = "/v1/chat/completions"

// config is the validated command line.
type config struct {
	url         string // the base URL as given
	endpoint    string // the full chat completions URL
	qps         float64
	arrivals    string
	concurrency int
	duration    time.Duration // 0: until a signal
	requests    int           // 0: no limit
	maxTokens   intRange
	temperature floatRange
	streamRatio float64
	model       string
	seed        int64
	apiKeyEnv   string
	apiKey      string // read from the environment variable apiKeyEnv; never printed
	traceparent bool
	timeout     time.Duration // per request
	logPath     string        // JSON lines, one per finished request; "" for none
	verbose     bool
	json        bool
}

// intRange is an inclusive range of integers, drawn from uniformly.
type intRange struct{ min, max int }

// String formats r as --max-tokens accepts it.
func (r intRange) String() string {
	if r.min == r.max {
		return strconv.Itoa(r.min)
	}
	return strconv.Itoa(r.min) + ":" + strconv.Itoa(r.max)
}

// floatRange is a closed range of floats, drawn from uniformly.
type floatRange struct{ min, max float64 }

// String formats r as --temperature accepts it.
func (r floatRange) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	if r.min == r.max {
		return f(r.min)
	}
	return f(r.min) + ":" + f(r.max)
}

// usageError is an error in the command line; it exits with status 2.
type usageError struct{ msg string }

// Error returns the message.
func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

const usageHead = `lltload sends OpenAI-compatible chat completion requests to a llama-server or to the
otelcol-llt gateway at a target rate, and prints a summary when it stops.

Usage: lltload [flags]

Flags:
`

const usageTail = `
It runs until --duration passes, --requests requests were scheduled, or SIGINT/SIGTERM arrives
(a second signal cancels the requests still in flight).
Exit status: 0 normally, 1 when every request sent failed, 2 on a usage error.
`

// newFlagSet defines the flags on a new FlagSet and returns it with the raw values.
func newFlagSet() (*flag.FlagSet, *rawFlags) {
	fs := flag.NewFlagSet("lltload", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	r := &rawFlags{}
	fs.StringVar(&r.url, "url", "http://127.0.0.1:8081", "base `URL` of the llama-server or gateway; requests go to URL"+chatPath)
	fs.Float64Var(&r.qps, "qps", 2, "target request rate, requests per second")
	fs.StringVar(&r.arrivals, "arrivals", arrivalsPoisson, "arrival process: fixed (evenly spaced) or poisson (exponential gaps)")
	fs.IntVar(&r.concurrency, "concurrency", 8, "most requests in flight; an arrival beyond it is skipped, not queued")
	fs.DurationVar(&r.duration, "duration", 0, "how long to send requests (e.g. 30s); 0 runs until SIGINT/SIGTERM")
	fs.IntVar(&r.requests, "requests", 0, "stop after `N` scheduled requests (sent plus skipped); 0 means no limit")
	fs.StringVar(&r.maxTokens, "max-tokens", "8:32", "max_tokens of each request: `MIN:MAX` drawn uniformly, or one number")
	fs.StringVar(&r.temperature, "temperature", "0:1", "temperature of each request: `MIN:MAX` drawn uniformly, or one number")
	fs.Float64Var(&r.streamRatio, "stream-ratio", 0.5, "fraction of requests sent with \"stream\": true, between 0 and 1")
	fs.StringVar(&r.model, "model", "", "the request's \"model\" field; left out when empty")
	fs.Int64Var(&r.seed, "seed", 1, "seed of the random arrivals, prompts, token limits and temperatures")
	fs.StringVar(&r.apiKeyEnv, "api-key-env", "LLAMA_API_KEY", "`NAME` of the environment variable holding the API key, sent as \"Authorization: Bearer KEY\" when set")
	fs.BoolVar(&r.traceparent, "traceparent", true, "send a W3C traceparent header with a new random trace id on each request")
	fs.DurationVar(&r.timeout, "timeout", 60*time.Second, "time limit of one request, including reading the whole answer")
	fs.StringVar(&r.logPath, "log", "", "write one JSON line per finished request (trace id, status, latency, tokens) to `FILE`")
	fs.BoolVar(&r.verbose, "v", false, "print progress to stderr about once a second")
	fs.BoolVar(&r.json, "json", false, "print the summary as JSON")
	return fs, r
}

// rawFlags are the flag values before validation.
type rawFlags struct {
	url, arrivals, maxTokens, temperature, model, apiKeyEnv, logPath string
	qps, streamRatio                                                 float64
	concurrency, requests                                            int
	duration, timeout                                                time.Duration
	seed                                                             int64
	traceparent, verbose, json                                       bool
}

// printUsage writes the help text with every flag spelled --name.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	var b strings.Builder
	b.WriteString(usageHead)
	fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		if len(f.Name) == 1 {
			b.WriteString("  -" + f.Name)
		} else {
			b.WriteString("  --" + f.Name)
		}
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

// parseConfig parses and validates args. It returns flag.ErrHelp for -h, a *usageError for
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
		return nil, fs, usagef("unexpected argument %q: lltload takes flags only", fs.Arg(0))
	}
	c := &config{
		url: r.url, arrivals: r.arrivals, qps: r.qps, concurrency: r.concurrency,
		duration: r.duration, requests: r.requests, streamRatio: r.streamRatio, model: r.model,
		seed: r.seed, apiKeyEnv: r.apiKeyEnv, traceparent: r.traceparent, timeout: r.timeout,
		logPath: r.logPath, verbose: r.verbose, json: r.json,
	}
	var err error
	if c.endpoint, err = chatEndpoint(r.url); err != nil {
		return nil, fs, usagef("--url %q: %v", r.url, err)
	}
	switch {
	case math.IsNaN(r.qps) || math.IsInf(r.qps, 0) || r.qps <= 0:
		return nil, fs, usagef("--qps must be > 0, got %v", r.qps)
	case r.arrivals != arrivalsFixed && r.arrivals != arrivalsPoisson:
		return nil, fs, usagef("--arrivals must be %s or %s, got %q", arrivalsFixed, arrivalsPoisson, r.arrivals)
	case r.concurrency < 1:
		return nil, fs, usagef("--concurrency must be >= 1, got %d", r.concurrency)
	case r.duration < 0:
		return nil, fs, usagef("--duration must be >= 0, got %v", r.duration)
	case r.requests < 0:
		return nil, fs, usagef("--requests must be >= 0, got %d", r.requests)
	case math.IsNaN(r.streamRatio) || r.streamRatio < 0 || r.streamRatio > 1:
		return nil, fs, usagef("--stream-ratio must be between 0 and 1, got %v", r.streamRatio)
	case r.timeout <= 0:
		return nil, fs, usagef("--timeout must be > 0, got %v", r.timeout)
	}
	if c.maxTokens, err = parseIntRange(r.maxTokens); err != nil {
		return nil, fs, usagef("--max-tokens %q: %v", r.maxTokens, err)
	}
	if c.maxTokens.min < 1 {
		return nil, fs, usagef("--max-tokens %q: must be >= 1", r.maxTokens)
	}
	if c.temperature, err = parseFloatRange(r.temperature); err != nil {
		return nil, fs, usagef("--temperature %q: %v", r.temperature, err)
	}
	if c.temperature.min < 0 {
		return nil, fs, usagef("--temperature %q: must be >= 0", r.temperature)
	}
	if r.apiKeyEnv != "" {
		c.apiKey = getenv(r.apiKeyEnv)
	}
	return c, fs, nil
}

// dashDash rewrites the flag package's "-name" in its error messages as "--name", the spelling
// that the help text uses.
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

// parseIntRange parses "MIN:MAX" or "N".
func parseIntRange(s string) (intRange, error) {
	lo, hi, err := splitRange(s)
	if err != nil {
		return intRange{}, err
	}
	var r intRange
	if r.min, err = strconv.Atoi(lo); err != nil {
		return intRange{}, fmt.Errorf("%q is not an integer", lo)
	}
	if r.max, err = strconv.Atoi(hi); err != nil {
		return intRange{}, fmt.Errorf("%q is not an integer", hi)
	}
	if r.min > r.max {
		return intRange{}, fmt.Errorf("min %d is greater than max %d", r.min, r.max)
	}
	return r, nil
}

// parseFloatRange parses "MIN:MAX" or "X".
func parseFloatRange(s string) (floatRange, error) {
	lo, hi, err := splitRange(s)
	if err != nil {
		return floatRange{}, err
	}
	parse := func(v string) (float64, error) {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%q is not a finite number", v)
		}
		return f, nil
	}
	var r floatRange
	if r.min, err = parse(lo); err != nil {
		return floatRange{}, err
	}
	if r.max, err = parse(hi); err != nil {
		return floatRange{}, err
	}
	if r.min > r.max {
		return floatRange{}, fmt.Errorf("min %v is greater than max %v", r.min, r.max)
	}
	return r, nil
}

// splitRange splits "MIN:MAX" into its halves; "N" gives N twice.
func splitRange(s string) (lo, hi string, err error) {
	parts := strings.Split(s, ":")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	switch {
	case len(parts) == 1 && parts[0] != "":
		return parts[0], parts[0], nil
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		return parts[0], parts[1], nil
	}
	return "", "", errors.New("want MIN:MAX or a single value")
}
