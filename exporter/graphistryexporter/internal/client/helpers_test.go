// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter/graphistrytest"
)

// fakeClock is a settable clock shared by a client and the fake server.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// edgesFixture and nodesFixture are the small tables uploaded by the tests,
// as rows in the form graphistrytest decodes them to.
var edgesFixture = []map[string]any{
	{"src": "span-a", "dst": "span-b", "duration_us": int64(1500), "error": false},
	{"src": "span-a", "dst": "span-c", "duration_us": int64(250), "error": true},
	{"src": "span-c", "dst": "span-d", "duration_us": nil, "error": false},
}

var nodesFixture = []map[string]any{
	{"id": "span-a", "kind": "llm.request", "tokens": float64(128.5)},
	{"id": "span-b", "kind": "llm.decode", "tokens": float64(64)},
	{"id": "span-c", "kind": "gpu.kernel", "tokens": nil},
	{"id": "span-d", "kind": "gpu.kernel", "tokens": float64(0)},
}

// arrowFile writes rows as an Arrow IPC file with the given schema. Supported
// column types: utf8, int64, float64, bool; nil values become nulls.
func arrowFile(t testing.TB, schema *arrow.Schema, rows []map[string]any) []byte {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, row := range rows {
		for i, f := range schema.Fields() {
			v := row[f.Name]
			fb := b.Field(i)
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.Int64Builder:
				fb.Append(v.(int64))
			case *array.Float64Builder:
				fb.Append(v.(float64))
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			default:
				t.Fatalf("unsupported builder %T", fb)
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func edgesSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "src", Type: arrow.BinaryTypes.String},
		{Name: "dst", Type: arrow.BinaryTypes.String},
		{Name: "duration_us", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "error", Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
}

func nodesSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "kind", Type: arrow.BinaryTypes.String},
		{Name: "tokens", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
}

// testDataset returns a dataset with the fixture tables.
func testDataset(t testing.TB) Dataset {
	return Dataset{
		Name:        "trace 4bf92f3577b34da6",
		Description: "spans of one llama.cpp request",
		NodeEncodings: map[string]any{
			"bindings": map[string]any{"node": "id", "node_title": "kind"},
		},
		EdgeEncodings: map[string]any{
			"bindings": map[string]any{"source": "src", "destination": "dst"},
		},
		Metadata: map[string]any{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"},
		Nodes:    arrowFile(t, nodesSchema(), nodesFixture),
		Edges:    arrowFile(t, edgesSchema(), edgesFixture),
		Share:    SharePrivate,
	}
}

// logCapture records logs at debug level both structurally and as JSON text.
type logCapture struct {
	logger   *zap.Logger
	observed *observer.ObservedLogs
	buf      *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Sync() error { return nil }

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogCapture() *logCapture {
	obsCore, observed := observer.New(zapcore.DebugLevel)
	buf := &lockedBuffer{}
	jsonCore := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig()), buf, zapcore.DebugLevel)
	return &logCapture{
		logger:   zap.New(zapcore.NewTee(obsCore, jsonCore)),
		observed: observed,
		buf:      buf,
	}
}

// newTestClient builds a client for srv with password credentials.
func newTestClient(t testing.TB, srv *graphistrytest.Server, mutate func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		Endpoint:   srv.URL,
		Username:   graphistrytest.TestUsername,
		Password:   graphistrytest.TestPassword,
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
		Logger:     zap.NewNop(),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	return c
}

func decodeJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "body: %s", b)
	return m
}
