// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigDefaults(t *testing.T) {
	cfg, _, err := parseConfig(nil, func(k string) string {
		if k == "LLAMA_API_KEY" {
			return "k1"
		}
		return ""
	})
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8081/v1/chat/completions", cfg.endpoint)
	assert.Equal(t, 2.0, cfg.qps)
	assert.Equal(t, arrivalsPoisson, cfg.arrivals)
	assert.Equal(t, 8, cfg.concurrency)
	assert.Zero(t, cfg.duration)
	assert.Zero(t, cfg.requests)
	assert.Equal(t, intRange{8, 32}, cfg.maxTokens)
	assert.Equal(t, floatRange{0, 1}, cfg.temperature)
	assert.Equal(t, 0.5, cfg.streamRatio)
	assert.Empty(t, cfg.model)
	assert.Equal(t, int64(1), cfg.seed)
	assert.Equal(t, "k1", cfg.apiKey)
	assert.True(t, cfg.traceparent)
	assert.Equal(t, 60*time.Second, cfg.timeout)
	assert.False(t, cfg.verbose)
	assert.False(t, cfg.json)
}

func TestConfigValues(t *testing.T) {
	cfg, _, err := parseConfig([]string{
		"--url", "https://gw.example:9000/prefix/", "--qps", "0.5", "--arrivals", "fixed",
		"--concurrency", "1", "--duration", "90s", "--requests", "7", "--max-tokens", " 4 : 8 ",
		"--temperature", "0.7", "--stream-ratio", "1", "--model", "m", "--seed", "-3",
		"--api-key-env", "MY_KEY", "--traceparent=false", "--timeout", "5s", "-v", "--json",
	}, func(k string) string { return map[string]string{"MY_KEY": "k2", "LLAMA_API_KEY": "no"}[k] })
	require.NoError(t, err)
	assert.Equal(t, "https://gw.example:9000/prefix/v1/chat/completions", cfg.endpoint)
	assert.Equal(t, 0.5, cfg.qps)
	assert.Equal(t, arrivalsFixed, cfg.arrivals)
	assert.Equal(t, 1, cfg.concurrency)
	assert.Equal(t, 90*time.Second, cfg.duration)
	assert.Equal(t, 7, cfg.requests)
	assert.Equal(t, intRange{4, 8}, cfg.maxTokens)
	assert.Equal(t, floatRange{0.7, 0.7}, cfg.temperature)
	assert.Equal(t, 1.0, cfg.streamRatio)
	assert.Equal(t, "m", cfg.model)
	assert.Equal(t, int64(-3), cfg.seed)
	assert.Equal(t, "k2", cfg.apiKey)
	assert.False(t, cfg.traceparent)
	assert.Equal(t, 5*time.Second, cfg.timeout)
	assert.True(t, cfg.verbose)
	assert.True(t, cfg.json)

	cfg, _, err = parseConfig([]string{"--api-key-env", ""}, func(string) string { return "x" })
	require.NoError(t, err)
	assert.Empty(t, cfg.apiKey)
}

func TestChatEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":                         "http://127.0.0.1:8080/v1/chat/completions",
		"http://127.0.0.1:8080/":                        "http://127.0.0.1:8080/v1/chat/completions",
		"http://h/v1":                                   "http://h/v1/chat/completions",
		"http://h/v1/":                                  "http://h/v1/chat/completions",
		"http://h/api/v1/chat/completions":              "http://h/api/v1/chat/completions",
		"https://user@h:1/x":                            "https://user@h:1/x/v1/chat/completions",
		"http://[::1]:8081":                             "http://[::1]:8081/v1/chat/completions",
		"http://127.0.0.1:8081//v1/chat/completions///": "http://127.0.0.1:8081//v1/chat/completions",
	} {
		got, err := chatEndpoint(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
}

func TestRanges(t *testing.T) {
	ir, err := parseIntRange("8:32")
	require.NoError(t, err)
	assert.Equal(t, intRange{8, 32}, ir)
	assert.Equal(t, "8:32", ir.String())
	ir, err = parseIntRange("16")
	require.NoError(t, err)
	assert.Equal(t, intRange{16, 16}, ir)
	assert.Equal(t, "16", ir.String())

	fr, err := parseFloatRange("0:1.5")
	require.NoError(t, err)
	assert.Equal(t, floatRange{0, 1.5}, fr)
	assert.Equal(t, "0:1.5", fr.String())
	fr, err = parseFloatRange("0.25")
	require.NoError(t, err)
	assert.Equal(t, "0.25", fr.String())

	for _, bad := range []string{"", ":", "1:", ":2", "1:2:3", "a:b", "1.5:2", "9:3", "x"} {
		_, err := parseIntRange(bad)
		assert.Error(t, err, "int range %q", bad)
	}
	for _, bad := range []string{"", "a", "1:b", "NaN", "0:Inf", "2:1", "1:2:3"} {
		_, err := parseFloatRange(bad)
		assert.Error(t, err, "float range %q", bad)
	}
}

// TestBadFlags checks that every invalid command line exits with 2 and a message that names
// the flag, before sending anything.
func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--qps", "0"}, "--qps must be > 0"},
		{[]string{"--qps", "-1"}, "--qps must be > 0"},
		{[]string{"--qps", "NaN"}, "--qps must be > 0"},
		{[]string{"--qps", "Inf"}, "--qps must be > 0"},
		{[]string{"--qps", "fast"}, `invalid value "fast" for flag --qps`},
		{[]string{"--arrivals", "burst"}, `--arrivals must be fixed or poisson, got "burst"`},
		{[]string{"--concurrency", "0"}, "--concurrency must be >= 1"},
		{[]string{"--duration", "-1s"}, "--duration must be >= 0"},
		{[]string{"--duration", "10"}, `invalid value "10" for flag --duration`},
		{[]string{"--requests", "-2"}, "--requests must be >= 0"},
		{[]string{"--max-tokens", "a:b"}, `--max-tokens "a:b": "a" is not an integer`},
		{[]string{"--max-tokens", "32:8"}, `--max-tokens "32:8": min 32 is greater than max 8`},
		{[]string{"--max-tokens", "0:4"}, `--max-tokens "0:4": must be >= 1`},
		{[]string{"--max-tokens", "1:2:3"}, `--max-tokens "1:2:3": want MIN:MAX or a single value`},
		{[]string{"--temperature", "-0.5:1"}, `--temperature "-0.5:1": must be >= 0`},
		{[]string{"--temperature", "hot"}, `--temperature "hot": "hot" is not a finite number`},
		{[]string{"--stream-ratio", "1.5"}, "--stream-ratio must be between 0 and 1"},
		{[]string{"--stream-ratio", "-0.1"}, "--stream-ratio must be between 0 and 1"},
		{[]string{"--timeout", "0s"}, "--timeout must be > 0"},
		{[]string{"--url", "ftp://h"}, `--url "ftp://h": want an http:// or https:// URL`},
		{[]string{"--url", "http://"}, `--url "http://": no host`},
		{[]string{"--url", "127.0.0.1:8081"}, `--url "127.0.0.1:8081"`},
		{[]string{"--url", "http://h/?a=1"}, "without query"},
		{[]string{"--bogus"}, "flag provided but not defined: --bogus"},
		{[]string{"--qps"}, "flag needs an argument: --qps"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		code, out, errOut := lltload(t, context.Background(), nil, tc.args...)
		assert.Equal(t, exitUsage, code, "%v", tc.args)
		assert.Empty(t, out, "%v", tc.args)
		assert.True(t, strings.HasPrefix(errOut, "lltload: "), "%v: %q", tc.args, errOut)
		assert.Contains(t, errOut, tc.msg, "%v", tc.args)
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		code, out, errOut := lltload(t, context.Background(), nil, arg)
		assert.Equal(t, exitOK, code)
		assert.Empty(t, errOut)
		for _, want := range []string{"Usage: lltload [flags]", "--qps float", "--max-tokens MIN:MAX",
			"(default 8:32)", "(default http://127.0.0.1:8081)", "\n  -v\n", "Exit status:"} {
			assert.Contains(t, out, want)
		}
	}
}
