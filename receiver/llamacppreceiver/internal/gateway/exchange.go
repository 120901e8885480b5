// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/llamatelemetry/otelcol-llt/pkg/launcherapi"
	"github.com/llamatelemetry/otelcol-llt/pkg/sse"
)

// maxKeptResponse caps the bytes of a non-streamed answer kept for parsing. Above it the
// members that fit are still read (llama-server writes usage before the embeddings data).
const maxKeptResponse = 1 << 20

// exchange is one traced request. The handler goroutine fills it; after the response is done
// it is handed to the pipeline, which only reads it.
type exchange struct {
	start, end time.Time
	op         operation
	method     string
	path       string
	parent     spanContext
	up         *upstream
	body       []byte

	status  int    // HTTP status sent to the client, 0 if none
	errType string // error.type, once known on the handler side
	errMsg  string // span status message; never request or response text

	reqBody replayBody
	tap     bodyTap
	readErr error // reading the upstream answer failed

	resp     *bytes.Buffer // non-streamed answer
	respOver bool          // keep no more of it: cut at maxKeptResponse, or compressed
	stream   *streamTap    // streamed answer

	energyID uint64 // the request's id in Settings.Energy; 0 when not reported

	// waited is how long the request waited for llama-server before it was sent (a restart, a
	// refused connection), and waitReason why; zero when it was sent at once.
	waited     time.Duration
	waitReason string
}

func (ex *exchange) fail(status int, errType, msg string) {
	if status != 0 {
		ex.status = status
	}
	ex.errType, ex.errMsg = errType, msg
}

// newBody is Request.GetBody: the transport replays the body when it retries on a kept-alive
// connection that the server had closed.
func (ex *exchange) newBody() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(ex.body)), nil
}

// replayBody serves the request bytes already read to the proxy.
type replayBody struct {
	b   []byte
	off int
}

func (r *replayBody) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

func (r *replayBody) Close() error { return nil }

// bodyTap is the upstream answer's body as the proxy reads it: every byte goes to the client
// unchanged, and is kept (non-streamed) or fed to the stream tap (streamed).
type bodyTap struct {
	rc io.ReadCloser
	ex *exchange
	// tail is what is left to send of the error event that ends a stream llama-server broke off.
	tail []byte
	// ended: the answer ended (its end, or the error event); the next Read returns io.EOF.
	ended bool
	// hung returns the launcher's error when it killed the server for a hang (Gateway.serverHung).
	hung func() *launcherapi.HungError
}

// streamBrokeOff is the event that ends a streamed answer when llama-server stops in the middle
// of it (killed, crashed, restarting): an OpenAI-style error, as the OpenAI API sends one within a
// stream, so that clients see why the stream ended instead of a connection reset. The blank lines
// first end an event the server may have left half written.
var streamBrokeOff = []byte("\n\ndata: {\"error\":{\"code\":502,\"message\":\"llama-server stopped while answering this request (it may be restarting); the answer is incomplete\",\"type\":\"server_error\"}}\n\n")

// streamHung is the event that ends a streamed answer when the launcher killed llama-server
// because it had stopped answering: a timeout (504), with the hang's figures.
func streamHung(h *launcherapi.HungError) []byte {
	var ev errorBody
	ev.Error.Code, ev.Error.Type = http.StatusGatewayTimeout, "timeout_error"
	ev.Error.Message = hungMessage(h, "was cut off; the answer is incomplete")
	b, err := json.Marshal(ev)
	if err != nil { // a struct of strings and an int: cannot fail
		return streamBrokeOff
	}
	return slices.Concat([]byte("\n\ndata: "), b, []byte("\n\n"))
}

func (t *bodyTap) Read(p []byte) (int, error) {
	ex := t.ex
	if t.tail != nil || t.ended {
		n := copy(p, t.tail)
		t.tail = t.tail[n:]
		if len(t.tail) == 0 {
			t.tail, t.ended = nil, true
			return n, io.EOF
		}
		return n, nil
	}
	if ex.stream != nil {
		// Parse what the previous Read delivered now: the proxy has written and flushed it to
		// the client already, and the next bytes are still on their way.
		ex.stream.flushPending()
	}
	n, err := t.rc.Read(p)
	if n > 0 {
		if ex.stream != nil {
			ex.stream.arrive(p[:n])
		} else {
			ex.keep(p[:n])
		}
	}
	if err != nil && err != io.EOF {
		ex.readErr = err
		if ex.stream != nil && !ex.stream.done {
			// Not the client's error: llama-server broke off. End the stream with an error
			// event (the span still records the failure from readErr).
			t.tail = streamBrokeOff
			if t.hung != nil {
				if h := t.hung(); h != nil {
					t.tail = streamHung(h)
				}
			}
			return n, nil
		}
	}
	return n, err
}

func (t *bodyTap) Close() error {
	if t.ex.stream != nil {
		t.ex.stream.flushPending()
	}
	return t.rc.Close()
}

func (ex *exchange) keep(b []byte) {
	if ex.respOver {
		return
	}
	if ex.resp == nil {
		ex.resp = getBuffer()
	}
	if room := maxKeptResponse - ex.resp.Len(); len(b) > room {
		b = b[:room]
		ex.respOver = true
	}
	ex.resp.Write(b)
}

var responseBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer { return responseBuffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b == nil || b.Cap() > 64<<10 {
		return
	}
	b.Reset()
	responseBuffers.Put(b)
}

// streamTap follows a streamed answer on the handler goroutine: it times events as they arrive
// and folds their JSON into a responseSummary.
type streamTap struct {
	parser    sse.Parser
	pending   []byte
	pendingAt time.Time

	chunks       int64
	firstTokenAt time.Time
	lastChunkAt  time.Time
	done         bool // [DONE] or a native chunk with stop: true was seen
	summary      responseSummary
}

func newStreamTap(capture bool, maxContent, maxEvent int) *streamTap {
	s := &streamTap{}
	s.parser.MaxLine = maxEvent
	s.summary.capture = capture
	s.summary.maxBytes = maxContent
	return s
}

func (s *streamTap) arrive(b []byte) {
	s.pending = append(s.pending, b...)
	s.pendingAt = time.Now()
}

func (s *streamTap) flushPending() {
	if len(s.pending) == 0 {
		return
	}
	s.parser.Feed(s.pending, s.event)
	s.pending = s.pending[:0]
}

var doneMarker = []byte("[DONE]")

func (s *streamTap) event(ev *sse.Event) {
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 {
		return
	}
	if bytes.Equal(data, doneMarker) {
		s.done = true
		return
	}
	at := s.pendingAt
	s.chunks++
	s.lastChunkAt = at
	if !s.needsDecode(data) {
		return
	}
	var doc responseDoc
	if !decodeResponse(data, &doc) {
		return
	}
	if s.summary.absorb(&doc) && s.firstTokenAt.IsZero() {
		s.firstTokenAt = at
	}
	if doc.Stop != nil && *doc.Stop {
		s.done = true
	}
}

// needsDecode skips the JSON of plain content chunks once the first token was seen and no
// content is captured: only the first and the last chunks carry what the span needs. A chunk
// is skipped only when it is recognisably plain; anything unusual is decoded.
func (s *streamTap) needsDecode(data []byte) bool {
	if s.firstTokenAt.IsZero() || s.summary.capture {
		return true
	}
	plain := bytes.Contains(data, []byte(`"finish_reason":null`)) || bytes.Contains(data, []byte(`"stop":false`))
	return !plain || bytes.Contains(data, []byte(`"usage"`)) || bytes.Contains(data, []byte(`"timings"`)) ||
		bytes.Contains(data, []byte(`"error"`))
}
