// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package plotlyhtmlexporter

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/metadata"
)

var (
	reasonMaxSeries = metric.WithAttributes(attribute.String("reason", "max_series"))
	reasonRetention = metric.WithAttributes(attribute.String("reason", "retention"))
)

// startTelemetry reports what the store drops and evicts (otelcol_plotlyhtml_*) as counters
// observed from the store's running totals at each collection.
func (e *plotlyExporter) startTelemetry() error {
	tb, err := metadata.NewTelemetryBuilder(e.set.TelemetrySettings)
	if err != nil {
		return err
	}
	err = errors.Join(
		tb.RegisterPlotlyhtmlPointsDroppedCallback(func(_ context.Context, o metric.Int64Observer) error {
			d := e.store.Dropped()
			o.Observe(int64(d.SeriesPoints), reasonMaxSeries)
			o.Observe(int64(d.OldPoints), reasonRetention)
			return nil
		}),
		tb.RegisterPlotlyhtmlSpansEvictedCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(e.store.Dropped().Spans))
			return nil
		}),
		tb.RegisterPlotlyhtmlLogsEvictedCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(e.store.Dropped().Logs))
			return nil
		}),
	)
	if err != nil {
		tb.Shutdown()
		return err
	}
	e.tb = tb
	return nil
}
