// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/llamatelemetry/otelcol-llt/internal/sharedcomponent"
	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadata"
)

// NewFactory returns the factory of the llamacpp receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithMetrics(createMetrics, metadata.MetricsStability),
		receiver.WithTraces(createTraces, metadata.TracesStability),
		receiver.WithLogs(createLogs, metadata.LogsStability))
}

// receivers holds one receiver per configuration, shared by the metrics, traces and logs
// pipelines (like the otlp receiver), so that one instance owns the gateway's listener, one
// scraper and one log subscription however many pipelines use it.
var receivers = sharedcomponent.NewMap[*Config, *llamacppReceiver]()

func load(cfg component.Config, set receiver.Settings) (*sharedcomponent.Component[*llamacppReceiver], error) {
	c := cfg.(*Config)
	return receivers.LoadOrStore(c, func() (*llamacppReceiver, error) { return newReceiver(c, set), nil })
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	r, err := load(cfg, set)
	if err != nil {
		return nil, err
	}
	r.Unwrap().metrics = next
	return r, nil
}

func createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	r, err := load(cfg, set)
	if err != nil {
		return nil, err
	}
	r.Unwrap().traces = next
	return r, nil
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	r, err := load(cfg, set)
	if err != nil {
		return nil, err
	}
	r.Unwrap().logs = next
	return r, nil
}
