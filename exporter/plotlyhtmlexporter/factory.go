// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter // import "github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/metadata"
	"github.com/llamatelemetry/otelcol-llt/internal/sharedcomponent"
)

// NewFactory returns the plotlyhtml exporter's factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		exporter.WithMetrics(createMetrics, metadata.MetricsStability),
		exporter.WithTraces(createTraces, metadata.TracesStability),
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

// exporters holds one exporter per component ID, so the metrics, traces and logs pipelines that
// name the same exporter draw one page together.
var exporters = sharedcomponent.NewMap[component.ID, *plotlyExporter]()

func shared(cfg component.Config, set exporter.Settings) (*sharedcomponent.Component[*plotlyExporter], error) {
	return exporters.LoadOrStore(set.ID, func() (*plotlyExporter, error) {
		return newExporter(cfg.(*Config), set), nil
	})
}

var capabilities = exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false})

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	e, err := shared(cfg, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewMetrics(ctx, set, cfg, e.Unwrap().consumeMetrics,
		exporterhelper.WithStart(e.Start), exporterhelper.WithShutdown(e.Shutdown), capabilities)
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	e, err := shared(cfg, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewTraces(ctx, set, cfg, e.Unwrap().consumeTraces,
		exporterhelper.WithStart(e.Start), exporterhelper.WithShutdown(e.Shutdown), capabilities)
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	e, err := shared(cfg, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, e.Unwrap().consumeLogs,
		exporterhelper.WithStart(e.Start), exporterhelper.WithShutdown(e.Shutdown), capabilities)
}
