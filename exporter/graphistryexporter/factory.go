// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graphistryexporter // import "github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/internal/metadata"
)

// NewFactory returns the graphistry exporter's factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		exporter.WithTraces(createTraces, metadata.TracesStability),
	)
}

func createTraces(ctx context.Context, set exporter.Settings, c component.Config) (exporter.Traces, error) {
	cfg := c.(*Config)
	// Kept by ID (see exporters) so that a plotlyhtml exporter naming this one can find it.
	e, err := exporters.LoadOrStore(set.ID, func() (*graphistryExporter, error) { return newExporter(cfg, set) })
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewTraces(ctx, set, cfg, e.Unwrap().pushTraces,
		exporterhelper.WithStart(e.Start),
		exporterhelper.WithShutdown(e.Shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithQueue(windowedQueue(cfg)),
		exporterhelper.WithRetry(cfg.BackOffConfig),
		// `timeout` (confighttp) bounds the whole upload here, and each request in the HTTP client.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: cfg.Timeout}),
	)
}

// windowedQueue is sending_queue with its batching set from window and max_spans: the queue
// gathers spans for up to window, or until max_spans, and hands them over as one batch, one
// dataset. With a storage extension the queue, and so every span not yet uploaded, survives a
// restart.
func windowedQueue(cfg *Config) configoptional.Optional[exporterhelper.QueueBatchConfig] {
	if !cfg.QueueConfig.HasValue() {
		return cfg.QueueConfig
	}
	q := *cfg.QueueConfig.Get()
	b := exporterhelper.NewDefaultBatchConfig()
	b.FlushTimeout = cfg.Window
	b.Sizer = exporterhelper.RequestSizerTypeItems
	b.MinSize = int64(cfg.MaxSpans)
	b.MaxSize = int64(cfg.MaxSpans)
	if q.Batch.HasValue() {
		b.Partition = q.Batch.Get().Partition
	}
	q.Batch = configoptional.Some(b)
	return configoptional.Some(q)
}
