// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package conventions holds the names that cross component boundaries in otelcol-llt: the span
// attributes, events and metrics one component writes and another reads. A name is spelled here
// once; the components refer to it, so that renaming one (or a typo) is a compile error, not an
// empty dashboard panel.
//
// What one component alone writes and reads (its own configuration, its internal attributes)
// stays in that component. The vocabularies the genaienrich processor maps from (OpenLLMetry,
// OpenInference, OpenLIT) are its input, not a contract between our components, and stay in its
// normalize tables.
//
// Names follow the GenAI semantic conventions v1.41 (gen_ai.*), the hardware conventions (hw.*)
// and this project's own namespaces: llt.* for what otelcol-llt derives, llamacpp.* and nvidia.*
// for what llama.cpp and NVML report beyond the conventions.
package conventions // import "github.com/llamatelemetry/otelcol-llt/pkg/conventions"

// GenAI span attributes (semantic conventions v1.41, docs/registry/attributes/gen-ai.md) that the
// llamacpp receiver's gateway writes and the processor and exporters read.
const (
	AttrGenAIOperationName            = "gen_ai.operation.name"
	AttrGenAIProviderName             = "gen_ai.provider.name"
	AttrGenAIRequestModel             = "gen_ai.request.model"
	AttrGenAIRequestTemperature       = "gen_ai.request.temperature"
	AttrGenAIRequestStream            = "gen_ai.request.stream"
	AttrGenAIRequestTopP              = "gen_ai.request.top_p"
	AttrGenAIRequestTopK              = "gen_ai.request.top_k"
	AttrGenAIRequestMaxTokens         = "gen_ai.request.max_tokens"
	AttrGenAIRequestSeed              = "gen_ai.request.seed"
	AttrGenAIRequestFrequencyPenalty  = "gen_ai.request.frequency_penalty"
	AttrGenAIRequestPresencePenalty   = "gen_ai.request.presence_penalty"
	AttrGenAIRequestStopSequences     = "gen_ai.request.stop_sequences"
	AttrGenAIRequestChoiceCount       = "gen_ai.request.choice.count"
	AttrGenAIOutputType               = "gen_ai.output.type"
	AttrGenAIUsageCacheReadTokens     = "gen_ai.usage.cache_read.input_tokens"
	AttrGenAIUsageReasoningTokens     = "gen_ai.usage.reasoning.output_tokens"
	AttrGenAISystemInstructions       = "gen_ai.system_instructions"
	AttrGenAIResponseID               = "gen_ai.response.id"
	AttrGenAIResponseModel            = "gen_ai.response.model"
	AttrGenAIResponseFinishReasons    = "gen_ai.response.finish_reasons"
	AttrGenAIResponseTimeToFirstChunk = "gen_ai.response.time_to_first_chunk"
	AttrGenAIUsageInputTokens         = "gen_ai.usage.input_tokens"
	AttrGenAIUsageOutputTokens        = "gen_ai.usage.output_tokens"
	AttrGenAIInputMessages            = "gen_ai.input.messages"
	AttrGenAIOutputMessages           = "gen_ai.output.messages"
	AttrGenAITokenType                = "gen_ai.token.type"
)

// EventFirstToken is the gateway span's event at the first streamed token; the genaienrich
// processor derives the time to first token from it.
const EventFirstToken = "first_token"

// Attributes that otelcol-llt derives (llt.*), written by the gateway or the genaienrich
// processor and read by the exporters.
const (
	// AttrLLTTimeToFirstToken is the time to the first token in s (genaienrich).
	AttrLLTTimeToFirstToken = "llt.gen_ai.time_to_first_token"
	// AttrLLTOutputTokensPerSecond is the decode rate (genaienrich).
	AttrLLTOutputTokensPerSecond = "llt.gen_ai.output_tokens_per_second"
	// AttrLLTCostUSD and AttrLLTCostMethod are the cost estimate (genaienrich).
	AttrLLTCostUSD    = "llt.gen_ai.cost.usd"
	AttrLLTCostMethod = "llt.gen_ai.cost.method"
	// AttrLLTCorrelationMethod says how a client span was paired with the gateway's (genaienrich).
	AttrLLTCorrelationMethod = "llt.gen_ai.correlation.method"
	// AttrLLTClientOverhead is the client span's duration minus the gateway span's (genaienrich).
	AttrLLTClientOverhead = "llt.gen_ai.client.overhead"
	// AttrLLTGPUEnergy (J), AttrLLTGPUEnergyPerOutputToken (J), AttrLLTGPUTime (s) and
	// AttrLLTGPUEnergyMethod are a request's GPU share (the gateway, with the launcher's ledger).
	AttrLLTGPUEnergy               = "llt.gen_ai.gpu.energy"
	AttrLLTGPUEnergyPerOutputToken = "llt.gen_ai.gpu.energy_per_output_token"
	AttrLLTGPUTime                 = "llt.gen_ai.gpu.time"
	AttrLLTGPUEnergyMethod         = "llt.gen_ai.gpu.energy.method"
	// AttrLLTEmbeddingProjection (double[3]) and AttrLLTEmbeddingCategory are a prompt's point
	// and category (genaienrich).
	AttrLLTEmbeddingProjection = "llt.embedding.projection"
	AttrLLTEmbeddingCategory   = "llt.embedding.category"
)

// The attention sample genaienrich computes, off the hot path, for one prompt in N: a span named
// SpanAttention in the sampled request's trace, a child of the sampled span, whose attributes
// carry the attention probabilities of some layers and all heads over the prompt's first tokens.
const (
	// SpanAttention is the attention sample's span name.
	SpanAttention = "llt.attention"
	// AttrLLTAttentionModel (string) is the model the attention was computed with (general.name,
	// else the GGUF file's name).
	AttrLLTAttentionModel = "llt.attention.model"
	// AttrLLTAttentionRequestStart (int, Unix ns) is the start time of the sampled request's span.
	AttrLLTAttentionRequestStart = "llt.attention.request.start_time_unix_nano"
	// AttrLLTAttentionLayers (int[]) are the layers whose attention is carried, 0-based, in the
	// order of AttrLLTAttentionProbs.
	AttrLLTAttentionLayers = "llt.attention.layers"
	// AttrLLTAttentionLayerCount (int) is the model's number of layers (blocks).
	AttrLLTAttentionLayerCount = "llt.attention.layer_count"
	// AttrLLTAttentionHeads (int) is the number of attention (query) heads per layer; all are carried.
	AttrLLTAttentionHeads = "llt.attention.heads"
	// AttrLLTAttentionTokens (int) is the number of positions n (the prompt's first tokens, BOS
	// included, at most the configured maximum).
	AttrLLTAttentionTokens = "llt.attention.tokens"
	// AttrLLTAttentionTokenLabels (string[n]) are the token pieces of the n positions. They are
	// present only where captured content may leave the collector (not with drop_content).
	AttrLLTAttentionTokenLabels = "llt.attention.token_labels"
	// AttrLLTAttentionProbs (bytes) holds the attention probabilities (softmax output) as IEEE
	// half-precision floats, little-endian: for each layer of AttrLLTAttentionLayers in order, for
	// each head h = 0..heads-1, for each query position q = 0..n-1, the keys k = 0..q (the causal
	// lower triangle, diagonal included; each row sums to 1). That is layers*heads*n*(n+1)/2 values.
	AttrLLTAttentionProbs = "llt.attention.probs"
)

// Hardware attributes (semantic conventions, hardware registry): the nvml receiver's resources,
// and the gateway's spans naming the GPUs they ran on.
const (
	AttrHWID             = "hw.id"
	AttrHWName           = "hw.name"
	AttrHWModel          = "hw.model"
	AttrHWGPUTask        = "hw.gpu.task"
	AttrHWSensorLocation = "hw.sensor_location"
	// AttrHWGPUIndex is the nvml receiver's NVML index (not a convention).
	AttrHWGPUIndex = "hw.gpu.index"
)

// AttrLlamacppSlotID is the slot of llama-server's per-slot metrics (llamacpp receiver).
const AttrLlamacppSlotID = "llamacpp.slot.id"

// Metrics one component emits and the plotlyhtml dashboards read. Each is declared in the
// emitting receiver's metadata.yaml; the plotlyhtml exporter's contract test checks that every
// metric its dashboards read is.
const (
	// The nvml receiver.
	MetricHWGPUUtilization           = "hw.gpu.utilization"
	MetricHWGPUMemoryUsage           = "hw.gpu.memory.usage"
	MetricHWGPUMemoryLimit           = "hw.gpu.memory.limit"
	MetricHWPower                    = "hw.power"
	MetricHWTemperature              = "hw.temperature"
	MetricHWEnergy                   = "hw.energy"
	MetricNvidiaGPUEnergyAttribution = "nvidia.gpu.energy.attribution"

	// The llamacpp receiver's scraper.
	MetricLlamacppSlotsBusy                  = "llamacpp.slots.busy"
	MetricLlamacppSlotsTotal                 = "llamacpp.slots.total"
	MetricLlamacppRequestsDeferred           = "llamacpp.requests.deferred"
	MetricLlamacppRequestsProcessing         = "llamacpp.requests.processing"
	MetricLlamacppGenerationTokens           = "llamacpp.generation.tokens"
	MetricLlamacppGenerationThroughput       = "llamacpp.generation.throughput"
	MetricLlamacppGenerationWindowThroughput = "llamacpp.generation.window_throughput"
	MetricLlamacppPromptTokens               = "llamacpp.prompt.tokens"
	MetricLlamacppKVCacheUsage               = "llamacpp.kv_cache.usage"

	// The llamacpp receiver's gateway.
	MetricGenAIServerRequestDuration    = "gen_ai.server.request.duration"
	MetricGenAIServerTimeToFirstToken   = "gen_ai.server.time_to_first_token"
	MetricGenAIServerTimePerOutputToken = "gen_ai.server.time_per_output_token"
	MetricGenAIClientTokenUsage         = "gen_ai.client.token.usage"
	MetricLlamacppGatewayRequests       = "llamacpp.gateway.requests"
	MetricLlamacppGatewayDuration       = "llamacpp.gateway.request.duration"
)
