// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A request in flight when the gateway shuts down is answered, and its span is handed on before
// Shutdown returns: the collector stops the pipelines after the receivers.
func TestShutdownKeepsInFlightSpans(t *testing.T) {
	for range 5 {
		body := fixture(t, "b11669/chat-completion.json")
		up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(100 * time.Millisecond)
			jsonAnswer(http.StatusOK, body)(w, r)
		})
		gw := startGateway(t, Config{}, fixedURL(up.URL))
		var wg sync.WaitGroup
		codes := make(chan int, 4)
		for range 4 {
			wg.Go(func() {
				resp, _ := post(t, gw.url+"/v1/chat/completions", chatRequest)
				codes <- resp.StatusCode
			})
		}
		time.Sleep(30 * time.Millisecond) // all four at the upstream
		require.NoError(t, gw.Shutdown(context.Background()))
		wg.Wait()
		close(codes)
		for c := range codes {
			assert.Equal(t, http.StatusOK, c)
		}
		assert.Len(t, serverSpans(allSpans(t, gw.sink)), 4, "every answered request has its span when Shutdown returns")
	}
}
