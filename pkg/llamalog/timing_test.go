// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamalog

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTiming(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		want   Timing
		wantOK bool
	}{
		{
			name:   "prompt eval",
			line:   "0.04.225.905 I slot print_timing: id  0 | task 1 | prompt eval time =       3.69 ms /    67 tokens (    0.06 ms per token, 18142.43 tokens per second)",
			want:   Timing{Kind: TimingPromptEval, Millis: 3.69, Tokens: 67, MillisPerToken: 0.06, TokensPerSecond: 18142.43},
			wantOK: true,
		},
		{
			name:   "eval",
			line:   "0.05.359.487 I slot print_timing: id  1 | task 35 |        eval time =     232.35 ms /   400 tokens (    0.58 ms per token,  1717.25 tokens per second)",
			want:   Timing{Kind: TimingEval, Millis: 232.35, Tokens: 400, MillisPerToken: 0.58, TokensPerSecond: 1717.25},
			wantOK: true,
		},
		{
			name:   "total",
			line:   "0.05.359.491 I slot print_timing: id  1 | task 35 |       total time =     233.68 ms /   437 tokens",
			want:   Timing{Kind: TimingTotal, Millis: 233.68, Tokens: 437},
			wantOK: true,
		},
		{
			name:   "without any prefix",
			line:   "prompt eval time =     132.11 ms /    13 tokens (   10.16 ms per token,    98.40 tokens per second)",
			want:   Timing{Kind: TimingPromptEval, Millis: 132.11, Tokens: 13, MillisPerToken: 10.16, TokensPerSecond: 98.4},
			wantOK: true,
		},
		{
			name:   "large figures",
			line:   "slot print_timing: id  3 | task 90210 |        eval time =  123456.78 ms / 100000 tokens (    1.23 ms per token,   810.01 tokens per second)",
			want:   Timing{Kind: TimingEval, Millis: 123456.78, Tokens: 100000, MillisPerToken: 1.23, TokensPerSecond: 810.01},
			wantOK: true,
		},
		{
			name:   "from --log-jsonl",
			line:   `{"type":"log","time":1,"level":"info","msg":"slot print_timing: id  0 | task 1 |       total time =       8.54 ms /    83 tokens\n"}`,
			want:   Timing{Kind: TimingTotal, Millis: 8.54, Tokens: 83},
			wantOK: true,
		},
		{name: "graphs reused", line: "0.04.225.946 I slot print_timing: id  0 | task 1 |    graphs reused =         15"},
		{name: "graph reallocs", line: "0.04.225.947 I slot print_timing: id  0 | task 1 |   graph reallocs =          0    /     0        (same size) / (changed size)"},
		{name: "cut short", line: "0.04.602.196 I slot print_timing: id  0 | task 18 |        eval time =       1"},
		{name: "cut inside the rates", line: "slot print_timing: id  0 | task 1 | prompt eval time =       3.69 ms /    67 tokens (    0.06 ms per token, 181"},
		{name: "runs instead of tokens", line: "llama_perf_context_print:        eval time =     1372.07 ms /   127 runs   (   10.80 ms per token,    92.56 tokens per second)"},
		{name: "fractional tokens", line: "eval time =       4.85 ms /    16.5 tokens"},
		{name: "junk after the rates", line: "eval time =       4.85 ms /    16 tokens (    0.32 ms per token,  3094.06 tokens per second) and more"},
		{name: "hex is not printf's %f", line: "eval time =       0x1p2 ms /    16 tokens"},
		{name: "other message", line: "0.04.225.971 I slot      release: id  0 | task 1 | stop processing: n_tokens = 82, truncated = 0"},
		{name: "empty", line: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseLine(tt.line).Timing()
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestTimingDivisionByZero covers the "inf" and "-nan" that glibc's printf
// writes when a task took no measurable time or had no tokens.
func TestTimingDivisionByZero(t *testing.T) {
	got, ok := ParseLine("prompt eval time =       0.00 ms /     0 tokens (    -nan ms per token,      inf tokens per second)").Timing()
	assert.True(t, ok)
	assert.Equal(t, TimingPromptEval, got.Kind)
	assert.Zero(t, got.Millis)
	assert.Zero(t, got.Tokens)
	assert.True(t, math.IsNaN(got.MillisPerToken))
	assert.True(t, math.IsInf(got.TokensPerSecond, 1))
}

// TestTimingFixtureTotals checks that each task's prompt and generation
// timings in the fixture add up to its total line.
func TestTimingFixtureTotals(t *testing.T) {
	type sums struct {
		parts, total Timing
		sawTotal     bool
	}
	byTask := map[int]*sums{}
	for _, name := range fixtures {
		for _, line := range readLines(t, "testdata/"+name) {
			r := ParseLine(line)
			tm, ok := r.Timing()
			if !ok {
				continue
			}
			s := byTask[r.TaskID]
			if s == nil {
				s = &sums{}
				byTask[r.TaskID] = s
			}
			if tm.Kind == TimingTotal {
				s.total, s.sawTotal = tm, true
				continue
			}
			s.parts.Millis += tm.Millis
			s.parts.Tokens += tm.Tokens
		}
	}
	checked := 0
	for task, s := range byTask {
		if !s.sawTotal {
			continue // the head fixture is cut before task 18's total
		}
		checked++
		assert.Equal(t, s.total.Tokens, s.parts.Tokens, "task %d", task)
		assert.InDelta(t, s.total.Millis, s.parts.Millis, 0.011, "task %d", task)
	}
	assert.Equal(t, 3, checked)
}
