// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
)

// Attribute names: GenAI semantic conventions v1.41 (docs/gen-ai/gen-ai-spans.md and
// docs/registry/attributes/gen-ai.md), HTTP/URL/server/error conventions, and llamacpp.* for
// what llama.cpp reports beyond them.
const (
	attrOperationName            = conventions.AttrGenAIOperationName
	attrProviderName             = conventions.AttrGenAIProviderName
	attrRequestModel             = conventions.AttrGenAIRequestModel
	attrRequestTemperature       = conventions.AttrGenAIRequestTemperature
	attrRequestTopP              = conventions.AttrGenAIRequestTopP
	attrRequestTopK              = conventions.AttrGenAIRequestTopK
	attrRequestMaxTokens         = conventions.AttrGenAIRequestMaxTokens
	attrRequestSeed              = conventions.AttrGenAIRequestSeed
	attrRequestStream            = conventions.AttrGenAIRequestStream
	attrRequestFrequencyPenalty  = conventions.AttrGenAIRequestFrequencyPenalty
	attrRequestPresencePenalty   = conventions.AttrGenAIRequestPresencePenalty
	attrRequestStopSequences     = conventions.AttrGenAIRequestStopSequences
	attrRequestChoiceCount       = conventions.AttrGenAIRequestChoiceCount
	attrOutputType               = conventions.AttrGenAIOutputType
	attrResponseID               = conventions.AttrGenAIResponseID
	attrResponseModel            = conventions.AttrGenAIResponseModel
	attrResponseFinishReasons    = conventions.AttrGenAIResponseFinishReasons
	attrResponseTimeToFirstChunk = conventions.AttrGenAIResponseTimeToFirstChunk
	attrUsageInputTokens         = conventions.AttrGenAIUsageInputTokens
	attrUsageOutputTokens        = conventions.AttrGenAIUsageOutputTokens
	attrUsageCacheReadTokens     = conventions.AttrGenAIUsageCacheReadTokens
	attrUsageReasoningTokens     = conventions.AttrGenAIUsageReasoningTokens
	attrInputMessages            = conventions.AttrGenAIInputMessages
	attrOutputMessages           = conventions.AttrGenAIOutputMessages
	attrTokenType                = conventions.AttrGenAITokenType
	attrServerAddress            = "server.address"
	attrServerPort               = "server.port"
	attrErrorType                = "error.type"
	attrHTTPMethod               = "http.request.method"
	attrHTTPStatusCode           = "http.response.status_code"
	attrURLPath                  = "url.path"
	attrStreamChunks             = "llamacpp.stream.chunks"
	attrSystemFingerprint        = "llamacpp.system_fingerprint"
	attrGatewayWait              = "llamacpp.gateway.wait"
	attrGatewayWaitReason        = "llamacpp.gateway.wait.reason"
	timingsPrefix                = "llamacpp.timings."

	eventFirstToken = conventions.EventFirstToken
	spanQueue       = "queue"
	spanPrompt      = "prompt"
	spanGeneration  = "generation"
)

// Span flags (OTLP SpanFlags): bits 0-7 are the W3C trace flags; bit 8 says bit 9 is known;
// bit 9 says the parent is remote.
const (
	flagSampled      = 0x01
	flagHasIsRemote  = 0x100
	flagParentRemote = 0x200
)

// process turns a finished exchange into metrics and, when traced, spans appended to spans.
// It runs on the pipeline's goroutine (or, when that is behind, on the handler's).
func (g *Gateway) process(ex *exchange, spans ptrace.SpanSlice, traced bool) {
	defer func() {
		putBuffer(ex.resp)
		ex.resp = nil
	}()
	var req requestInfo
	if ex.body != nil {
		req = parseRequest(ex.body)
	}
	sum := &responseSummary{capture: g.cfg.CaptureContent, maxBytes: g.cfg.MaxContentLength}
	if ex.stream != nil {
		sum = &ex.stream.summary
	} else if ex.resp != nil && ex.resp.Len() > 0 {
		var doc responseDoc
		if decodeResponse(ex.resp.Bytes(), &doc) {
			sum.absorb(&doc)
		}
	}
	errType := ex.errType
	if errType == "" && ex.status >= 400 {
		errType = strconv.Itoa(ex.status)
	}
	if errType == "" && sum.errType != "" {
		errType = sum.errType
	}
	tok := sum.tokens()

	obs := observation{
		attrs: genAIAttrs{
			operation:     ex.op.String(),
			provider:      g.cfg.ProviderName,
			requestModel:  req.doc.Model,
			responseModel: sum.model,
			errorType:     errType,
		},
		duration: ex.end.Sub(ex.start).Seconds(),
		tokens:   tok,
	}
	if ex.up != nil {
		obs.attrs.serverAddress, obs.attrs.serverPort = ex.up.address, ex.up.port
	}
	if ex.stream != nil && !ex.stream.firstTokenAt.IsZero() {
		obs.ttft = ex.stream.firstTokenAt.Sub(ex.start).Seconds()
	}
	obs.tpot = timePerOutputToken(ex, sum, tok)
	g.metrics.record(&obs)

	if ex.energyID != 0 {
		g.set.Energy.Complete(ex.energyID, timeline(ex, sum, tok))
	}
	if !traced {
		return
	}
	if ex.energyID != 0 {
		// The span waits for the request's share of the GPUs' energy (pipeline.hold).
		held := ptrace.NewSpanSlice()
		g.appendSpans(held, ex, &req, sum, tok, errType)
		g.pipe.hold(ex.energyID, held, tok)
		return
	}
	g.appendSpans(spans, ex, &req, sum, tok, errType)
}

// timePerOutputToken is the decode time per token after the first (GenAI semconv
// gen_ai.server.time_per_output_token): from llama.cpp's timings when present (predicted_ms
// spans the predicted_n-1 decode steps after the first token), else from the stream's chunk
// times. 0 when it cannot be known.
func timePerOutputToken(ex *exchange, sum *responseSummary, tok tokenCounts) float64 {
	if t := sum.timings; t != nil && t.PredictedN != nil && *t.PredictedN > 1 && t.PredictedMS != nil {
		return *t.PredictedMS / 1000 / float64(*t.PredictedN-1)
	}
	if s := ex.stream; s != nil && !s.firstTokenAt.IsZero() && tok.hasOutput && tok.output > 1 {
		if d := s.lastChunkAt.Sub(s.firstTokenAt); d > 0 {
			return d.Seconds() / float64(tok.output-1)
		}
	}
	return 0
}

func (g *Gateway) appendSpans(spans ptrace.SpanSlice, ex *exchange, req *requestInfo, sum *responseSummary, tok tokenCounts, errType string) {
	span := spans.AppendEmpty()
	var traceID pcommon.TraceID
	var flags uint32
	if ex.parent.valid {
		traceID = ex.parent.traceID
		span.SetParentSpanID(ex.parent.spanID)
		if ex.parent.traceState != "" {
			span.TraceState().FromRaw(ex.parent.traceState)
		}
		flags = uint32(ex.parent.flags) | flagHasIsRemote | flagParentRemote
	} else {
		traceID = newTraceID()
		flags = flagSampled | flagHasIsRemote
	}
	spanID := newSpanID()
	span.SetTraceID(traceID)
	span.SetSpanID(spanID)
	span.SetFlags(flags)
	span.SetKind(ptrace.SpanKindServer)
	op := ex.op.String()
	model := req.doc.Model
	if model == "" {
		model = sum.model
	}
	if model != "" {
		span.SetName(op + " " + model)
	} else {
		span.SetName(op)
	}
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(ex.start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(ex.end))

	a := span.Attributes()
	a.EnsureCapacity(40)
	a.PutStr(attrOperationName, op)
	a.PutStr(attrProviderName, g.cfg.ProviderName)
	putRequestAttrs(a, req, ex.stream != nil)
	if ex.up != nil {
		a.PutStr(attrServerAddress, ex.up.address)
		a.PutInt(attrServerPort, ex.up.port)
	}
	a.PutStr(attrHTTPMethod, ex.method)
	a.PutStr(attrURLPath, ex.path)
	if ex.status != 0 {
		a.PutInt(attrHTTPStatusCode, int64(ex.status))
	}
	putResponseAttrs(a, sum, tok)
	if ex.waitReason != "" {
		a.PutDouble(attrGatewayWait, ex.waited.Seconds())
		a.PutStr(attrGatewayWaitReason, ex.waitReason)
	}
	if s := ex.stream; s != nil {
		a.PutInt(attrStreamChunks, s.chunks)
		if !s.firstTokenAt.IsZero() {
			a.PutDouble(attrResponseTimeToFirstChunk, s.firstTokenAt.Sub(ex.start).Seconds())
			ev := span.Events().AppendEmpty()
			ev.SetName(eventFirstToken)
			ev.SetTimestamp(pcommon.NewTimestampFromTime(s.firstTokenAt))
		}
	}
	if g.cfg.CaptureContent {
		if in := requestInputMessages(req, ex.body); in != "" {
			a.PutStr(attrInputMessages, truncateUTF8(in, g.cfg.MaxContentLength))
		}
		if out := outputMessages(sum); out != "" {
			a.PutStr(attrOutputMessages, truncateUTF8(out, g.cfg.MaxContentLength))
		}
	}
	if errType != "" {
		a.PutStr(attrErrorType, errType)
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage(ex.errMsg)
	}
	g.appendPhases(spans, ex, sum, traceID, spanID, flags&0xff)
}

func putRequestAttrs(a pcommon.Map, req *requestInfo, streamed bool) {
	d := &req.doc
	if d.Model != "" {
		a.PutStr(attrRequestModel, d.Model)
	}
	if d.Temperature.set {
		a.PutDouble(attrRequestTemperature, d.Temperature.v)
	}
	if d.TopP.set {
		a.PutDouble(attrRequestTopP, d.TopP.v)
	}
	if d.TopK.set {
		a.PutDouble(attrRequestTopK, d.TopK.v)
	}
	if n, ok := req.maxTokens(); ok {
		a.PutInt(attrRequestMaxTokens, n)
	}
	if s, ok := d.Seed.int(); ok {
		a.PutInt(attrRequestSeed, s)
	}
	switch {
	case d.Stream.set:
		a.PutBool(attrRequestStream, d.Stream.v)
	case streamed:
		a.PutBool(attrRequestStream, true)
	}
	if d.FrequencyPenalty.set {
		a.PutDouble(attrRequestFrequencyPenalty, d.FrequencyPenalty.v)
	}
	if d.PresencePenalty.set {
		a.PutDouble(attrRequestPresencePenalty, d.PresencePenalty.v)
	}
	if len(d.Stop) > 0 {
		s := a.PutEmptySlice(attrRequestStopSequences)
		s.EnsureCapacity(len(d.Stop))
		for _, v := range d.Stop {
			s.AppendEmpty().SetStr(v)
		}
	}
	if n, ok := d.N.int(); ok && n != 1 {
		a.PutInt(attrRequestChoiceCount, n)
	}
	if t := req.outputType(); t != "" {
		a.PutStr(attrOutputType, t)
	}
}

func putResponseAttrs(a pcommon.Map, sum *responseSummary, tok tokenCounts) {
	if sum.id != "" {
		a.PutStr(attrResponseID, sum.id)
	}
	if sum.model != "" {
		a.PutStr(attrResponseModel, sum.model)
	}
	if sum.fingerprint != "" {
		a.PutStr(attrSystemFingerprint, sum.fingerprint)
	}
	if reasons := sum.finishReasons(); len(reasons) > 0 {
		s := a.PutEmptySlice(attrResponseFinishReasons)
		s.EnsureCapacity(len(reasons))
		for _, r := range reasons {
			s.AppendEmpty().SetStr(r)
		}
	}
	if tok.hasInput {
		a.PutInt(attrUsageInputTokens, tok.input)
	}
	if tok.hasOutput {
		a.PutInt(attrUsageOutputTokens, tok.output)
	}
	if tok.hasCacheRead {
		a.PutInt(attrUsageCacheReadTokens, tok.cacheRead)
	}
	if tok.hasReasoning {
		a.PutInt(attrUsageReasoningTokens, tok.reasoning)
	}
	if t := sum.timings; t != nil {
		putTimings(a, t)
	}
}

func putTimings(a pcommon.Map, t *timingsDoc) {
	ints := [...]struct {
		k string
		v *int64
	}{{"cache_n", t.CacheN}, {"prompt_n", t.PromptN}, {"predicted_n", t.PredictedN}, {"draft_n", t.DraftN}, {"draft_n_accepted", t.DraftNAccepted}}
	for _, f := range ints {
		if f.v != nil {
			a.PutInt(timingsPrefix+f.k, *f.v)
		}
	}
	doubles := [...]struct {
		k string
		v *float64
	}{
		{"prompt_ms", t.PromptMS}, {"prompt_per_token_ms", t.PromptPerTokenMS}, {"prompt_per_second", t.PromptPerSecond},
		{"predicted_ms", t.PredictedMS}, {"predicted_per_token_ms", t.PredictedPerTokenMS}, {"predicted_per_second", t.PredictedPerSecond},
	}
	for _, f := range doubles {
		if f.v != nil {
			a.PutDouble(timingsPrefix+f.k, *f.v)
		}
	}
}

// appendPhases adds the queue, prompt and generation children, laid out back to back from
// llama.cpp's timings and ending when the answer did (for a stream: at the last chunk). The
// queue is what is left of the request's time before the prompt started: waiting for a slot,
// the network, the gateway; it is clipped at zero, and so are phases that would start before
// the request.
func (g *Gateway) appendPhases(spans ptrace.SpanSlice, ex *exchange, sum *responseSummary, traceID pcommon.TraceID, parent pcommon.SpanID, flags uint32) {
	t := sum.timings
	if t == nil || (t.PromptMS == nil && t.PredictedMS == nil) {
		return
	}
	end := ex.end
	if s := ex.stream; s != nil && !s.lastChunkAt.IsZero() {
		end = s.lastChunkAt
	}
	genStart := clipAfter(end.Add(-msDuration(t.PredictedMS)), ex.start)
	promptStart := clipAfter(genStart.Add(-msDuration(t.PromptMS)), ex.start)

	child := func(name string, from, to time.Time) pcommon.Map {
		s := spans.AppendEmpty()
		s.SetTraceID(traceID)
		s.SetSpanID(newSpanID())
		s.SetParentSpanID(parent)
		s.SetFlags(flags | flagHasIsRemote)
		s.SetKind(ptrace.SpanKindInternal)
		s.SetName(name)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(from))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(to))
		return s.Attributes()
	}
	child(spanQueue, ex.start, promptStart)
	pa := child(spanPrompt, promptStart, genStart)
	if t.PromptN != nil {
		pa.PutInt(timingsPrefix+"prompt_n", *t.PromptN)
	}
	if t.CacheN != nil {
		pa.PutInt(timingsPrefix+"cache_n", *t.CacheN)
	}
	ga := child(spanGeneration, genStart, end)
	if t.PredictedN != nil {
		ga.PutInt(timingsPrefix+"predicted_n", *t.PredictedN)
	}
}

func msDuration(ms *float64) time.Duration {
	if ms == nil || *ms <= 0 {
		return 0
	}
	return time.Duration(*ms * float64(time.Millisecond))
}

func clipAfter(t, floor time.Time) time.Time {
	if t.Before(floor) {
		return floor
	}
	return t
}
