// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestBadInput checks every rule against bad values: the map stays exactly as it was and the
// bad attributes are counted as skipped.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name    string
		attrs   func(m pcommon.Map)
		skipped int
	}{
		{"token count as string", func(m pcommon.Map) { m.PutStr("llm.token_count.prompt", "12") }, 1},
		{"negative token count", func(m pcommon.Map) { m.PutInt("gen_ai.usage.prompt_tokens", -1) }, 1},
		{"fractional token count", func(m pcommon.Map) { m.PutDouble("llm.token_count.completion", 1.5) }, 1},
		{"NaN token count", func(m pcommon.Map) { m.PutDouble("llm.usage.prompt_tokens", math.NaN()) }, 1},
		{"Inf token count", func(m pcommon.Map) { m.PutDouble("gen_ai.usage.completion_tokens", math.Inf(1)) }, 1},
		{"huge double token count", func(m pcommon.Map) { m.PutDouble("llm.token_count.prompt", 1e300) }, 1},
		{"token count as bool", func(m pcommon.Map) { m.PutBool("gen_ai.usage.reasoning_tokens", true) }, 1},
		{"cache tokens as slice", func(m pcommon.Map) {
			m.PutEmptySlice("llm.token_count.prompt_details.cache_read").AppendEmpty().SetInt(1)
		}, 1},
		{"negative embedding dimension", func(m pcommon.Map) { m.PutInt("gen_ai.request.embedding_dimension", -768) }, 1},
		{"seed as string", func(m pcommon.Map) { m.PutStr("gen_ai.openai.request.seed", "7") }, 1},
		{"temperature as string", func(m pcommon.Map) { m.PutStr("llm.temperature", "0.5") }, 1},
		{"NaN penalty", func(m pcommon.Map) { m.PutDouble("llm.frequency_penalty", math.NaN()) }, 1},
		{"Inf top_p", func(m pcommon.Map) { m.PutDouble("llm.top_p", math.Inf(-1)) }, 1},
		{"negative top_k", func(m pcommon.Map) { m.PutInt("llm.top_k", -5) }, 1},
		{"streaming flag as string", func(m pcommon.Map) { m.PutStr("llm.is_streaming", "true") }, 1},
		{"OpenLIT stream flag as int", func(m pcommon.Map) { m.PutInt("gen_ai.request.is_stream", 1) }, 1},
		{"empty model", func(m pcommon.Map) { m.PutStr("llm.model_name", "") }, 1},
		{"model as int", func(m pcommon.Map) { m.PutInt("llm.request.model", 4) }, 1},
		{"provider as int", func(m pcommon.Map) { m.PutInt("gen_ai.system", 1) }, 1},
		{"empty provider", func(m pcommon.Map) { m.PutStr("llm.provider", "") }, 1},
		{"stop sequences with an int", func(m pcommon.Map) {
			s := m.PutEmptySlice("llm.chat.stop_sequences")
			s.AppendEmpty().SetStr("a")
			s.AppendEmpty().SetInt(1)
		}, 1},
		{"empty stop sequences", func(m pcommon.Map) { m.PutEmptySlice("llm.chat.stop_sequences") }, 1},
		{"finish reason as int", func(m pcommon.Map) { m.PutInt("llm.response.finish_reason", 0) }, 1},
		{"unknown span kind", func(m pcommon.Map) { m.PutStr("openinference.span.kind", "SOMETHING") }, 1},
		{"span kind as int", func(m pcommon.Map) { m.PutInt("openinference.span.kind", 1) }, 1},
		{"unknown request type", func(m pcommon.Map) { m.PutStr("llm.request.type", "image") }, 1},
		{"unknown response format", func(m pcommon.Map) { m.PutStr("gen_ai.openai.request.response_format", "yaml") }, 1},
		{"service tier as bool", func(m pcommon.Map) { m.PutBool("gen_ai.openai.request.service_tier", true) }, 1},
		{"empty tool args", func(m pcommon.Map) { m.PutEmpty("gen_ai.tool.args") }, 1},
		{"negative time to first token on a streaming span", func(m pcommon.Map) {
			m.PutBool("gen_ai.request.stream", true)
			m.PutDouble("gen_ai.server.time_to_first_token", -0.1)
		}, 1},
		{"time to first token as string on a streaming span", func(m pcommon.Map) {
			m.PutBool("gen_ai.request.stream", true)
			m.PutStr("gen_ai.server.time_to_first_token", "0.1")
		}, 1},
		{"invalid JSON in invocation parameters", func(m pcommon.Map) { m.PutStr("llm.invocation_parameters", `{"temperature": 0.2`) }, 1},
		{"invocation parameters not an object", func(m pcommon.Map) { m.PutStr("llm.invocation_parameters", `[1, 2]`) }, 1},
		{"invocation parameters with trailing data", func(m pcommon.Map) { m.PutStr("llm.invocation_parameters", `{} {}`) }, 1},
		{"invocation parameters as map", func(m pcommon.Map) { m.PutEmptyMap("llm.invocation_parameters").PutDouble("temperature", 1) }, 1},
		{"invocation parameters too large", func(m pcommon.Map) {
			m.PutStr("llm.invocation_parameters", `{"x": "`+strings.Repeat("a", maxInvocationBytes)+`"}`)
		}, 1},
		{"bad values inside invocation parameters", func(m pcommon.Map) {
			m.PutStr("llm.invocation_parameters", `{"temperature": "hot", "max_tokens": -1, "seed": 1.5, "stream": "yes", "n": 0, "stop": [1], "top_k": "x", "model": 3}`)
		}, 8},
		{"message content as int", func(m pcommon.Map) {
			m.PutStr("gen_ai.prompt.0.role", "user")
			m.PutInt("gen_ai.prompt.0.content", 5)
		}, 1},
		{"message index over the limit", func(m pcommon.Map) {
			m.PutStr("llm.input_messages.100000.message.role", "user")
			m.PutStr("llm.input_messages.100000.message.content", "hi")
		}, 1},
		{"tool call index over the limit", func(m pcommon.Map) {
			m.PutStr("gen_ai.completion.0.role", "assistant")
			m.PutStr("gen_ai.completion.0.tool_calls.99999999999.name", "f")
		}, 1},
		{"input message without a role", func(m pcommon.Map) {
			m.PutStr("gen_ai.prompt.0.content", "hi")
		}, 1},
		{"output message role as bool", func(m pcommon.Map) {
			m.PutBool("llm.output_messages.0.message.role", true)
		}, 1},
		{"negative vLLM time to first token", func(m pcommon.Map) { m.PutDouble("gen_ai.latency.time_to_first_token", -0.5) }, 1},
		{"vLLM time to first token as string", func(m pcommon.Map) { m.PutStr("gen_ai.latency.time_to_first_token", "0.1") }, 1},
		{"zero choices", func(m pcommon.Map) { m.PutInt("gen_ai.request.n", 0) }, 1},
		{"fractional choices", func(m pcommon.Map) { m.PutDouble("gen_ai.request.n", 1.5) }, 1},
		{"vLLM request id as int", func(m pcommon.Map) { m.PutInt("gen_ai.request.id", 7) }, 1},
		{"empty vLLM request id", func(m pcommon.Map) { m.PutStr("gen_ai.request.id", "") }, 1},
		{"negative cached tokens", func(m pcommon.Map) { m.PutInt("gen_ai.usage.cached_tokens", -3) }, 1},
		{"functions not a JSON array", func(m pcommon.Map) { m.PutStr("llm.request.functions", `{"name": "f"}`) }, 1},
		{"functions invalid JSON", func(m pcommon.Map) { m.PutStr("llm.request.functions", `[{"name": "f"`) }, 1},
		{"functions as slice", func(m pcommon.Map) { m.PutEmptySlice("llm.request.functions").AppendEmpty().SetStr("f") }, 1},
		{"request temperature as string", func(m pcommon.Map) { m.PutStr("llm.request.temperature", "0.3") }, 1},
		{"unknown traceloop span kind", func(m pcommon.Map) { m.PutStr("traceloop.span.kind", "pipeline") }, 1},
		{"empty tool name on an OpenInference span", func(m pcommon.Map) {
			m.PutStr("openinference.span.kind", "CHAIN")
			m.PutStr("tool.name", "")
		}, 1},
		{"session id as int on an OpenInference span", func(m pcommon.Map) {
			m.PutStr("openinference.span.kind", "CHAIN")
			m.PutInt("session.id", 42)
		}, 1},
		{"crewai agent role as int", func(m pcommon.Map) {
			m.PutStr("agent_fingerprint", "f")
			m.PutInt("agent_role", 1)
		}, 1},
		{"reranker model as int", func(m pcommon.Map) { m.PutInt("reranker.model_name", 1) }, 1},
		{"messages JSON invalid", func(m pcommon.Map) { m.PutStr("llm.input_messages", `[{"role": "user"`) }, 1},
		{"messages JSON not an array", func(m pcommon.Map) { m.PutStr("llm.input_messages", `{"role": "user"}`) }, 1},
		{"messages JSON empty", func(m pcommon.Map) { m.PutStr("llm.output_messages", `[]`) }, 1},
		{"messages JSON element not an object", func(m pcommon.Map) { m.PutStr("llm.input_messages", `["hi"]`) }, 1},
		{"messages JSON content as number", func(m pcommon.Map) {
			m.PutStr("llm.input_messages", `[{"role": "user", "content": 5}]`)
		}, 1},
		{"messages JSON input without a role", func(m pcommon.Map) { m.PutStr("llm.input_messages", `[{"content": "hi"}]`) }, 1},
		{"messages JSON with only unknown fields", func(m pcommon.Map) { m.PutStr("llm.input_messages", `[{"foo": "bar"}]`) }, 1},
		{"messages JSON tool call index over the limit", func(m pcommon.Map) {
			m.PutStr("llm.output_messages", `[{"role": "assistant", "tool_calls.99999.tool_call.id": "x"}]`)
		}, 1},
		{"messages as map", func(m pcommon.Map) { m.PutEmptyMap("llm.input_messages").PutStr("role", "user") }, 1},
	}
	for _, opts := range []Options{{}, {KeepOriginal: true}, {Latest: true}} {
		n := New(opts)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				m := pcommon.NewMap()
				tc.attrs(m)
				before := pcommon.NewMap()
				m.CopyTo(before)
				res := n.Attributes(m)
				// fmt prints maps sorted, and NaN as NaN (NaN != NaN for assert.Equal).
				assert.Equal(t, fmt.Sprint(before.AsRaw()), fmt.Sprint(m.AsRaw()), "bad input must stay as it was")
				assert.Equal(t, Result{Skipped: tc.skipped}, res)
			})
		}
	}
}

// TestBadValueBesideGoodOnes: a bad attribute does not stop the others from being mapped.
func TestBadValueBesideGoodOnes(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("llm.token_count.prompt", "12")
	m.PutInt("llm.token_count.completion", 3)
	m.PutStr("llm.invocation_parameters", `{"temperature": "hot", "max_tokens": 64}`)
	res := New(Options{}).Attributes(m)
	assert.Equal(t, map[string]any{
		"llm.token_count.prompt":     "12",
		"gen_ai.usage.output_tokens": int64(3),
		"llm.invocation_parameters":  `{"temperature": "hot", "max_tokens": 64}`,
		"gen_ai.request.max_tokens":  int64(64),
	}, m.AsRaw())
	assert.Equal(t, Result{Set: 2, Removed: 1, Skipped: 2}, res)
}

func TestKeepOriginal(t *testing.T) {
	for _, keep := range []bool{false, true} {
		m := pcommon.NewMap()
		m.PutStr("gen_ai.system", "openai")
		m.PutInt("gen_ai.usage.prompt_tokens", 9)
		m.PutStr("gen_ai.prompt.0.role", "user")
		m.PutStr("gen_ai.prompt.0.content", "hi")
		res := New(Options{KeepOriginal: keep}).Attributes(m)
		want := map[string]any{
			"gen_ai.provider.name":      "openai",
			"gen_ai.usage.input_tokens": int64(9),
			"gen_ai.input.messages":     `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`,
		}
		wantRes := Result{Set: 3, Removed: 4}
		if keep {
			want["gen_ai.system"] = "openai"
			want["gen_ai.usage.prompt_tokens"] = int64(9)
			want["gen_ai.prompt.0.role"] = "user"
			want["gen_ai.prompt.0.content"] = "hi"
			wantRes.Removed = 0
		}
		assert.Equal(t, want, m.AsRaw(), "keep=%v", keep)
		assert.Equal(t, wantRes, res, "keep=%v", keep)
	}
}

func TestLatest(t *testing.T) {
	build := func() pcommon.Map {
		m := pcommon.NewMap()
		m.PutInt("gen_ai.usage.cache_creation_input_tokens", 3) // OpenLLMetry
		m.PutDouble("llm.top_k", 40)
		m.PutStr("llm.provider", "moonshot")
		return m
	}
	m := build()
	New(Options{}).Attributes(m)
	assert.Equal(t, map[string]any{
		"gen_ai.usage.cache_creation.input_tokens": int64(3),
		"gen_ai.request.top_k":                     40.0,
		"gen_ai.provider.name":                     "moonshot",
	}, m.AsRaw())

	m = build()
	New(Options{Latest: true}).Attributes(m)
	assert.Equal(t, map[string]any{
		"gen_ai.usage.cache_write.input_tokens": int64(3),
		"gen_ai.request.top_k":                  int64(40),
		"gen_ai.provider.name":                  "moonshot_ai",
	}, m.AsRaw())

	// With Latest a top_k that is not a whole number cannot be an int.
	m = pcommon.NewMap()
	m.PutDouble("llm.top_k", 0.5)
	assert.Equal(t, Result{Skipped: 1}, New(Options{Latest: true}).Attributes(m))
}

func TestExistingV141Wins(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("gen_ai.operation.name", "text_completion")
	m.PutStr("openinference.span.kind", "LLM") // would be chat: conflict
	m.PutStr("gen_ai.request.model", "a")
	m.PutStr("llm.model_name", "a") // the response model, absent: written and removed
	m.PutDouble("gen_ai.request.temperature", 0.5)
	m.PutStr("llm.invocation_parameters", `{"temperature": 0.7}`) // conflict: the parameters stay
	m.PutStr("gen_ai.input.messages", "[]")
	m.PutStr("llm.input_messages.0.message.role", "user") // conflict: the family stays
	m.PutStr("llm.input_messages.0.message.content", "x")
	res := New(Options{}).Attributes(m)
	assert.Equal(t, map[string]any{
		"gen_ai.operation.name":                "text_completion",
		"openinference.span.kind":              "LLM",
		"gen_ai.request.model":                 "a",
		"gen_ai.response.model":                "a",
		"gen_ai.request.temperature":           0.5,
		"llm.invocation_parameters":            `{"temperature": 0.7}`,
		"gen_ai.input.messages":                "[]",
		"llm.input_messages.0.message.role":    "user",
		"llm.input_messages.0.message.content": "x",
	}, m.AsRaw())
	assert.Equal(t, Result{Set: 1, Removed: 1, Conflicts: 3}, res)
}

// TestEarlierRowWins: two sources for one target; the table order decides, not the order of
// the attributes on the span.
func TestEarlierRowWins(t *testing.T) {
	for i := 0; i < 2; i++ {
		m := pcommon.NewMap()
		if i == 0 {
			m.PutInt("gen_ai.usage.prompt_tokens", 10)
			m.PutInt("llm.token_count.prompt", 12)
		} else {
			m.PutInt("llm.token_count.prompt", 12)
			m.PutInt("gen_ai.usage.prompt_tokens", 10)
		}
		res := New(Options{}).Attributes(m)
		assert.Equal(t, map[string]any{
			"gen_ai.usage.input_tokens": int64(10),
			"llm.token_count.prompt":    int64(12),
		}, m.AsRaw())
		assert.Equal(t, Result{Set: 1, Removed: 1, Conflicts: 1}, res)
	}
}

// TestAttributeOrderDoesNotMatter shuffles the fixture inputs.
func TestAttributeOrderDoesNotMatter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for file, f := range loadFixtures(t) {
		for _, c := range f.Cases {
			n := New(Options{KeepOriginal: c.Options.KeepOriginal, Latest: c.Options.Latest})
			ref := mapOf(t, c.Input)
			refRes := n.Attributes(ref)
			for k := 0; k < 5; k++ {
				keys := make([]string, 0, len(c.Input))
				for key := range c.Input {
					keys = append(keys, key)
				}
				rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
				m := pcommon.NewMap()
				src := mapOf(t, c.Input)
				for _, key := range keys {
					v, _ := src.Get(key)
					v.CopyTo(m.PutEmpty(key))
				}
				res := n.Attributes(m)
				assert.Equal(t, ref.AsRaw(), m.AsRaw(), "%s/%s", file, c.Name)
				assert.Equal(t, refRes, res, "%s/%s", file, c.Name)
			}
		}
	}
}

func TestSpanAndEvents(t *testing.T) {
	span := ptrace.NewSpan()
	span.Attributes().PutStr("gen_ai.system", "openai")
	ev := span.Events().AppendEmpty()
	ev.SetName("gen_ai.content.prompt")
	ev.Attributes().PutStr("gen_ai.prompt", "user: hi") // no mapping
	ev2 := span.Events().AppendEmpty()
	ev2.SetName("gen_ai.choice")
	ev2.Attributes().PutStr("gen_ai.system", "az.ai.openai")
	ev2.Attributes().PutInt("llm.token_count.prompt", 0)
	res := New(Options{}).Span(span)
	assert.Equal(t, map[string]any{"gen_ai.provider.name": "openai"}, span.Attributes().AsRaw())
	assert.Equal(t, map[string]any{"gen_ai.prompt": "user: hi"}, ev.Attributes().AsRaw())
	assert.Equal(t, map[string]any{"gen_ai.provider.name": "azure.ai.openai", "gen_ai.usage.input_tokens": int64(0)}, ev2.Attributes().AsRaw())
	assert.Equal(t, Result{Set: 3, Removed: 3}, res)
}

func TestGatewaySpanUntouched(t *testing.T) {
	for _, opts := range []Options{{}, {KeepOriginal: true}} {
		s := gatewaySpan()
		before := ptrace.NewSpan()
		s.CopyTo(before)
		assert.Equal(t, Result{}, New(opts).Span(s))
		assert.Equal(t, before.Attributes().AsRaw(), s.Attributes().AsRaw())
	}
	n, s := New(Options{}), gatewaySpan()
	assert.Zero(t, testing.AllocsPerRun(1000, func() { n.Span(s) }), "a v1.41 span must not allocate")
}

func TestConcurrentUse(t *testing.T) {
	n := New(Options{})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				for _, mk := range []func() ptrace.Span{openInferenceSpan, openLLMetrySpan, openLITSpan, gatewaySpan} {
					s := mk()
					n.Span(s)
				}
			}
		}()
	}
	wg.Wait()
}

func TestTable(t *testing.T) {
	tab := Table()
	require.NotEmpty(t, tab)
	seen := map[string]bool{}
	for _, r := range tab {
		assert.NotEmpty(t, r.From, "%+v", r)
		assert.NotEmpty(t, r.To, "%+v", r)
		assert.NotEmpty(t, r.Source, "%+v", r)
		assert.Contains(t, r.Source, " @", "every row cites the commit it was read from: %+v", r)
		assert.Contains(t, []string{KindRename, KindParse, KindDerive}, r.Kind, "%+v", r)
		assert.False(t, seen[r.From], "duplicate From %q", r.From)
		seen[r.From] = true
	}
	for i := range rules {
		r := &rules[i]
		switch r.op {
		case opValue:
			assert.True(t, (r.conv != nil) != (r.derive != nil), "%s: a converter or a derivation", r.From)
			assert.Equal(t, r.keep, r.derive != nil, "%s: a derived value leaves its marker in place", r.From)
			assert.NotContains(t, r.From, "{", r.From)
		case opFamily, opMessages:
			assert.NotEqual(t, famNone, r.family, r.From)
		}
	}
	// Table returns a copy.
	tab[0].From = "changed"
	assert.NotEqual(t, "changed", Table()[0].From)

	values := map[string]bool{}
	for _, latest := range []bool{false, true} {
		for _, p := range ProviderValues(latest) {
			assert.NotEmpty(t, p.To, p.From)
			assert.NotEmpty(t, p.Source, p.From)
			assert.Equal(t, strings.ToLower(p.From), p.From, "provider keys are lower case")
			if !latest {
				assert.False(t, values[p.From], "duplicate provider value %q", p.From)
				values[p.From] = true
			}
		}
	}
}

func TestIndex(t *testing.T) {
	for _, tc := range []struct {
		in      string
		n       int
		rest    string
		ok, bad bool
	}{
		{"0.role", 0, "role", true, false},
		{"12.content", 12, "content", true, false},
		{"4096.x", 4096, "x", true, false},
		{"4097.x", 0, "", false, true},
		{"1234567890.x", 0, "", false, true},
		{"01.role", 0, "", false, false},
		{"x.role", 0, "", false, false},
		{"prompt_filter_results", 0, "", false, false},
		{".role", 0, "", false, false},
		{"3", 0, "", false, false},
		{"-1.role", 0, "", false, false},
	} {
		n, rest, ok, bad := index(tc.in)
		assert.Equal(t, []any{tc.n, tc.rest, tc.ok, tc.bad}, []any{n, rest, ok, bad}, tc.in)
	}
}

func TestScanObject(t *testing.T) {
	ms, ok := scanObject(` { "a" : 1 , "b\"c": {"x": [1, "}"]}, "d": "e\"f", "g": [ "h" ] , "i": null } `, nil)
	require.True(t, ok)
	assert.Equal(t, []jsonMember{
		{"a", "1"}, {`b"c`, `{"x": [1, "}"]}`}, {"d", `"e\"f"`}, {"g", `[ "h" ]`}, {"i", "null"},
	}, ms)
	ms, ok = scanObject(`{}`, nil)
	assert.True(t, ok)
	assert.Empty(t, ms)
	for _, bad := range []string{``, `{`, `[]`, `"x"`, `{"a":}`, `{"a":1,}`, `nul`} {
		_, ok := scanObject(bad, nil)
		assert.False(t, ok, bad)
	}
}

// TestInvocationParameters covers the parse row in detail.
func TestInvocationParameters(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("llm.invocation_parameters", `{"temperature": 1, "top_p": 0.9, "top_k": 20, "frequency_penalty": -0.5,
		"presence_penalty": 0.25, "seed": -3, "stop": "END", "stream": true, "n": 2, "max_tokens": 10,
		"model": "m", "user": null}`)
	res := New(Options{}).Attributes(m)
	assert.Equal(t, map[string]any{
		"llm.invocation_parameters": `{"temperature": 1, "top_p": 0.9, "top_k": 20, "frequency_penalty": -0.5,
		"presence_penalty": 0.25, "seed": -3, "stop": "END", "stream": true, "n": 2, "max_tokens": 10,
		"model": "m", "user": null}`, // "user" has no v1.41 attribute: the parameters stay
		"gen_ai.request.temperature":       1.0,
		"gen_ai.request.top_p":             0.9,
		"gen_ai.request.top_k":             20.0,
		"gen_ai.request.frequency_penalty": -0.5,
		"gen_ai.request.presence_penalty":  0.25,
		"gen_ai.request.seed":              int64(-3),
		"gen_ai.request.stop_sequences":    []any{"END"},
		"gen_ai.request.stream":            true,
		"gen_ai.request.choice.count":      int64(2),
		"gen_ai.request.max_tokens":        int64(10),
		"gen_ai.request.model":             "m",
	}, m.AsRaw())
	assert.Equal(t, Result{Set: 11}, res)
}

// TestOpenInferenceModels: llm.model_name is the model of the response; the requested model
// comes only from llm.invocation_parameters.
func TestOpenInferenceModels(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]any
		want  map[string]any
		res   Result
	}{
		{
			name:  "invocation parameters name the requested model",
			attrs: map[string]any{"llm.model_name": "llt-tiny", "llm.invocation_parameters": `{"model": "demo"}`},
			want:  map[string]any{"gen_ai.request.model": "demo", "gen_ai.response.model": "llt-tiny"},
			res:   Result{Set: 2, Removed: 2},
		},
		{
			name:  "no model in the invocation parameters: the request model stays unknown",
			attrs: map[string]any{"llm.model_name": "llt-tiny", "llm.invocation_parameters": `{"temperature": 0.5}`},
			want:  map[string]any{"gen_ai.response.model": "llt-tiny", "gen_ai.request.temperature": 0.5},
			res:   Result{Set: 2, Removed: 2},
		},
		{
			name:  "llm.model_name alone",
			attrs: map[string]any{"llm.model_name": "llt-tiny"},
			want:  map[string]any{"gen_ai.response.model": "llt-tiny"},
			res:   Result{Set: 1, Removed: 1},
		},
		{
			name:  "empty llm.model_name is bad input; the parameters still give the request model",
			attrs: map[string]any{"llm.model_name": "", "llm.invocation_parameters": `{"model": "demo"}`},
			want:  map[string]any{"llm.model_name": "", "gen_ai.request.model": "demo"},
			res:   Result{Set: 1, Removed: 1, Skipped: 1},
		},
		{
			name:  "null model in the parameters says nothing",
			attrs: map[string]any{"llm.model_name": "llt-tiny", "llm.invocation_parameters": `{"model": null}`},
			want:  map[string]any{"gen_ai.response.model": "llt-tiny"},
			res:   Result{Set: 1, Removed: 2},
		},
		{
			name: "a different v1.41 request model on the span is a conflict for the parameters",
			attrs: map[string]any{
				"gen_ai.request.model": "other", "llm.model_name": "llt-tiny", "llm.invocation_parameters": `{"model": "demo"}`,
			},
			want: map[string]any{
				"gen_ai.request.model": "other", "gen_ai.response.model": "llt-tiny", "llm.invocation_parameters": `{"model": "demo"}`,
			},
			res: Result{Set: 1, Removed: 1, Conflicts: 1},
		},
		{
			name:  "llm.response.model_name wins over llm.model_name",
			attrs: map[string]any{"llm.response.model_name": "a", "llm.model_name": "b"},
			want:  map[string]any{"gen_ai.response.model": "a", "llm.model_name": "b"},
			res:   Result{Set: 1, Removed: 1, Conflicts: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mapOf(t, tc.attrs)
			res := New(Options{}).Attributes(m)
			assert.Equal(t, tc.want, m.AsRaw())
			assert.Equal(t, tc.res, res)
		})
	}
}

// TestVLLMRequestSpans covers the rows of vLLM's llm_request spans.
func TestVLLMRequestSpans(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]any
		want  map[string]any
		res   Result
	}{
		{
			name:  "chat completion id: the response id and operation chat",
			attrs: map[string]any{"gen_ai.latency.e2e": 0.5, "gen_ai.request.id": "chatcmpl-abc"},
			want:  map[string]any{"gen_ai.latency.e2e": 0.5, "gen_ai.response.id": "chatcmpl-abc", "gen_ai.operation.name": "chat"},
			res:   Result{Set: 2, Removed: 1},
		},
		{
			name:  "completion id: operation text_completion, the id stays",
			attrs: map[string]any{"gen_ai.latency.e2e": 0.5, "gen_ai.request.id": "cmpl-abc-0"},
			want:  map[string]any{"gen_ai.latency.e2e": 0.5, "gen_ai.request.id": "cmpl-abc-0", "gen_ai.operation.name": "text_completion"},
			res:   Result{Set: 1},
		},
		{
			name:  "offline request id: nothing derived",
			attrs: map[string]any{"gen_ai.latency.e2e": 0.5, "gen_ai.request.id": "3"},
			want:  map[string]any{"gen_ai.latency.e2e": 0.5, "gen_ai.request.id": "3"},
		},
		{
			name:  "a bare prefix is not an id",
			attrs: map[string]any{"gen_ai.latency.e2e": 0.5, "gen_ai.request.id": "chatcmpl-"},
			want:  map[string]any{"gen_ai.latency.e2e": 0.5, "gen_ai.request.id": "chatcmpl-"},
		},
		{
			name:  "no e2e latency: not a vLLM request span, no operation",
			attrs: map[string]any{"gen_ai.request.id": "chatcmpl-abc"},
			want:  map[string]any{"gen_ai.response.id": "chatcmpl-abc"},
			res:   Result{Set: 1, Removed: 1},
		},
		{
			name: "an operation on the span is kept, and is no conflict",
			attrs: map[string]any{
				"gen_ai.latency.e2e": 0.5, "gen_ai.request.id": "chatcmpl-abc", "gen_ai.operation.name": "text_completion",
			},
			want: map[string]any{
				"gen_ai.latency.e2e": 0.5, "gen_ai.response.id": "chatcmpl-abc", "gen_ai.operation.name": "text_completion",
			},
			res: Result{Set: 1, Removed: 1},
		},
		{
			name:  "a different response id is a conflict",
			attrs: map[string]any{"gen_ai.request.id": "chatcmpl-abc", "gen_ai.response.id": "chatcmpl-xyz"},
			want:  map[string]any{"gen_ai.request.id": "chatcmpl-abc", "gen_ai.response.id": "chatcmpl-xyz"},
			res:   Result{Conflicts: 1},
		},
		{
			name:  "time to first token as int, choices and cached tokens",
			attrs: map[string]any{"gen_ai.latency.time_to_first_token": int64(1), "gen_ai.request.n": int64(3), "gen_ai.usage.cached_tokens": int64(128)},
			want: map[string]any{
				"gen_ai.response.time_to_first_chunk": 1.0, "gen_ai.request.choice.count": int64(3), "gen_ai.usage.cache_read.input_tokens": int64(128),
			},
			res: Result{Set: 3, Removed: 3},
		},
		{
			name: "invocation n wins over gen_ai.request.n",
			attrs: map[string]any{
				"llm.invocation_parameters": `{"n": 2}`, "gen_ai.request.n": int64(4),
			},
			want: map[string]any{"gen_ai.request.choice.count": int64(2), "gen_ai.request.n": int64(4)},
			res:  Result{Set: 1, Removed: 1, Conflicts: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mapOf(t, tc.attrs)
			n := New(Options{})
			res := n.Attributes(m)
			assert.Equal(t, tc.want, m.AsRaw())
			assert.Equal(t, tc.res, res)
			assert.False(t, n.Attributes(m).Changed(), "second pass")
		})
	}
}

// TestTraceloopEntity: the target of traceloop.entity.* follows traceloop.span.kind.
func TestTraceloopEntity(t *testing.T) {
	build := func(kind string) pcommon.Map {
		m := pcommon.NewMap()
		m.PutStr("traceloop.span.kind", kind)
		m.PutStr("traceloop.entity.name", "f")
		m.PutStr("traceloop.entity.input", `{"args": [], "kwargs": {}}`)
		m.PutStr("traceloop.entity.output", `1`)
		return m
	}
	for kind, want := range map[string]map[string]any{
		"agent": {
			"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "f",
			"traceloop.entity.input": `{"args": [], "kwargs": {}}`, "traceloop.entity.output": `1`,
		},
		"Tool": {
			"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "f",
			"gen_ai.tool.call.arguments": `{"args": [], "kwargs": {}}`, "gen_ai.tool.call.result": `1`,
		},
		"task": {
			"traceloop.span.kind": "task", "traceloop.entity.name": "f",
			"traceloop.entity.input": `{"args": [], "kwargs": {}}`, "traceloop.entity.output": `1`,
		},
	} {
		m := build(kind)
		n := New(Options{})
		n.Attributes(m)
		assert.Equal(t, want, m.AsRaw(), kind)
		assert.False(t, n.Attributes(m).Changed(), kind)
	}

	// Without traceloop.span.kind the entity attributes say nothing about their target.
	m := pcommon.NewMap()
	m.PutStr("traceloop.entity.name", "f")
	assert.Equal(t, Result{}, New(Options{}).Attributes(m))
}

// TestMessagesJSON covers llm.input_messages / llm.output_messages given as one JSON string.
func TestMessagesJSON(t *testing.T) {
	tests := []struct {
		name, key, value string
		want             string
		res              Result
	}{
		{
			name: "plain keys", key: "llm.input_messages",
			value: `[{"role": "user", "content": "hi", "name": "ann"}]`,
			want:  `[{"role":"user","parts":[{"type":"text","content":"hi"}],"name":"ann"}]`,
			res:   Result{Set: 1, Removed: 1},
		},
		{
			name: "dotted message keys and a tool result", key: "llm.input_messages",
			value: `[{"message.role": "tool", "message.tool_call_id": "c1", "message.content": "42"}]`,
			want:  `[{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":"42"}]}]`,
			res:   Result{Set: 1, Removed: 1},
		},
		{
			name: "nested contents and dotted tool calls", key: "llm.output_messages",
			value: `[{"message": {"role": "assistant", "contents": [{"message_content": {"type": "text", "text": "ok"}}]}}, ` +
				`{"message.tool_calls.0.tool_call.function.name": "f", "message.tool_calls.0.tool_call.function.arguments": "not json"}]`,
			want: `[{"role":"assistant","parts":[{"type":"text","content":"ok"}]},` +
				`{"role":"assistant","parts":[{"type":"tool_call","name":"f","arguments":"not json"}]}]`,
			res: Result{Set: 1, Removed: 1},
		},
		{
			name: "nulls say nothing", key: "llm.output_messages",
			value: `[{"role": "assistant", "content": null, "tool_calls": [{"tool_call": {"id": "c1", "function": {"name": "f", "arguments": null}}}]}]`,
			want:  `[{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"f"}]}]`,
			res:   Result{Set: 1, Removed: 1},
		},
		{
			name: "an unknown field keeps the source", key: "llm.input_messages",
			value: `[{"role": "user", "content": "hi", "function_call_name": "f"}]`,
			want:  `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`,
			res:   Result{Set: 1},
		},
		{
			name: "nesting deeper than any field keeps the source", key: "llm.input_messages",
			value: `[{"role": "user", "content": "hi", "a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": "x"}}}}}}}}}}}]`,
			want:  `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`,
			res:   Result{Set: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := pcommon.NewMap()
			m.PutStr(tc.key, tc.value)
			n := New(Options{})
			res := n.Attributes(m)
			target := attrInputMessages
			if tc.key == "llm.output_messages" {
				target = attrOutputMessages
			}
			got, ok := m.Get(target)
			require.True(t, ok)
			assert.Equal(t, tc.want, got.Str())
			assert.True(t, json.Valid([]byte(got.Str())))
			assert.Equal(t, tc.res, res)
			_, kept := m.Get(tc.key)
			assert.Equal(t, res.Removed == 0, kept)
			assert.False(t, n.Attributes(m).Changed(), "second pass")
		})
	}

	// The indexed family comes first; a bare key that says something else is a conflict.
	m := pcommon.NewMap()
	m.PutStr("llm.input_messages.0.message.role", "user")
	m.PutStr("llm.input_messages.0.message.content", "a")
	m.PutStr("llm.input_messages", `[{"role": "user", "content": "b"}]`)
	assert.Equal(t, Result{Set: 1, Removed: 2, Conflicts: 1}, New(Options{}).Attributes(m))
}

// TestContribCoverage: every source attribute that the mapping tables of contrib's
// genainormalizer processor map has a row here (see each row's note for its target).
func TestContribCoverage(t *testing.T) {
	contrib := map[string][]string{
		srcContribOI: {
			"llm.token_count.prompt", "llm.token_count.completion", "llm.model_name", "llm.provider",
			"llm.input_messages", "llm.output_messages", "embedding.model_name", "tool.name", "tool.description",
			"tool_call.function.arguments", "tool_call.id", "reranker.model_name", "agent.name", "session.id",
			"openinference.span.kind",
			// The flattened messages that contrib's ReconstructMessages assembles.
			"llm.input_messages.{i}.message.*", "llm.output_messages.{i}.message.*",
		},
		srcContribOLLM: {
			"llm.usage.prompt_tokens", "llm.usage.completion_tokens", "llm.request.model", "llm.response.model",
			"llm.request.max_tokens", "llm.request.temperature", "llm.request.top_p", "llm.top_k",
			"llm.frequency_penalty", "llm.presence_penalty", "llm.chat.stop_sequences", "llm.request.functions",
			"llm.response.finish_reason", "llm.response.stop_reason", "llm.request.type", "traceloop.span.kind",
			"traceloop.entity.name", "traceloop.entity.input", "traceloop.entity.output",
		},
		srcContribCrewAI:     {"agent_role", "crew_id"},
		srcContribLangChain:  {"lc.metadata.thread_id", "langgraph.node.name"},
		srcContribPydanticAI: {"agent_name"},
	}
	rows := map[string]Mapping{}
	for _, r := range Table() {
		rows[r.From] = r
	}
	for src, keys := range contrib {
		for _, k := range keys {
			_, ok := rows[k]
			assert.True(t, ok, "%s (mapped by %s) has no row", k, src)
		}
	}
}
