// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// Target attribute names (GenAI semantic conventions v1.41 unless noted).
const (
	attrProviderName          = conventions.AttrGenAIProviderName
	attrOperationName         = conventions.AttrGenAIOperationName
	attrRequestModel          = conventions.AttrGenAIRequestModel
	attrResponseModel         = conventions.AttrGenAIResponseModel
	attrRequestMaxTokens      = conventions.AttrGenAIRequestMaxTokens
	attrRequestTemperature    = conventions.AttrGenAIRequestTemperature
	attrRequestTopP           = conventions.AttrGenAIRequestTopP
	attrRequestTopK           = conventions.AttrGenAIRequestTopK
	attrRequestFreqPenalty    = conventions.AttrGenAIRequestFrequencyPenalty
	attrRequestPresPenalty    = conventions.AttrGenAIRequestPresencePenalty
	attrRequestSeed           = conventions.AttrGenAIRequestSeed
	attrRequestStopSequences  = conventions.AttrGenAIRequestStopSequences
	attrRequestStream         = conventions.AttrGenAIRequestStream
	attrRequestChoiceCount    = conventions.AttrGenAIRequestChoiceCount
	attrResponseFinishReasons = conventions.AttrGenAIResponseFinishReasons
	attrResponseTTFC          = conventions.AttrGenAIResponseTimeToFirstChunk
	attrUsageInput            = conventions.AttrGenAIUsageInputTokens
	attrUsageOutput           = conventions.AttrGenAIUsageOutputTokens
	attrUsageCacheRead        = conventions.AttrGenAIUsageCacheReadTokens
	attrUsageCacheCreation    = "gen_ai.usage.cache_creation.input_tokens"
	attrUsageReasoning        = conventions.AttrGenAIUsageReasoningTokens
	attrInputMessages         = conventions.AttrGenAIInputMessages
	attrOutputMessages        = conventions.AttrGenAIOutputMessages
	attrOutputType            = conventions.AttrGenAIOutputType
	attrEmbeddingsDimCount    = "gen_ai.embeddings.dimension.count"
	attrToolCallArguments     = "gen_ai.tool.call.arguments"
	attrResponseID            = conventions.AttrGenAIResponseID
	attrAgentName             = "gen_ai.agent.name"
	attrConversationID        = "gen_ai.conversation.id"
	attrToolName              = "gen_ai.tool.name"
	attrToolDescription       = "gen_ai.tool.description"
	attrToolCallID            = "gen_ai.tool.call.id"
	attrToolCallResult        = "gen_ai.tool.call.result"
	attrToolDefinitions       = "gen_ai.tool.definitions"
	attrOpenAIReqServiceTier  = "openai.request.service_tier"
	attrOpenAIRespServiceTier = "openai.response.service_tier"
	attrOpenAIRespFingerprint = "openai.response.system_fingerprint"

	// attrUsageCacheWrite is the semantic-conventions-genai name of
	// gen_ai.usage.cache_creation.input_tokens (#440); written only with Options.Latest.
	attrUsageCacheWrite = "gen_ai.usage.cache_write.input_tokens"
)

// Source attributes that other rules look at.
const (
	srcLLMProvider      = "llm.provider"
	srcLLMFinishReason  = "llm.finish_reason"
	srcOpenLITIsStream  = "gen_ai.request.is_stream"
	srcOpenLLMetryIsStr = "llm.is_streaming"
	// srcOISpanKind is set on every OpenInference span; it marks the span as OpenInference for
	// the rows of unprefixed names (agent.name, session.id, tool.name, ...).
	srcOISpanKind = "openinference.span.kind"
	// srcTraceloopSpanKind is set by the traceloop SDK decorators (workflow, task, agent, tool).
	srcTraceloopSpanKind = "traceloop.span.kind"
	// srcVLLMRequestID is the engine request id on vLLM's llm_request spans.
	srcVLLMRequestID = "gen_ai.request.id"
	// Markers of the framework spans that use unprefixed names: CrewAI writes agent_role
	// beside agent_fingerprint and crew_id beside crew_key; PydanticAI's agent run span carries
	// logfire.msg.
	srcCrewAIAgentFingerprint = "agent_fingerprint"
	srcCrewAICrewKey          = "crew_key"
	srcLogfireMsg             = "logfire.msg"
)

// Request id prefixes of vLLM's OpenAI-compatible server (chat/completion serving.py).
const (
	vllmChatIDPrefix       = "chatcmpl-"
	vllmCompletionIDPrefix = "cmpl-"
)

// Prefixes of the indexed message families.
const (
	prefixOLPrompt     = "gen_ai.prompt."
	prefixOLCompletion = "gen_ai.completion."
	prefixOIInput      = "llm.input_messages."
	prefixOIOutput     = "llm.output_messages."
)

// Kinds of mapping, as reported in [Mapping.Kind].
const (
	// KindRename copies the value (checked and, where noted, converted) to the new name.
	KindRename = "rename"
	// KindParse reads a structured value (a JSON string) and writes several attributes.
	KindParse = "parse"
	// KindDerive builds the target from several source attributes or under a condition.
	KindDerive = "derive"
)

// Mapping is one row of the normalization table.
type Mapping struct {
	// From is the source attribute; {i} and {j} stand for indexes of an indexed family.
	From string
	// To is the GenAI semantic-conventions v1.41 attribute written (several for parse rows).
	To string
	// Kind is KindRename, KindParse or KindDerive.
	Kind string
	// Source names where From is defined: repository, file and the commit that was read.
	Source string
	// Note says what is converted, checked or conditional.
	Note string
}

// Where the source attributes are defined. Commits are the versions that were read.
const (
	srcSemconvDeprecated = "open-telemetry/semantic-conventions model/gen-ai/deprecated/registry-deprecated.yaml @055b333b"
	srcGenAI440          = "open-telemetry/semantic-conventions-genai changelog.d/440.breaking.md @b9449702"
	srcOLLMSemconv       = "traceloop/openllmetry packages/opentelemetry-semantic-conventions-ai/opentelemetry/semconv_ai/__init__.py @99e172c0"
	srcOLLMShared        = "traceloop/openllmetry packages/opentelemetry-instrumentation-openai/opentelemetry/instrumentation/openai/shared/__init__.py @00d044f7"
	srcOLLMChat          = "traceloop/openllmetry packages/opentelemetry-instrumentation-openai/opentelemetry/instrumentation/openai/shared/chat_wrappers.py @00d044f7 (and completion_wrappers.py @0680d665)"
	srcGoOLLM            = "traceloop/go-openllmetry semconv-ai/attributes.go @7a44a860"
	srcOIPython          = "Arize-ai/openinference python/openinference-semantic-conventions/src/openinference/semconv/trace/__init__.py @0101ec16"
	srcOISpec            = "Arize-ai/openinference spec/semantic_conventions.md @00e2b515"
	srcOpenLIT           = "openlit/openlit sdk/python/src/openlit/semcov/__init__.py @018fe1f4"
	srcOpenLITOllama     = "openlit/openlit sdk/python/src/openlit/instrumentation/ollama/utils.py @9f285555"

	// llm.model_name is first the requested model and is then overwritten with the model of the
	// response (JS); the Python instrumentation sets it only from the response and puts the
	// requested model into llm.invocation_parameters.
	srcOIJSOpenAI     = "Arize-ai/openinference js/packages/openinference-instrumentation-openai/src/instrumentation.ts @92ce1619"
	srcOIPyOpenAIResp = "Arize-ai/openinference python/instrumentation/openinference-instrumentation-openai/src/openinference/instrumentation/openai/_response_attributes_extractor.py @f070000b"
	srcOIPyOpenAIReq  = "Arize-ai/openinference python/instrumentation/openinference-instrumentation-openai/src/openinference/instrumentation/openai/_request_attributes_extractor.py @6059386b"

	srcOLLMTraceloop   = "traceloop/openllmetry packages/opentelemetry-semantic-conventions-ai/opentelemetry/semconv_ai/__init__.py @0129a0a5"
	srcOLLMDecorators  = "traceloop/openllmetry packages/traceloop-sdk/traceloop/sdk/decorators/base.py @d61ae3c1"
	srcCrewAITelemetry = "crewAIInc/crewAI lib/crewai/src/crewai/telemetry/utils.py @a9fa9e2c"
	srcPydanticAIRun   = "pydantic/pydantic-ai tests/test_logfire.py @76ee86d7 (agent run span)"

	srcVLLMAttributes = "vllm-project/vllm vllm/tracing/utils.py @0bf3270f (SpanAttributes)"
	srcVLLMSpan       = "vllm-project/vllm vllm/v1/engine/output_processor.py @d0782260 (do_tracing, span llm_request)"
	srcVLLMLegacy     = "vllm-project/vllm vllm/tracing.py @91310096 (SpanAttributes, V0 engine)"
	srcVLLMChatID     = "vllm-project/vllm vllm/entrypoints/openai/chat_completion/serving.py @5e918640"
	srcVLLMCmplID     = "vllm-project/vllm vllm/entrypoints/openai/completion/serving.py @cc139d8e"

	// The mapping tables of the collector-contrib genainormalizer processor; every source
	// attribute they map has a row here (same target, or a different one with the reason).
	srcContribOI         = "open-telemetry/opentelemetry-collector-contrib processor/genainormalizerprocessor/internal/openinference/mappings.go @0a5f6d30"
	srcContribOIValues   = "open-telemetry/opentelemetry-collector-contrib processor/genainormalizerprocessor/internal/openinference/valuemappings.go @1183d58d"
	srcContribOLLM       = "open-telemetry/opentelemetry-collector-contrib processor/genainormalizerprocessor/internal/openllmetry/mappings.go @09ea2f42"
	srcContribOLLMValues = "open-telemetry/opentelemetry-collector-contrib processor/genainormalizerprocessor/internal/openllmetry/valuemappings.go @1183d58d"
	srcContribCrewAI     = "open-telemetry/opentelemetry-collector-contrib processor/genainormalizerprocessor/internal/crewai/mappings.go @94ba3239"
	srcContribLangChain  = "open-telemetry/opentelemetry-collector-contrib processor/genainormalizerprocessor/internal/langchain/mappings.go @428f649a"
	srcContribPydanticAI = "open-telemetry/opentelemetry-collector-contrib processor/genainormalizerprocessor/internal/pydanticai/mappings.go @4cfb1c2d"

	contribNote = "same as contrib genainormalizer"
)

// op selects how a rule is applied.
type op uint8

const (
	opValue      op = iota // convert one value and write it
	opInvocation           // parse llm.invocation_parameters
	opFamily               // assemble an indexed message family
	opMessages             // convert a JSON array of messages (family tells input or output)
)

// ruleDef is a table row plus what the Normalizer needs to apply it.
type ruleDef struct {
	Mapping
	op     op
	conv   converter // opValue: checks and converts the value
	to     string    // resolved target (the row's To unless Latest renames it)
	unless string    // opValue: the rule does not apply when this source attribute is present
	// when, if set, must hold for the rule to apply (a marker of the instrumentation).
	when func(m pcommon.Map) bool
	// pick, if set, chooses the target per span; "" means the rule does not apply.
	pick func(m pcommon.Map) string
	// derive, if set, computes the value from the span instead of converting the source value.
	derive func(m pcommon.Map) (val, status)
	// keep leaves the source attribute in place (it only triggers the rule); the value is
	// written only when the target is absent, never as a conflict.
	keep   bool
	family family // opFamily, opMessages
	// mode restricts the row to one setting of Options.Latest.
	mode mode
	// index is the row's position in the table (its priority), set by New.
	index int
}

type mode uint8

const (
	modeAlways mode = iota
	modeV141        // only when Options.Latest is false
	modeLatest      // only when Options.Latest is true
)

// rules is the table in priority order: when two rows write the same target, the earlier wins.
var rules = []ruleDef{
	// --- GenAI semantic conventions before v1.37 / v1.27 (deprecated names) ---
	{Mapping: Mapping{From: "gen_ai.system", To: attrProviderName, Kind: KindRename, Source: srcSemconvDeprecated,
		Note: "renamed in v1.37; deprecated values mapped (az.ai.inference, az.ai.openai, vertex_ai, gemini, xai) and peer spellings normalised, see Provider values"},
		conv: convProvider},
	{Mapping: Mapping{From: "gen_ai.usage.prompt_tokens", To: attrUsageInput, Kind: KindRename, Source: srcSemconvDeprecated,
		Note: "integer >= 0; also written by OpenLLMetry (" + srcOLLMSemconv + ") and by vLLM on its llm_request spans (" + srcVLLMAttributes + ")"},
		conv: convCount},
	{Mapping: Mapping{From: "gen_ai.usage.completion_tokens", To: attrUsageOutput, Kind: KindRename, Source: srcSemconvDeprecated,
		Note: "integer >= 0; also written by OpenLLMetry and vLLM"},
		conv: convCount},
	{Mapping: Mapping{From: "gen_ai.openai.request.seed", To: attrRequestSeed, Kind: KindRename, Source: srcSemconvDeprecated,
		Note: "integer"},
		conv: convInt},
	{Mapping: Mapping{From: "gen_ai.openai.request.response_format", To: attrOutputType, Kind: KindRename, Source: srcSemconvDeprecated,
		Note: "text -> text, json_object and json_schema -> json; other values skipped"},
		conv: convOutputType},
	{Mapping: Mapping{From: "gen_ai.openai.request.service_tier", To: attrOpenAIReqServiceTier, Kind: KindRename, Source: srcSemconvDeprecated,
		Note: "string"},
		conv: convString},
	{Mapping: Mapping{From: "gen_ai.openai.response.service_tier", To: attrOpenAIRespServiceTier, Kind: KindRename, Source: srcSemconvDeprecated,
		Note: "string"},
		conv: convString},
	{Mapping: Mapping{From: "gen_ai.openai.response.system_fingerprint", To: attrOpenAIRespFingerprint, Kind: KindRename, Source: srcSemconvDeprecated,
		Note: "string"},
		conv: convString},

	// --- OpenLLMetry (traceloop) ---
	{Mapping: Mapping{From: "llm.request.type", To: attrOperationName, Kind: KindRename, Source: srcOLLMSemconv + "; " + srcContribOLLM,
		Note: "chat -> chat, completion -> text_completion, embedding -> embeddings (as contrib genainormalizer); rerank and unknown left as they are (contrib: rerank -> retrieval); other values skipped"},
		conv: convOperation(openLLMetryRequestTypes)},
	{Mapping: Mapping{From: "gen_ai.usage.cache_read_input_tokens", To: attrUsageCacheRead, Kind: KindRename, Source: srcOLLMSemconv,
		Note: "integer >= 0"},
		conv: convCount},
	{Mapping: Mapping{From: "gen_ai.usage.cache_creation_input_tokens", To: attrUsageCacheCreation, Kind: KindRename, Source: srcOLLMSemconv,
		Note: "integer >= 0"},
		conv: convCount},
	{Mapping: Mapping{From: srcOpenLLMetryIsStr, To: attrRequestStream, Kind: KindRename, Source: srcOLLMSemconv,
		Note: "boolean; set on every request by " + srcOLLMShared},
		conv: convBool},
	{Mapping: Mapping{From: "llm.top_k", To: attrRequestTopK, Kind: KindRename, Source: srcOLLMSemconv + "; " + srcContribOLLM,
		Note: "number, written as double (int with Latest); " + contribNote},
		conv: convTopK},
	{Mapping: Mapping{From: "llm.frequency_penalty", To: attrRequestFreqPenalty, Kind: KindRename, Source: srcOLLMSemconv + "; " + srcContribOLLM,
		Note: "number, written as double; " + contribNote},
		conv: convDouble},
	{Mapping: Mapping{From: "llm.presence_penalty", To: attrRequestPresPenalty, Kind: KindRename, Source: srcOLLMSemconv + "; " + srcContribOLLM,
		Note: "number, written as double; " + contribNote},
		conv: convDouble},
	{Mapping: Mapping{From: "llm.chat.stop_sequences", To: attrRequestStopSequences, Kind: KindRename, Source: srcOLLMSemconv + "; " + srcContribOLLM,
		Note: "string or string array, written as string[]; " + contribNote},
		conv: convStrings},
	{Mapping: Mapping{From: "gen_ai.prompt.{i}.*", To: attrInputMessages, Kind: KindDerive, Source: srcOLLMChat,
		Note: "role, content, tool_call_id, tool_calls.{j}.{id,name,arguments}, and {i}.user (completions API) assembled into the v1.41 message JSON"},
		op: opFamily, family: famOLPrompt},
	{Mapping: Mapping{From: "gen_ai.completion.{i}.*", To: attrOutputMessages, Kind: KindDerive, Source: srcOLLMChat,
		Note: "role (default assistant), content, finish_reason, tool_calls.{j}.{id,name,arguments} assembled into the v1.41 message JSON"},
		op: opFamily, family: famOLCompletion},
	{Mapping: Mapping{From: "gen_ai.completion.{i}.finish_reason", To: attrResponseFinishReasons, Kind: KindDerive, Source: srcOLLMChat,
		Note: "the finish reasons of the completions in index order; written only when absent, consumed with gen_ai.completion.{i}.*"},
		op: opFamily, family: famOLFinish},
	{Mapping: Mapping{From: "llm.response.finish_reason", To: attrResponseFinishReasons, Kind: KindRename, Source: srcOLLMSemconv + "; " + srcContribOLLM,
		Note: "string wrapped into string[]; " + contribNote},
		conv: convStrings},
	{Mapping: Mapping{From: "llm.response.stop_reason", To: attrResponseFinishReasons, Kind: KindRename, Source: srcOLLMSemconv + "; " + srcContribOLLM,
		Note: "string wrapped into string[]; " + contribNote},
		conv: convStrings},
	{Mapping: Mapping{From: "llm.request.temperature", To: attrRequestTemperature, Kind: KindRename, Source: srcContribOLLM,
		Note: "number, written as double; " + contribNote + " (not in the semconv_ai versions read here, which write gen_ai.request.temperature)"},
		conv: convDouble},
	{Mapping: Mapping{From: "llm.request.top_p", To: attrRequestTopP, Kind: KindRename, Source: srcContribOLLM,
		Note: "number, written as double; " + contribNote + " (not in the semconv_ai versions read here, which write gen_ai.request.top_p)"},
		conv: convDouble},
	{Mapping: Mapping{From: "llm.request.functions", To: attrToolDefinitions, Kind: KindRename, Source: srcOLLMTraceloop + "; " + srcContribOLLM,
		Note: "a JSON array string, copied as it is (v1.41 keeps the source system's tool definition format); other values skipped; " + contribNote + ". The instrumentations write the indexed llm.request.functions.{i}.*, which stays"},
		conv: convJSONArray},
	{Mapping: Mapping{From: srcTraceloopSpanKind, To: attrOperationName, Kind: KindRename, Source: srcOLLMTraceloop + "; " + srcContribOLLMValues,
		Note: "agent -> invoke_agent, tool -> execute_tool, case-insensitive; workflow, task and unknown left as they are (contrib: workflow -> invoke_workflow, which is not a v1.41 value, and task -> invoke_agent, but a task is not an agent); other values skipped"},
		conv: convOperation(traceloopSpanKinds)},
	{Mapping: Mapping{From: "traceloop.entity.name", To: "gen_ai.{agent,tool}.name", Kind: KindDerive, Source: srcOLLMDecorators + "; " + srcContribOLLM,
		Note: "non-empty string; the decorated function's name: gen_ai.agent.name on traceloop.span.kind agent, gen_ai.tool.name on tool, left on workflow and task spans (contrib: always gen_ai.agent.name)"},
		conv: convString, pick: traceloopTarget(attrAgentName, attrToolName)},
	{Mapping: Mapping{From: "traceloop.entity.input", To: attrToolCallArguments, Kind: KindDerive, Source: srcOLLMDecorators + "; " + srcContribOLLM,
		Note: "only on traceloop.span.kind tool spans, copied as it is (the JSON {\"args\": [...], \"kwargs\": {...}} of the call); left elsewhere: it is the decorated function's arguments, not chat messages (contrib: gen_ai.input.messages)"},
		conv: convAny, pick: traceloopTarget("", attrToolCallArguments)},
	{Mapping: Mapping{From: "traceloop.entity.output", To: attrToolCallResult, Kind: KindDerive, Source: srcOLLMDecorators + "; " + srcContribOLLM,
		Note: "only on traceloop.span.kind tool spans, copied as it is (the JSON of the return value); left elsewhere (contrib: gen_ai.output.messages)"},
		conv: convAny, pick: traceloopTarget("", attrToolCallResult)},

	// --- go-openllmetry (traceloop Go SDK) ---
	{Mapping: Mapping{From: "llm.vendor", To: attrProviderName, Kind: KindRename, Source: srcGoOLLM,
		Note: "values normalised, see Provider values"},
		conv: convProvider},
	{Mapping: Mapping{From: "llm.request.model", To: attrRequestModel, Kind: KindRename, Source: srcGoOLLM + "; " + srcContribOLLM,
		Note: "non-empty string; " + contribNote},
		conv: convString},
	{Mapping: Mapping{From: "llm.response.model", To: attrResponseModel, Kind: KindRename, Source: srcGoOLLM + "; " + srcContribOLLM,
		Note: "non-empty string; " + contribNote},
		conv: convString},
	{Mapping: Mapping{From: "llm.request.max_tokens", To: attrRequestMaxTokens, Kind: KindRename, Source: srcGoOLLM + "; " + srcContribOLLM,
		Note: "integer >= 0; " + contribNote},
		conv: convCount},
	{Mapping: Mapping{From: "llm.usage.prompt_tokens", To: attrUsageInput, Kind: KindRename, Source: srcGoOLLM + "; " + srcContribOLLM,
		Note: "integer >= 0; " + contribNote},
		conv: convCount},
	{Mapping: Mapping{From: "llm.usage.completion_tokens", To: attrUsageOutput, Kind: KindRename, Source: srcGoOLLM + "; " + srcContribOLLM,
		Note: "integer >= 0; " + contribNote},
		conv: convCount},
	{Mapping: Mapping{From: "llm.temperature", To: attrRequestTemperature, Kind: KindRename, Source: srcGoOLLM,
		Note: "number, written as double"},
		conv: convDouble},
	{Mapping: Mapping{From: "llm.top_p", To: attrRequestTopP, Kind: KindRename, Source: srcGoOLLM,
		Note: "number, written as double"},
		conv: convDouble},

	// --- OpenInference (Arize) ---
	{Mapping: Mapping{From: srcLLMProvider, To: attrProviderName, Kind: KindRename, Source: srcOIPython + "; " + srcContribOI,
		Note: "values normalised, see Provider values; " + contribNote},
		conv: convProvider},
	{Mapping: Mapping{From: "llm.system", To: attrProviderName, Kind: KindRename, Source: srcOIPython,
		Note: "only when llm.provider is absent; beside llm.provider it is removed when it names the same provider and left otherwise; values normalised, see Provider values"},
		conv: convProvider, unless: srcLLMProvider},
	{Mapping: Mapping{From: "llm.request.model_name", To: attrRequestModel, Kind: KindRename, Source: srcOIPython,
		Note: "non-empty string"},
		conv: convString},
	{Mapping: Mapping{From: "llm.response.model_name", To: attrResponseModel, Kind: KindRename, Source: srcOIPython,
		Note: "non-empty string"},
		conv: convString},
	{Mapping: Mapping{From: "llm.model_name", To: attrResponseModel, Kind: KindRename, Source: srcOIPython + "; " + srcOIJSOpenAI + "; " + srcOIPyOpenAIResp + "; " + srcContribOI,
		Note: "non-empty string; the model that answered: the instrumentations set it from the response (JS overrides the requested model with the server's, Python sets it only from the response); the requested model comes from llm.invocation_parameters model and is not taken from here (contrib maps it to gen_ai.request.model)"},
		conv: convString},
	{Mapping: Mapping{From: "embedding.model_name", To: attrRequestModel, Kind: KindRename, Source: srcOIPython + "; " + srcOIJSOpenAI + "; " + srcOIPyOpenAIResp + "; " + srcContribOI,
		Note: "non-empty string; " + contribNote + " (the JS instrumentation sets the requested model, the Python one the response's)"},
		conv: convString},
	{Mapping: Mapping{From: "reranker.model_name", To: attrRequestModel, Kind: KindRename, Source: srcOIPython + "; " + srcContribOI,
		Note: "non-empty string; " + contribNote},
		conv: convString},
	{Mapping: Mapping{From: "llm.token_count.prompt", To: attrUsageInput, Kind: KindRename, Source: srcOIPython + "; " + srcContribOI,
		Note: "integer >= 0; " + contribNote},
		conv: convCount},
	{Mapping: Mapping{From: "llm.token_count.completion", To: attrUsageOutput, Kind: KindRename, Source: srcOIPython + "; " + srcContribOI,
		Note: "integer >= 0; " + contribNote},
		conv: convCount},
	{Mapping: Mapping{From: "llm.token_count.prompt_details.cache_read", To: attrUsageCacheRead, Kind: KindRename, Source: srcOIPython,
		Note: "integer >= 0"},
		conv: convCount},
	{Mapping: Mapping{From: "llm.token_count.prompt_details.cache_write", To: attrUsageCacheCreation, Kind: KindRename, Source: srcOIPython,
		Note: "integer >= 0"},
		conv: convCount},
	{Mapping: Mapping{From: "llm.token_count.completion_details.reasoning", To: attrUsageReasoning, Kind: KindRename, Source: srcOIPython,
		Note: "integer >= 0"},
		conv: convCount},
	{Mapping: Mapping{From: srcLLMFinishReason, To: attrResponseFinishReasons, Kind: KindRename, Source: srcOISpec,
		Note: "string wrapped into string[]"},
		conv: convStrings},
	{Mapping: Mapping{From: srcOISpanKind, To: attrOperationName, Kind: KindRename, Source: srcOIPython + "; " + srcContribOIValues,
		Note: "LLM -> chat, EMBEDDING -> embeddings, TOOL -> execute_tool, AGENT -> invoke_agent, RETRIEVER -> retrieval, case-insensitive (as contrib genainormalizer); CHAIN, RERANKER, GUARDRAIL, EVALUATOR, PROMPT, UNKNOWN left as they are (contrib maps CHAIN, RERANKER, PROMPT); other values skipped"},
		conv: convOperation(openInferenceSpanKinds)},
	{Mapping: Mapping{From: "tool.name", To: attrToolName, Kind: KindRename, Source: srcOIPython + "; " + srcContribOI,
		Note: "non-empty string; only on OpenInference spans (openinference.span.kind present), as tool.name is also used outside GenAI; " + contribNote},
		conv: convString, when: has(srcOISpanKind)},
	{Mapping: Mapping{From: "tool.description", To: attrToolDescription, Kind: KindRename, Source: srcOIPython + "; " + srcContribOI,
		Note: "non-empty string; only on OpenInference spans; " + contribNote},
		conv: convString, when: has(srcOISpanKind)},
	{Mapping: Mapping{From: "tool_call.id", To: attrToolCallID, Kind: KindRename, Source: srcOIPython + " (ToolCallAttributes); " + srcContribOI,
		Note: "non-empty string; only on OpenInference spans; " + contribNote},
		conv: convString, when: has(srcOISpanKind)},
	{Mapping: Mapping{From: "tool_call.function.arguments", To: attrToolCallArguments, Kind: KindRename, Source: srcOIPython + " (ToolCallAttributes); " + srcContribOI,
		Note: "copied as it is (a JSON string); only on OpenInference spans; " + contribNote},
		conv: convAny, when: has(srcOISpanKind)},
	{Mapping: Mapping{From: "agent.name", To: attrAgentName, Kind: KindRename, Source: srcOIPython + "; " + srcContribOI,
		Note: "non-empty string; only on OpenInference spans; " + contribNote},
		conv: convString, when: has(srcOISpanKind)},
	{Mapping: Mapping{From: "session.id", To: attrConversationID, Kind: KindRename, Source: srcOIPython + "; " + srcContribOI,
		Note: "non-empty string; only on OpenInference spans, as session.id is also used outside GenAI; " + contribNote},
		conv: convString, when: has(srcOISpanKind)},
	{Mapping: Mapping{From: "llm.input_messages.{i}.message.*", To: attrInputMessages, Kind: KindDerive, Source: srcOISpec,
		Note: "role, name, content, contents.{j}.message_content.{type,text} (text, reasoning), tool_call_id, tool_calls.{j}.tool_call.{id,function.name,function.arguments} assembled into the v1.41 message JSON"},
		op: opFamily, family: famOIInput},
	{Mapping: Mapping{From: "llm.output_messages.{i}.message.*", To: attrOutputMessages, Kind: KindDerive, Source: srcOISpec,
		Note: "as llm.input_messages; llm.finish_reason becomes the finish_reason of a single output message"},
		op: opFamily, family: famOIOutput},
	{Mapping: Mapping{From: "llm.input_messages", To: attrInputMessages, Kind: KindParse, Source: srcOIPython + "; " + srcContribOI,
		Note: "one JSON array of messages (the flattened family's fields, with or without the message. prefix, as dotted keys or nested objects) assembled into the v1.41 message JSON like the indexed family; removed only when every field was mapped (contrib copies the value as it is, which is not the v1.41 schema)"},
		op: opMessages, family: famOIInput},
	{Mapping: Mapping{From: "llm.output_messages", To: attrOutputMessages, Kind: KindParse, Source: srcOIPython + "; " + srcContribOI,
		Note: "as llm.input_messages"},
		op: opMessages, family: famOIOutput},
	{Mapping: Mapping{From: "llm.invocation_parameters", To: "gen_ai.request.{temperature,max_tokens,top_p,top_k,frequency_penalty,presence_penalty,seed,stop_sequences,stream,choice.count,model}",
		Kind: KindParse, Source: srcOIPython + "; " + srcOIPyOpenAIReq,
		Note: "JSON object: temperature, max_tokens, max_completion_tokens (wins over max_tokens), top_p, top_k, frequency_penalty, presence_penalty, seed, stop or stop_sequences, stream, n, model (the requested model: the request minus messages and tools); removed only when every key was mapped"},
		op: opInvocation},

	// --- OpenLIT ---
	{Mapping: Mapping{From: srcOpenLITIsStream, To: attrRequestStream, Kind: KindRename, Source: srcOpenLIT,
		Note: "boolean"},
		conv: convBool},
	{Mapping: Mapping{From: "gen_ai.usage.reasoning_tokens", To: attrUsageReasoning, Kind: KindRename, Source: srcOpenLIT,
		Note: "integer >= 0"},
		conv: convCount},
	{Mapping: Mapping{From: "gen_ai.request.embedding_dimension", To: attrEmbeddingsDimCount, Kind: KindRename, Source: srcOpenLIT,
		Note: "integer >= 0"},
		conv: convCount},
	{Mapping: Mapping{From: "gen_ai.tool.args", To: attrToolCallArguments, Kind: KindRename, Source: srcOpenLIT,
		Note: "copied as it is"},
		conv: convAny},
	{Mapping: Mapping{From: "gen_ai.server.time_to_first_token", To: attrResponseTTFC, Kind: KindDerive, Source: srcOpenLIT,
		Note: "seconds (number >= 0), the time to the first chunk as OpenLIT measures it; only on streaming spans (gen_ai.request.stream, gen_ai.request.is_stream or llm.is_streaming true): on others " + srcOpenLITOllama + " sets the whole duration"},
		conv: convSeconds, when: isStreaming},

	// --- Agent frameworks (the further sources of contrib genainormalizer) ---
	{Mapping: Mapping{From: "agent_role", To: attrAgentName, Kind: KindRename, Source: srcCrewAITelemetry + "; " + srcContribCrewAI,
		Note: "non-empty string; only beside agent_fingerprint (CrewAI writes both in add_agent_fingerprint_to_span), as the name is unprefixed; " + contribNote},
		conv: convString, when: has(srcCrewAIAgentFingerprint)},
	{Mapping: Mapping{From: "crew_id", To: attrConversationID, Kind: KindRename, Source: srcCrewAITelemetry + "; " + srcContribCrewAI,
		Note: "non-empty string; only beside crew_key (CrewAI writes both in add_crew_attributes); " + contribNote},
		conv: convString, when: has(srcCrewAICrewKey)},
	{Mapping: Mapping{From: "agent_name", To: attrAgentName, Kind: KindRename, Source: srcPydanticAIRun + "; " + srcContribPydanticAI,
		Note: "non-empty string; only beside logfire.msg (PydanticAI's agent run span), as the name is unprefixed; " + contribNote},
		conv: convString, when: has(srcLogfireMsg)},
	{Mapping: Mapping{From: "lc.metadata.thread_id", To: attrConversationID, Kind: KindRename, Source: srcContribLangChain,
		Note: "non-empty string; " + contribNote},
		conv: convString},
	{Mapping: Mapping{From: "langgraph.node.name", To: attrAgentName, Kind: KindRename, Source: srcContribLangChain,
		Note: "non-empty string; " + contribNote},
		conv: convString},

	// --- vLLM request spans (llm_request, SpanKind SERVER) ---
	{Mapping: Mapping{From: "gen_ai.latency.time_to_first_token", To: attrResponseTTFC, Kind: KindRename, Source: srcVLLMAttributes + "; " + srcVLLMSpan,
		Note: "seconds (number >= 0), written as double: vLLM's first_token_latency, from the request's arrival to its first token"},
		conv: convSeconds},
	{Mapping: Mapping{From: "gen_ai.request.n", To: attrRequestChoiceCount, Kind: KindRename, Source: srcVLLMAttributes + "; " + srcVLLMSpan,
		Note: "integer >= 1 (SamplingParams.n)"},
		conv: convPositive},
	{Mapping: Mapping{From: srcVLLMRequestID, To: attrResponseID, Kind: KindRename, Source: srcVLLMAttributes + "; " + srcVLLMSpan + "; " + srcVLLMChatID,
		Note: "only a chatcmpl-... id: the chat completions server gives the engine the id of its response (external_req_id); other ids stay: completions requests carry cmpl-...-{prompt index} (" + srcVLLMCmplID + "), offline LLM requests a counter"},
		conv: convChatCompletionID},
	{Mapping: Mapping{From: "gen_ai.usage.cached_tokens", To: attrUsageCacheRead, Kind: KindRename, Source: srcVLLMAttributes,
		Note: "integer >= 0: prompt tokens served from the prefix cache"},
		conv: convCount},
	{Mapping: Mapping{From: "gen_ai.latency.e2e", To: attrOperationName, Kind: KindDerive, Source: srcVLLMSpan + "; " + srcVLLMChatID + "; " + srcVLLMCmplID,
		Note: "marks a vLLM request span and stays (no v1.41 equivalent): chat when gen_ai.request.id starts with chatcmpl-, text_completion when it starts with cmpl-, nothing otherwise; written only when gen_ai.operation.name is absent"},
		derive: vllmOperation, keep: true},

	// --- semantic-conventions-genai names after v1.41 ---
	{Mapping: Mapping{From: attrUsageCacheCreation, To: attrUsageCacheWrite, Kind: KindRename, Source: srcGenAI440,
		Note: "only with Latest (the v1.41 name is kept otherwise)"},
		conv: convCount, mode: modeLatest},
	{Mapping: Mapping{From: attrUsageCacheWrite, To: attrUsageCacheCreation, Kind: KindRename, Source: srcGenAI440,
		Note: "only without Latest: the newer name is written back as v1.41"},
		conv: convCount, mode: modeV141},
}

// Table returns the normalization table in priority order (a copy).
func Table() []Mapping {
	out := make([]Mapping, len(rules))
	for i := range rules {
		out[i] = rules[i].Mapping
	}
	return out
}

// ProviderValue is one value mapping applied to provider names (gen_ai.system, llm.provider,
// llm.system, llm.vendor) on their way to gen_ai.provider.name.
type ProviderValue struct {
	From, To, Source string
}

// providerValues maps lower-cased peer and deprecated provider values to v1.41 well-known
// values. A value not in the table is copied as it is (custom values are allowed).
var providerValues = []ProviderValue{
	{"az.ai.inference", "azure.ai.inference", srcSemconvDeprecated},
	{"az.ai.openai", "azure.ai.openai", srcSemconvDeprecated},
	{"vertex_ai", "gcp.vertex_ai", srcSemconvDeprecated},
	{"gemini", "gcp.gemini", srcSemconvDeprecated},
	{"xai", "x_ai", srcSemconvDeprecated + "; also OpenInference llm.provider xai"},
	{"ibm.watson.ai", "ibm.watsonx.ai", srcOpenLIT},
	{"google.ai.studio", "gcp.gemini", srcOpenLIT + " (AI Studio is the generativelanguage.googleapis.com endpoint)"},
	{"google-ai-studio", "gcp.gemini", "openlit/openlit sdk/python/src/openlit/semcov/__init__.py @ab3fbb33"},
	{"azure_openai", "azure.ai.openai", "openlit/openlit sdk/python/src/openlit/semcov/__init__.py @ab3fbb33"},
	{"azure-ai-inference", "azure.ai.inference", "openlit/openlit sdk/python/src/openlit/semcov/__init__.py @ab3fbb33"},
	{"mistral", "mistral_ai", "openlit/openlit sdk/python/src/openlit/semcov/__init__.py @ab3fbb33"},
	{"bedrock", "aws.bedrock", "openlit/openlit sdk/python/src/openlit/semcov/__init__.py @ab3fbb33"},
	{"mistralai", "mistral_ai", srcOIPython},
	{"vertexai", "gcp.vertex_ai", srcOIPython + " (llm.system)"},
	{"google", "gcp.gen_ai", srcOIPython + "; " + srcOLLMShared + " (googleapis.com or vertex)"},
	{"aws", "aws.bedrock", srcOLLMShared + " (amazonaws.com or bedrock); OpenInference llm.provider aws"},
	{"azure", "azure.ai.openai", srcOLLMShared + " (openai.azure.com); OpenInference llm.provider azure"},
	// Well-known v1.41 values, so that "Anthropic", "OpenAI" and the like are lower-cased.
	{"openai", "openai", "v1.41 well-known value"},
	{"anthropic", "anthropic", "v1.41 well-known value"},
	{"cohere", "cohere", "v1.41 well-known value"},
	{"groq", "groq", "v1.41 well-known value"},
	{"deepseek", "deepseek", "v1.41 well-known value"},
	{"perplexity", "perplexity", "v1.41 well-known value"},
	{"mistral_ai", "mistral_ai", "v1.41 well-known value"},
	{"x_ai", "x_ai", "v1.41 well-known value"},
	{"aws.bedrock", "aws.bedrock", "v1.41 well-known value"},
	{"azure.ai.inference", "azure.ai.inference", "v1.41 well-known value"},
	{"azure.ai.openai", "azure.ai.openai", "v1.41 well-known value"},
	{"gcp.gemini", "gcp.gemini", "v1.41 well-known value"},
	{"gcp.gen_ai", "gcp.gen_ai", "v1.41 well-known value"},
	{"gcp.vertex_ai", "gcp.vertex_ai", "v1.41 well-known value"},
	{"ibm.watsonx.ai", "ibm.watsonx.ai", "v1.41 well-known value"},
}

// latestProviderValues apply on top of providerValues with Options.Latest.
var latestProviderValues = []ProviderValue{
	{"moonshot", "moonshot_ai", "open-telemetry/semantic-conventions-genai CHANGELOG.md @002c8a6e (#99); OpenInference llm.provider moonshot"},
	{"moonshot_ai", "moonshot_ai", "open-telemetry/semantic-conventions-genai CHANGELOG.md @002c8a6e (#99)"},
}

// ProviderValues returns the provider value table used without (latest false) or with Options.Latest.
func ProviderValues(latest bool) []ProviderValue {
	out := append([]ProviderValue(nil), providerValues...)
	if latest {
		out = append(out, latestProviderValues...)
	}
	return out
}

// enumValue is the outcome of an enum mapping: a target value, or "known but without a v1.41
// equivalent" (ignore), or unknown (the caller skips it as bad input).
type enumValue struct {
	to     string
	ignore bool
}

// openLLMetryRequestTypes maps llm.request.type (LLMRequestTypeValues) to gen_ai.operation.name.
var openLLMetryRequestTypes = map[string]enumValue{
	"chat":       {to: "chat"},
	"completion": {to: "text_completion"},
	"embedding":  {to: "embeddings"},
	"rerank":     {ignore: true},
	"unknown":    {ignore: true},
}

// traceloopSpanKinds maps traceloop.span.kind (TraceloopSpanKindValues) to gen_ai.operation.name.
var traceloopSpanKinds = map[string]enumValue{
	"agent":    {to: "invoke_agent"},
	"tool":     {to: "execute_tool"},
	"workflow": {ignore: true},
	"task":     {ignore: true},
	"unknown":  {ignore: true},
}

// openInferenceSpanKinds maps openinference.span.kind (OpenInferenceSpanKindValues, lower-cased)
// to gen_ai.operation.name.
var openInferenceSpanKinds = map[string]enumValue{
	"llm":       {to: "chat"},
	"embedding": {to: "embeddings"},
	"tool":      {to: "execute_tool"},
	"agent":     {to: "invoke_agent"},
	"retriever": {to: "retrieval"},
	"chain":     {ignore: true},
	"reranker":  {ignore: true},
	"guardrail": {ignore: true},
	"evaluator": {ignore: true},
	"prompt":    {ignore: true},
	"unknown":   {ignore: true},
}

// outputTypes maps the deprecated gen_ai.openai.request.response_format values to gen_ai.output.type.
var outputTypes = map[string]enumValue{
	"text":        {to: "text"},
	"json_object": {to: "json"},
	"json_schema": {to: "json"},
}
