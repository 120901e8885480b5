package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
