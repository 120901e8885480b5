// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func noEnv(string) string { return "" }

func TestParseConfigDefaults(t *testing.T) {
	c, _, err := parseConfig(nil, noEnv)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8080/v1/chat/completions", c.directEndpoint)
	assert.Equal(t, "http://127.0.0.1:8081/v1/chat/completions", c.gatewayEndpoint)
	assert.Equal(t, []int{1, 4, 16}, c.concurrency)
	assert.Equal(t, 128, c.maxTokens)
	assert.False(t, c.stream)
	assert.Equal(t, 4*time.Second, c.roundDuration)
	assert.Equal(t, 4, c.rounds)
	assert.Equal(t, 4, c.maxRounds, "max-rounds defaults to rounds")
	assert.Equal(t, 1, c.warmup)
	assert.Nil(t, c.banTokens)
	assert.Equal(t, "http://127.0.0.1:8081/health", healthURL(c.gatewayEndpoint))
}

func TestParseConfigFlags(t *testing.T) {
	dir := t.TempDir()
	extra := filepath.Join(dir, "extra.json")
	require.NoError(t, os.WriteFile(extra, []byte(`{"top_k": 1, "cache_prompt": false}`), 0o644))
	c, _, err := parseConfig([]string{"--direct", "http://h:1/v1", "--gateway", "http://h:2/", "--concurrency", "16, 1",
		"--max-tokens", "8", "--stream", "--round-requests", "32", "--rounds", "5", "--max-rounds", "20",
		"--target-spread", "0.5", "--budget", "4m", "--collector-pid", "77", "--ban-tokens", "0-2,7",
		"--body-extra", "@" + extra}, func(k string) string { return map[string]string{"LLAMA_API_KEY": "k"}[k] })
	require.NoError(t, err)
	assert.Equal(t, "http://h:1/v1/chat/completions", c.directEndpoint)
	assert.Equal(t, "http://h:2/v1/chat/completions", c.gatewayEndpoint)
	assert.Equal(t, []int{16, 1}, c.concurrency, "kept in the order given")
	assert.Equal(t, 8, c.maxTokens)
	assert.True(t, c.stream)
	assert.Equal(t, 32, c.roundRequests)
	assert.Equal(t, 20, c.maxRounds)
	assert.Equal(t, 0.5, c.targetSpread)
	assert.Equal(t, 4*time.Minute, c.budget)
	assert.Equal(t, 77, c.collectorPID)
	assert.Equal(t, []tokenRange{{0, 2}, {7, 7}}, c.banTokens)
	assert.Equal(t, map[string]json.RawMessage{"top_k": json.RawMessage("1"), "cache_prompt": json.RawMessage("false")}, c.bodyExtra)
	assert.Equal(t, "k", c.apiKey)
}

func TestParseConfigErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--concurrency", "1,x"},
		{"--concurrency", "0"},
		{"--concurrency", "4,4"},
		{"--direct", "ftp://h"},
		{"--gateway", "http://h/?q=1"},
		{"--max-tokens", "0"},
		{"--rounds", "2"},
		{"--rounds", "5", "--max-rounds", "4"},
		{"--round-duration", "0s"},
		{"--target-spread", "-1"},
		{"--ban-tokens", "5-3"},
		{"--ban-tokens", "a"},
		{"--body-extra", "[1]"},
		{"--body-extra", `{"stream": true}`},
		{"--body-extra", "@/nonexistent/file"},
		{"--no-such-flag"},
		{"stray"},
	} {
		_, _, err := parseConfig(args, noEnv)
		var ue *usageError
		assert.True(t, errors.As(err, &ue), "%v: %v", args, err)
	}
	_, _, err := parseConfig([]string{"-h"}, noEnv)
	assert.ErrorIs(t, err, flag.ErrHelp)
}

func TestUsage(t *testing.T) {
	var out bytes.Buffer
	assert.Equal(t, exitOK, run(t.Context(), []string{"--help"}, &out, &out))
	assert.Contains(t, out.String(), "--collector-pid PID")
	assert.Contains(t, out.String(), "(default 1,4,16)")
	out.Reset()
	assert.Equal(t, exitUsage, run(t.Context(), []string{"--rounds", "1"}, &out, &out))
	assert.Contains(t, out.String(), "--rounds must be >= 3")
}
