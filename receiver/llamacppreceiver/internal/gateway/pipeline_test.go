// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap/zaptest"

	"github.com/llamatelemetry/otelcol-llt/receiver/llamacppreceiver/internal/metadatatest"
)

// The processing goroutine takes finished requests at ticks while the gateway is busy, stops
// ticking once it has been idle for idleTicks ticks, and the next request then wakes it: its
// span is not left waiting for a tick that no longer comes.
func TestPipelineSleepsWhenIdle(t *testing.T) {
	up := newFakeUpstream(t, jsonAnswer(http.StatusOK, fixture(t, "b11669/chat-completion.json")))
	gw := startGateway(t, Config{}, fixedURL(up.URL))

	resp, _ := post(t, gw.url+"/v1/chat/completions", chatRequest)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	waitServerSpans(t, gw.sink, 1)
	require.Eventually(t, gw.pipe.sleeping.Load, 5*idleTicks*processEvery, processEvery,
		"the goroutine still ticks after %d idle ticks", idleTicks)

	// With the ticker stopped, only the wake-up can bring this span (waitServerSpans times out).
	resp, _ = post(t, gw.url+"/v1/chat/completions", chatRequest)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	waitServerSpans(t, gw.sink, 2)
	assert.Eventually(t, func() bool { return !gw.pipe.sleeping.Load() }, time.Second, time.Millisecond)
}

// What the pipeline loses is counted in the receiver's own metrics: the spans it drops while the
// queue of batches is full behind a traces pipeline that does not keep up, and every batch that
// pipeline refuses.
func TestPipelineCountsDropsAndRefusals(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	refusing, err := consumer.NewTraces(func(context.Context, ptrace.Traces) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		return errors.New("pipeline refused")
	})
	require.NoError(t, err)
	set := tt.NewTelemetrySettings()
	set.Logger = zaptest.NewLogger(t)
	g, err := New(Config{}, Settings{Traces: refusing, Telemetry: set})
	require.NoError(t, err)
	oneSpan := func() ptrace.Traces {
		td, spans := g.newBatch()
		spans.AppendEmpty().SetName("chat")
		return td
	}

	g.pipe.start()
	g.pipe.send(oneSpan())
	<-entered // the export goroutine holds the first batch, in the pipeline
	for range batchQueueSize {
		g.pipe.send(oneSpan())
	}
	g.pipe.send(oneSpan()) // the queue is full: these two are dropped
	g.pipe.send(oneSpan())
	close(release)
	require.NoError(t, g.pipe.stop(context.Background()))

	opts := []metricdatatest.Option{metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars()}
	metadatatest.AssertEqualLlamacppGatewaySpansDropped(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, opts...)
	metadatatest.AssertEqualLlamacppGatewayConsumeErrors(t, tt, []metricdata.DataPoint[int64]{{Value: 1 + batchQueueSize}}, opts...)
}
