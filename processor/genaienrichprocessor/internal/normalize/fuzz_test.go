// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// fuzzKeys are the keys the fuzzer picks from: every table row's source, the targets (so that
// conflicts happen), and members of the indexed families, including malformed ones.
var fuzzKeys = func() []string {
	keys := []string{
		"gen_ai.prompt.0.role", "gen_ai.prompt.0.content", "gen_ai.prompt.1.user", "gen_ai.prompt.1.role",
		"gen_ai.prompt.0.tool_calls.0.arguments", "gen_ai.prompt.0.tool_calls.0.name", "gen_ai.prompt.2.tool_call_id",
		"gen_ai.prompt.99999.role", "gen_ai.prompt.x.role", "gen_ai.prompt.01.role", "gen_ai.prompt.prompt_error",
		"gen_ai.completion.0.finish_reason", "gen_ai.completion.0.content", "gen_ai.completion.0.role",
		"gen_ai.completion.2.tool_calls.1.name", "gen_ai.completion.0.function_call.arguments",
		"gen_ai.completion.0.tool_calls.99999999999.id", "gen_ai.completion.1.refusal",
		"llm.input_messages.0.message.role", "llm.input_messages.0.message.content", "llm.input_messages.1.message.name",
		"llm.input_messages.0.message.contents.0.message_content.text", "llm.input_messages.0.message.contents.0.message_content.type",
		"llm.input_messages.0.message.contents.1.message_content.image.image.url", "llm.input_messages.2.message.tool_call_id",
		"llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments", "llm.output_messages.0.message.tool_calls.0.tool_call.id",
		"llm.output_messages.1.message.role", "llm.output_messages.0.message.content", "llm.output_messages.0.role",
		attrProviderName, attrOperationName, attrRequestModel, attrResponseModel, attrRequestMaxTokens,
		attrRequestTemperature, attrRequestTopK, attrRequestStopSequences, attrRequestStream, attrResponseFinishReasons,
		attrUsageInput, attrUsageOutput, attrUsageCacheCreation, attrUsageCacheWrite, attrInputMessages, attrOutputMessages,
		"server.address", "llm.token_count.total", "input.value",
		// Markers that rows are conditioned on, and the targets of the newer rows.
		srcCrewAIAgentFingerprint, srcCrewAICrewKey, srcLogfireMsg, attrResponseID, attrAgentName,
		attrConversationID, attrToolName, attrToolCallArguments, attrToolCallResult, attrToolDefinitions,
	}
	for _, r := range rules {
		if !strings.Contains(r.From, "{") {
			keys = append(keys, r.From)
		}
	}
	return keys
}()

// fuzzKey returns the layout byte that picks key k.
func fuzzKey(k string) byte {
	for i, x := range fuzzKeys {
		if x == k && i < 255 {
			return byte(i)
		}
	}
	panic("no fuzz key " + k)
}

// fuzzString returns the variant byte that picks the string value s.
func fuzzString(s string) byte {
	for i, x := range fuzzStrings {
		if x == s {
			return byte(i)
		}
	}
	panic("no fuzz string " + s)
}

// fuzzStrings are string values that exercise the converters and parsers.
var fuzzStrings = []string{
	"", "LLM", "EMBEDDING", "chain", "chat", "completion", "rerank", "openai", "Anthropic", "az.ai.openai", "moonshot",
	"user", "assistant", "tool", "text", "json_object", "12", "-1", "true", "\xff\xfe", "a\u2028b\"c\\",
	`{"temperature": 0.5, "max_tokens": 10, "stop": ["a"], "stream": true}`, `{"temperature":`, `[1, 2]`, `{"stop": ["a", 1]}`,
	`{"max_completion_tokens": 5, "max_tokens": 6, "n": 0, "seed": 1e30, "top_k": 1.5, "model": ""}`, `{"a": {"b": [1, {"c": "}"}]}}`,
	`{"city": "Paris"}`, `not json`, `null`, `{"x": "\u00e9\ud83d\ude00"}`,
	"agent", "tool", "workflow", "chatcmpl-7", "cmpl-7-0", "chatcmpl-", "0",
	`[{"role": "user", "content": "hi"}]`, `[{"message.role": "assistant", "message.tool_calls": [{"tool_call.id": "c", "tool_call.function.name": "f"}]}]`,
	`[{"message": {"contents": [{"message_content": {"type": "image"}}]}}]`, `[1]`, `[{"role": null}]`,
	`[{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": [1]}}}}}}}}}}}]`,
}

// buildFuzzMap turns the fuzzer's bytes into an attribute map: each 3-byte group picks a key,
// a value type and a variant; text and num feed the values.
func buildFuzzMap(layout []byte, text string, num float64) pcommon.Map {
	m := pcommon.NewMap()
	for i := 0; i+2 < len(layout) && i < 3*64; i += 3 {
		key := fuzzKeys[int(layout[i])%len(fuzzKeys)]
		if layout[i] == 255 {
			key = text
		}
		variant := int(layout[i+2])
		switch layout[i+1] % 10 {
		case 0:
			m.PutStr(key, text)
		case 1:
			m.PutStr(key, fuzzStrings[variant%len(fuzzStrings)])
		case 2:
			m.PutInt(key, int64(variant)-64)
		case 3:
			m.PutDouble(key, num)
		case 4:
			m.PutDouble(key, []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1.5, 3, 1e300, 0.25}[variant%7])
		case 5:
			m.PutBool(key, variant%2 == 0)
		case 6:
			s := m.PutEmptySlice(key)
			for k := 0; k < variant%4; k++ {
				s.AppendEmpty().SetStr(fuzzStrings[(variant+k)%len(fuzzStrings)])
			}
		case 7:
			s := m.PutEmptySlice(key)
			s.AppendEmpty().SetStr(text)
			s.AppendEmpty().SetInt(int64(variant))
		case 8:
			m.PutEmptyMap(key).PutStr("temperature", text)
		case 9:
			if variant%2 == 0 {
				m.PutEmpty(key)
			} else {
				m.PutEmptyBytes(key).FromRaw([]byte(text))
			}
		}
	}
	return m
}

// FuzzAttributes feeds random typed values under the table's keys: Attributes never panics,
// keeps its counts consistent, never changes a v1.41 attribute that was already there, writes
// valid message JSON, and a second pass changes nothing.
func FuzzAttributes(f *testing.F) {
	f.Add([]byte{0, 1, 21, 5, 2, 3}, "gpt-4o", 0.5, uint8(0))
	f.Add([]byte{40, 0, 0, 41, 1, 7, 18, 1, 17}, `{"temperature": 0.2}`, math.NaN(), uint8(1))
	f.Add([]byte{255, 0, 0, 3, 3, 3}, "llm.token_count.prompt", 12.0, uint8(2))
	// A vLLM request span, a traceloop tool span and messages as one JSON string.
	f.Add([]byte{
		fuzzKey("gen_ai.request.id"), 1, fuzzString("chatcmpl-7"), fuzzKey("gen_ai.latency.e2e"), 3, 0,
		fuzzKey("gen_ai.latency.time_to_first_token"), 3, 0, fuzzKey("gen_ai.request.n"), 2, 66,
	}, "x", 0.25, uint8(0))
	f.Add([]byte{
		fuzzKey(srcTraceloopSpanKind), 1, fuzzString("tool"), fuzzKey("traceloop.entity.name"), 0, 0,
		fuzzKey("traceloop.entity.input"), 1, fuzzString(`{"city": "Paris"}`),
	}, "get_weather", 0.0, uint8(1))
	f.Add([]byte{
		fuzzKey("llm.input_messages"), 1, fuzzString(`[{"role": "user", "content": "hi"}]`),
		fuzzKey("llm.output_messages"), 0, 0, fuzzKey(srcOISpanKind), 1, fuzzString("LLM"),
	}, `[{"message.role": "assistant", "message.content": "ok"}]`, 0.0, uint8(3))
	normalizers := []*Normalizer{
		New(Options{}), New(Options{KeepOriginal: true}), New(Options{Latest: true}), New(Options{KeepOriginal: true, Latest: true}),
	}
	f.Fuzz(func(t *testing.T, layout []byte, text string, num float64, opts uint8) {
		n := normalizers[int(opts)%len(normalizers)]
		m := buildFuzzMap(layout, text, num)
		before := pcommon.NewMap()
		m.CopyTo(before)

		res := n.Attributes(m)
		if res.Set < 0 || res.Removed < 0 || res.Skipped < 0 || res.Conflicts < 0 {
			t.Fatalf("negative count %+v", res)
		}
		if n.opts.KeepOriginal && res.Removed != 0 {
			t.Fatalf("removed %d with KeepOriginal", res.Removed)
		}
		if got, want := m.Len(), before.Len()+res.Set-res.Removed; got != want {
			t.Fatalf("map has %d attributes, want %d (%+v)", got, want, res)
		}
		// A v1.41 attribute that was there keeps its value (cache_creation is itself renamed
		// with Latest, cache_write without it).
		renamed := attrUsageCacheWrite
		if n.opts.Latest {
			renamed = attrUsageCacheCreation
		}
		before.Range(func(k string, v pcommon.Value) bool {
			if !isTarget(k) || k == renamed {
				return true
			}
			after, ok := m.Get(k)
			if !ok || !after.Equal(v) && (!isNaN(after) || !isNaN(v)) {
				t.Fatalf("v1.41 attribute %q changed from %v to %v", k, v.AsRaw(), after.AsRaw())
			}
			return true
		})
		for _, k := range []string{attrInputMessages, attrOutputMessages} {
			if v, ok := m.Get(k); ok {
				if _, existed := before.Get(k); !existed && !json.Valid([]byte(v.Str())) {
					t.Fatalf("%s is not valid JSON: %q", k, v.Str())
				}
			}
		}
		if again := n.Attributes(m); again.Changed() {
			t.Fatalf("second pass changed the map: %+v", again)
		}
	})
}

func isNaN(v pcommon.Value) bool {
	return v.Type() == pcommon.ValueTypeDouble && math.IsNaN(v.Double())
}

// isTarget reports whether k is an attribute the table writes.
func isTarget(k string) bool {
	switch k {
	case attrProviderName, attrOperationName, attrRequestModel, attrResponseModel, attrRequestMaxTokens,
		attrRequestTemperature, attrRequestTopP, attrRequestTopK, attrRequestFreqPenalty, attrRequestPresPenalty,
		attrRequestSeed, attrRequestStopSequences, attrRequestStream, attrRequestChoiceCount, attrResponseFinishReasons,
		attrResponseTTFC, attrUsageInput, attrUsageOutput, attrUsageCacheRead, attrUsageCacheCreation, attrUsageReasoning,
		attrInputMessages, attrOutputMessages, attrOutputType, attrEmbeddingsDimCount, attrToolCallArguments,
		attrOpenAIReqServiceTier, attrOpenAIRespServiceTier, attrOpenAIRespFingerprint, attrUsageCacheWrite,
		attrResponseID, attrAgentName, attrConversationID, attrToolName, attrToolDescription, attrToolCallID,
		attrToolCallResult, attrToolDefinitions:
		return true
	}
	return false
}
