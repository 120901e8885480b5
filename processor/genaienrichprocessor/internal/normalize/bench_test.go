// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// gatewaySpan is a span as the project's own llama.cpp gateway writes it: v1.41 attributes
// only, plus llamacpp.* extras (21 attributes). Normalizing it must not change or allocate.
func gatewaySpan() ptrace.Span {
	s := ptrace.NewSpan()
	s.SetName("chat qwen2.5-3b-instruct")
	a := s.Attributes()
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("gen_ai.provider.name", "llama_cpp")
	a.PutStr("gen_ai.request.model", "qwen2.5-3b-instruct")
	a.PutStr("gen_ai.response.model", "qwen2.5-3b-instruct-q4_k_m.gguf")
	a.PutStr("gen_ai.response.id", "chatcmpl-7Qb3Jx")
	a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
	a.PutInt("gen_ai.usage.input_tokens", 1085)
	a.PutInt("gen_ai.usage.output_tokens", 247)
	a.PutInt("gen_ai.usage.cache_read.input_tokens", 1024)
	a.PutInt("gen_ai.request.max_tokens", 512)
	a.PutDouble("gen_ai.request.temperature", 0.7)
	a.PutDouble("gen_ai.request.top_p", 0.95)
	a.PutDouble("gen_ai.request.top_k", 40)
	a.PutInt("gen_ai.request.seed", 42)
	a.PutBool("gen_ai.request.stream", true)
	a.PutDouble("gen_ai.response.time_to_first_chunk", 0.203)
	a.PutStr("server.address", "127.0.0.1")
	a.PutInt("server.port", 8080)
	a.PutInt("llamacpp.slot.id", 0)
	a.PutInt("llamacpp.prompt.tokens.cached", 1024)
	a.PutDouble("llamacpp.generation.throughput", 264.56)
	return s
}

// openInferenceSpan is an LLM span as openinference-instrumentation-openai writes it.
func openInferenceSpan() ptrace.Span {
	s := ptrace.NewSpan()
	s.SetName("ChatCompletion")
	a := s.Attributes()
	a.PutStr("openinference.span.kind", "LLM")
	a.PutStr("llm.provider", "openai")
	a.PutStr("llm.system", "openai")
	a.PutStr("llm.model_name", "gpt-4o-mini-2024-07-18")
	a.PutStr("llm.invocation_parameters", `{"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 256}`)
	a.PutStr("input.value", `{"messages": [{"role": "user", "content": "What is the capital of France?"}]}`)
	a.PutStr("input.mime_type", "application/json")
	a.PutStr("output.value", `{"id": "chatcmpl-1", "choices": []}`)
	a.PutStr("output.mime_type", "application/json")
	a.PutStr("llm.input_messages.0.message.role", "system")
	a.PutStr("llm.input_messages.0.message.content", "You are terse.")
	a.PutStr("llm.input_messages.1.message.role", "user")
	a.PutStr("llm.input_messages.1.message.content", "What is the capital of France?")
	a.PutStr("llm.output_messages.0.message.role", "assistant")
	a.PutStr("llm.output_messages.0.message.content", "Paris.")
	a.PutInt("llm.token_count.prompt", 24)
	a.PutInt("llm.token_count.completion", 2)
	a.PutInt("llm.token_count.total", 26)
	a.PutInt("llm.token_count.prompt_details.cache_read", 0)
	return s
}

// openLLMetrySpan is a chat span as opentelemetry-instrumentation-openai (traceloop) writes it.
func openLLMetrySpan() ptrace.Span {
	s := ptrace.NewSpan()
	s.SetName("openai.chat")
	a := s.Attributes()
	a.PutStr("llm.request.type", "chat")
	a.PutStr("gen_ai.system", "openai")
	a.PutStr("gen_ai.request.model", "gpt-4o-mini")
	a.PutInt("gen_ai.request.max_tokens", 256)
	a.PutDouble("gen_ai.request.temperature", 0.2)
	a.PutBool("llm.is_streaming", false)
	a.PutStr("llm.headers", "None")
	a.PutStr("gen_ai.openai.api_base", "http://127.0.0.1:8080/v1/")
	a.PutStr("gen_ai.prompt.0.role", "user")
	a.PutStr("gen_ai.prompt.0.content", "What is the capital of France?")
	a.PutStr("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
	a.PutStr("gen_ai.response.id", "chatcmpl-1")
	a.PutInt("llm.usage.total_tokens", 26)
	a.PutInt("gen_ai.usage.completion_tokens", 2)
	a.PutInt("gen_ai.usage.prompt_tokens", 24)
	a.PutStr("gen_ai.completion.0.finish_reason", "stop")
	a.PutStr("gen_ai.completion.0.role", "assistant")
	a.PutStr("gen_ai.completion.0.content", "Paris.")
	return s
}

// openLITSpan is a chat span as OpenLIT's ollama instrumentation writes it.
func openLITSpan() ptrace.Span {
	s := ptrace.NewSpan()
	s.SetName("chat llama3.2")
	a := s.Attributes()
	a.PutStr("telemetry.sdk.name", "openlit")
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("gen_ai.system", "ollama")
	a.PutStr("gen_ai.request.model", "llama3.2")
	a.PutInt("server.port", 11434)
	a.PutDouble("gen_ai.request.temperature", 0.7)
	a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
	a.PutStr("gen_ai.response.model", "llama3.2")
	a.PutInt("gen_ai.usage.input_tokens", 30)
	a.PutInt("gen_ai.usage.output_tokens", 12)
	a.PutStr("server.address", "127.0.0.1")
	a.PutStr("gen_ai.output.type", "text")
	a.PutStr("deployment.environment", "default")
	a.PutStr("service.name", "default")
	a.PutBool("gen_ai.request.is_stream", true)
	a.PutInt("gen_ai.client.token.usage", 42)
	a.PutDouble("gen_ai.usage.cost", 0)
	a.PutDouble("gen_ai.server.time_per_output_token", 0.011)
	a.PutDouble("gen_ai.server.time_to_first_token", 0.092)
	a.PutStr("gen_ai.sdk.version", "1.33.0")
	return s
}

// BenchmarkNormalize reports the cost per span. The v141 case reuses one span (it is not
// changed); the others normalize fresh copies, made in batches outside the timer.
func BenchmarkNormalize(b *testing.B) {
	n := New(Options{})
	b.Run("v141", func(b *testing.B) {
		s := gatewaySpan()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if r := n.Span(s); r.Changed() {
				b.Fatalf("gateway span changed: %+v", r)
			}
		}
	})
	for _, c := range []struct {
		name string
		span func() ptrace.Span
	}{
		{"openinference", openInferenceSpan},
		{"openllmetry", openLLMetrySpan},
		{"openlit", openLITSpan},
	} {
		b.Run(c.name, func(b *testing.B) {
			tmpl := c.span()
			const batch = 1024
			spans := make([]ptrace.Span, batch)
			for i := range spans {
				spans[i] = ptrace.NewSpan()
			}
			refill := func() {
				for i := range spans {
					tmpl.CopyTo(spans[i])
				}
			}
			refill()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := i % batch
				if j == 0 && i > 0 {
					b.StopTimer()
					refill()
					b.StartTimer()
				}
				if r := n.Span(spans[j]); !r.Changed() {
					b.Fatalf("%s span not changed", c.name)
				}
			}
		})
	}
}
