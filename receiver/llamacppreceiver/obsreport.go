// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"context"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
)

// observedTraces and observedLogs count what the gateway and the log forwarder hand to their
// pipelines in the collector's own metrics, as every contrib receiver does through
// receiverhelper: otelcol_receiver_accepted_spans / _refused_spans (transport "http", the
// gateway) and otelcol_receiver_accepted_log_records / _refused_log_records (transport "pipe",
// llama-server's output). The scraper's metrics are counted by scraperhelper.
type observedTraces struct {
	consumer.Traces
	obs *receiverhelper.ObsReport
}

func (o observedTraces) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	ctx = o.obs.StartTracesOp(ctx)
	n := td.SpanCount() // before the pipeline, which may change td
	err := o.Traces.ConsumeTraces(ctx, td)
	o.obs.EndTracesOp(ctx, "openai", n, err) // spans made from OpenAI-compatible HTTP exchanges
	return err
}

type observedLogs struct {
	consumer.Logs
	obs *receiverhelper.ObsReport
}

func (o observedLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	ctx = o.obs.StartLogsOp(ctx)
	n := ld.LogRecordCount()
	err := o.Logs.ConsumeLogs(ctx, ld)
	o.obs.EndLogsOp(ctx, "text", n, err) // llama-server's log lines
	return err
}

func newObsReport(set receiver.Settings, transport string) (*receiverhelper.ObsReport, error) {
	return receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, Transport: transport, ReceiverCreateSettings: set,
	})
}
