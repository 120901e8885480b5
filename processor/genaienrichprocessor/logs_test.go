// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package genaienrichprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/metadata"
)

// genAIEvents is what SDKs send as logs: OpenLIT's gen_ai.client.inference.operation.details (the
// GenAI semantic conventions v1.41 event, as the interop harness recorded it from openlit 1.15.0),
// and an event of the earlier conventions whose body holds the message.
func genAIEvents() plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	details := lrs.AppendEmpty()
	details.SetEventName("gen_ai.client.inference.operation.details")
	details.Body().SetStr("gen_ai.client.inference.operation.details")
	a := details.Attributes()
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("gen_ai.request.model", "demo")
	a.PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"Say hello plain 0"}]}]`)
	a.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"secret answer"}]}]`)
	a.PutInt("gen_ai.usage.input_tokens", 66)
	choice := lrs.AppendEmpty()
	choice.Attributes().PutStr("event.name", "gen_ai.choice")
	choice.Attributes().PutStr("gen_ai.system", "openai")
	body := choice.Body().SetEmptyMap()
	body.PutInt("index", 0)
	body.PutStr("finish_reason", "stop")
	body.PutEmptyMap("message").PutStr("content", "secret answer")
	line := lrs.AppendEmpty()
	line.Body().SetStr("srv  update_slots: all slots are idle")
	return ld
}

func runLogs(t *testing.T, cfg *Config) plog.Logs {
	t.Helper()
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeLogs(context.Background(), genAIEvents()))
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllLogs(), 1)
	return sink.AllLogs()[0]
}

func TestLogsDropContent(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Embeddings.Enabled = true
	cfg.Embeddings.Endpoint = "http://127.0.0.1:1" // never called for logs
	cfg.Embeddings.Source = SourceServer
	out := runLogs(t, cfg)
	lrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, 3, lrs.Len(), "no record is dropped")
	details := lrs.At(0).Attributes().AsRaw()
	assert.NotContains(t, details, "gen_ai.input.messages")
	assert.NotContains(t, details, "gen_ai.output.messages")
	assert.EqualValues(t, 66, details["gen_ai.usage.input_tokens"], "the rest stays")
	choice := lrs.At(1)
	assert.Equal(t, "openai", choice.Attributes().AsRaw()["gen_ai.provider.name"], "attributes are normalized")
	assert.NotContains(t, choice.Body().Map().AsRaw(), "message")
	assert.Equal(t, "stop", choice.Body().Map().AsRaw()["finish_reason"])
	assert.Equal(t, "srv  update_slots: all slots are idle", lrs.At(2).Body().Str(), "other records pass unchanged")
}

func TestLogsKeepContentWithoutDrop(t *testing.T) {
	cfg := createDefaultConfig().(*Config) // embeddings off: nothing is captured for points, nothing dropped
	out := runLogs(t, cfg)
	details := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw()
	assert.Contains(t, details, "gen_ai.input.messages")
}
