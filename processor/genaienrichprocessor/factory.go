// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor // import "github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/metadata"
)

// latestGate switches normalization from the GenAI semantic conventions v1.41 to the newer names
// of the semantic-conventions-genai repository.
var latestGate = featuregate.GlobalRegistry().MustRegister(
	"processor.genaienrich.semconvGenAILatest",
	featuregate.StageAlpha,
	featuregate.WithRegisterDescription("genaienrich writes the newer semantic-conventions-genai attribute names instead of GenAI semantic conventions v1.41"),
	featuregate.WithRegisterReferenceURL("https://github.com/open-telemetry/semantic-conventions-genai"),
)

// NewFactory returns the genaienrich processor's factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
	)
}

var mutates = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true})

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	c := cfg.(*Config)
	e, err := newEnricher(c, set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e.next = next
	start, shutdown := e.start, e.shutdown
	if c.Correlate.Enabled {
		shared, err := pairers.LoadOrStore(set.ID, func() (*pairer, error) {
			return newPairer(c.Correlate, set.TelemetrySettings)
		})
		if err != nil {
			return nil, err
		}
		e.pairs = shared.Unwrap()
		start = func(ctx context.Context, host component.Host) error {
			if err := shared.Start(ctx, host); err != nil {
				return err
			}
			return e.start(ctx, host)
		}
		shutdown = func(ctx context.Context) error {
			return errors.Join(e.shutdown(ctx), shared.Shutdown(ctx))
		}
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, e.processTraces,
		processorhelper.WithStart(start), processorhelper.WithShutdown(shutdown), mutates)
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	c := *cfg.(*Config)
	c.Embeddings.Enabled = false // no vectors for log records; drop_content still applies (see processLogs)
	c.Attention.Enabled = false
	e, err := newEnricher(&c, set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e.dropLogContent = cfg.(*Config).Embeddings.Enabled && cfg.(*Config).Embeddings.DropContent
	return processorhelper.NewLogs(ctx, set, cfg, next, e.processLogs,
		processorhelper.WithStart(e.start), processorhelper.WithShutdown(e.shutdown), mutates)
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	c := *cfg.(*Config)
	c.Embeddings.Enabled = false // points are for spans
	c.Attention.Enabled = false
	e, err := newEnricher(&c, set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewMetrics(ctx, set, cfg, next, e.processMetrics,
		processorhelper.WithStart(e.start), processorhelper.WithShutdown(e.shutdown), mutates)
}
