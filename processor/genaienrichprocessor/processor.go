// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/pkg/conventions"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/normalize"
)

// enricher does the work of both the traces and the metrics processor.
type enricher struct {
	cfg    *Config
	logger *zap.Logger
	// tb counts what enrichment could not do (otelcol_genaienrich_normalize_skipped,
	// otelcol_genaienrich_embedding_failures).
	tb *metadata.TelemetryBuilder

	norm     *normalize.Normalizer
	facts    *factsIndex
	launcher launcherapi.Launcher
	conc     concurrency
	emb      *embedder
	// att samples prompts for their attention (traces only; nil when off).
	att *attentionSampler
	// next is the traces pipeline's next consumer, which the attention samples are sent to.
	next consumer.Traces
	// pairs is the shared correlator of the traces processor; nil for metrics or when disabled.
	pairs *pairer
	// dropLogContent removes captured text from log records (GenAI events), as drop_content
	// does from spans.
	dropLogContent bool
}

func newEnricher(cfg *Config, set component.TelemetrySettings) (*enricher, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	e := &enricher{cfg: cfg, logger: set.Logger, tb: tb, facts: newFactsIndex()}
	if cfg.Normalize.Enabled {
		e.norm = normalize.New(normalize.Options{KeepOriginal: cfg.Normalize.KeepOriginal, Latest: latestGate.IsEnabled()})
	}
	return e, nil
}

func (e *enricher) start(ctx context.Context, host component.Host) error {
	if e.cfg.Launcher != nil {
		l, err := launcherapi.Find(host, *e.cfg.Launcher)
		if err != nil {
			return fmt.Errorf("launcher: %w", err)
		}
		e.launcher = l
		// A launcher in router mode (`models_dir`) serves no single model: its models' facts
		// come from `models`.
		if m := l.Model(); m.Path != "" {
			f := factsOf(m.Facts)
			e.facts.add(f, m.Alias, m.Path)
			e.facts.setLauncher(f, l.BaseURL)
		}
	}
	for i, m := range e.cfg.Models {
		file, err := gguf.Open(m.GGUF)
		if err != nil {
			// A model whose file cannot be read gets no facts; its spans pass as they are.
			e.logger.Warn("models: cannot read the GGUF file; spans of this model get no facts",
				zap.Int("index", i), zap.String("name", m.Name), zap.String("gguf", m.GGUF), zap.Error(err))
			continue
		}
		f := factsOf(file.Facts())
		_ = file.Close()
		e.facts.add(f, m.Name, m.GGUF)
	}
	if e.cfg.Embeddings.Enabled {
		emb, err := newEmbedder(ctx, e.cfg, e.launcher, e.logger, e.tb.GenaienrichEmbeddingFailures)
		if err != nil {
			e.logger.Warn("embeddings: disabled", zap.Error(err))
		} else {
			e.emb = emb
		}
	}
	if e.cfg.Attention.Enabled && e.next != nil {
		att, err := newAttentionSampler(e.cfg, e.launcher, e.next, e.tb, e.logger)
		switch {
		case errors.Is(err, errAttentionLayers):
			return err
		case err != nil:
			e.logger.Warn("attention: disabled", zap.Error(err))
		default:
			e.att = att
			att.start()
		}
	}
	return nil
}

func (e *enricher) shutdown(context.Context) error {
	if e.att != nil {
		e.att.shutdown()
	}
	if e.emb != nil {
		e.emb.close()
	}
	e.tb.Shutdown()
	return nil
}

// processTraces enriches every span; nothing is dropped or held back.
func (e *enricher) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	var work []embedJob
	now := time.Now() // one reading per batch: the correlator's clock for its time to live
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				e.span(span, now)
				if e.att != nil {
					// Before the embedder, whose drop_content removes the prompt.
					e.att.offer(span, rss.At(i).Resource(), now)
				}
				if e.emb != nil {
					if job, ok := e.emb.job(span); ok {
						work = append(work, job)
					}
				}
			}
		}
	}
	if len(work) > 0 {
		e.emb.run(ctx, work)
	}
	return td, nil
}

// span applies normalization, model facts and derived values to one span.
func (e *enricher) span(span ptrace.Span, now time.Time) {
	attrs := span.Attributes()
	if e.norm != nil {
		if r := e.norm.Span(span); r.Skipped > 0 {
			e.tb.GenaienrichNormalizeSkipped.Add(context.Background(), int64(r.Skipped))
			if e.logger.Core().Enabled(zap.DebugLevel) {
				e.logger.Debug("attributes left as they were (wrong type or value)", zap.String("span", span.Name()), zap.Int("skipped", r.Skipped))
			}
		}
	}
	op, isGenAI := attrs.Get(attrOperationName)
	if !isGenAI {
		return
	}
	if e.pairs != nil {
		e.pairs.correlate(span, attrs, op.AsString(), now)
	}
	if f := e.facts.lookup(attrs); f != nil {
		f.put(attrs)
	}
	e.derive(span, attrs, op.AsString())
}

func (e *enricher) derive(span ptrace.Span, attrs pcommon.Map, _ string) {
	start, end := int64(span.StartTimestamp()), int64(span.EndTimestamp())
	if end <= start {
		return
	}
	dur := float64(end-start) / 1e9
	out := tokenCount(attrs, conventions.AttrGenAIUsageOutputTokens)
	in := tokenCount(attrs, conventions.AttrGenAIUsageInputTokens)
	first := ttft(span)
	if first >= 0 {
		putIfAbsent(attrs, attrTTFT, first)
	}
	if out > 0 {
		decode := dur
		if first >= 0 && first < dur && out > 1 {
			// The decode phase: after the first token, out-1 more tokens.
			decode = dur - first
			putIfAbsent(attrs, attrTPS, float64(out-1)/decode)
		} else {
			putIfAbsent(attrs, attrTPS, float64(out)/decode)
		}
	}
	if _, ok := attrs.Get(attrCost); ok {
		return
	}
	model := ""
	for _, k := range []string{attrResponseModel, attrRequestModel} {
		if v, ok := attrs.Get(k); ok && v.Type() == pcommon.ValueTypeStr {
			model = v.Str()
			if _, priced := e.cfg.Cost.PerMillionTokens[model]; priced {
				break
			}
		}
	}
	if p, ok := e.cfg.Cost.PerMillionTokens[model]; ok && (in >= 0 || out >= 0) {
		usd := (float64(max(in, 0))*p.Input + float64(max(out, 0))*p.Output) / 1e6
		attrs.PutDouble(attrCost, usd)
		attrs.PutStr(attrCostMethod, "tokens")
		return
	}
	if span.Kind() == ptrace.SpanKindClient {
		return
	}
	usd, method := 0.0, ""
	if e.cfg.Cost.GPUHourlyUSD > 0 {
		c := e.conc.observe(start, end)
		usd, method = dur/3600*e.cfg.Cost.GPUHourlyUSD/float64(c), "gpu_time"
	}
	if e.cfg.Cost.USDPerKWh > 0 {
		if v, ok := attrs.Get(attrGPUEnergy); ok && v.Type() == pcommon.ValueTypeDouble && v.Double() >= 0 && !math.IsInf(v.Double(), 0) {
			usd += v.Double() / 3.6e6 * e.cfg.Cost.USDPerKWh // J to kWh
			if method == "" {
				method = "energy"
			} else {
				method += "+energy"
			}
		}
	}
	if method != "" {
		attrs.PutDouble(attrCost, usd)
		attrs.PutStr(attrCostMethod, method)
	}
}

func putIfAbsent(attrs pcommon.Map, key string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if _, ok := attrs.Get(key); !ok {
		attrs.PutDouble(key, v)
	}
}

// processLogs normalizes the attributes of log records (the GenAI events that SDKs such as
// OpenLIT send, gen_ai.client.inference.operation.details among them) and, with
// embeddings::drop_content, removes the prompts and answers they carry, so that no captured text
// leaves through the logs pipeline either.
func (e *enricher) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	skipped := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if e.norm != nil {
					skipped += e.norm.Attributes(lr.Attributes()).Skipped
				}
				if e.dropLogContent {
					dropLogContent(lr)
				}
			}
		}
	}
	if skipped > 0 {
		e.tb.GenaienrichNormalizeSkipped.Add(ctx, int64(skipped))
	}
	return ld, nil
}

// processMetrics adds model facts to data points that name a known model.
func (e *enricher) processMetrics(_ context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	if e.facts.empty() {
		return md, nil
	}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				forEachPointAttrs(ms.At(k), func(attrs pcommon.Map) {
					if f := e.facts.lookup(attrs); f != nil {
						f.put(attrs)
					}
				})
			}
		}
	}
	return md, nil
}

func forEachPointAttrs(m pmetric.Metric, fn func(pcommon.Map)) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		for i := 0; i < m.Gauge().DataPoints().Len(); i++ {
			fn(m.Gauge().DataPoints().At(i).Attributes())
		}
	case pmetric.MetricTypeSum:
		for i := 0; i < m.Sum().DataPoints().Len(); i++ {
			fn(m.Sum().DataPoints().At(i).Attributes())
		}
	case pmetric.MetricTypeHistogram:
		for i := 0; i < m.Histogram().DataPoints().Len(); i++ {
			fn(m.Histogram().DataPoints().At(i).Attributes())
		}
	case pmetric.MetricTypeExponentialHistogram:
		for i := 0; i < m.ExponentialHistogram().DataPoints().Len(); i++ {
			fn(m.ExponentialHistogram().DataPoints().At(i).Attributes())
		}
	case pmetric.MetricTypeSummary:
		for i := 0; i < m.Summary().DataPoints().Len(); i++ {
			fn(m.Summary().DataPoints().At(i).Attributes())
		}
	}
}
