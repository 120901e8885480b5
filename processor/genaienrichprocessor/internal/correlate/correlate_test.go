// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package correlate

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

var t0 = time.Unix(1_700_000_000, 0)

func cfg() Config {
	return Config{TTL: time.Minute, MaxPending: 100, Fallback: true, MaxSkew: 50 * time.Millisecond}
}

func rec(role Role, id string, start, end time.Duration) Record {
	var sid pcommon.SpanID
	copy(sid[:], fmt.Sprintf("%d%-7s", role, id))
	return Record{Role: role, SpanID: sid, ResponseID: id, StartNs: t0.Add(start).UnixNano(), EndNs: t0.Add(end).UnixNano(),
		RequestModel: "demo", InputTokens: -1, OutputTokens: -1}
}

func TestResponseIDEitherOrder(t *testing.T) {
	for _, serverFirst := range []bool{true, false} {
		c := New(cfg())
		client := rec(Client, "chatcmpl-1", 0, time.Second)
		server := rec(Server, "chatcmpl-1", 10*time.Millisecond, 990*time.Millisecond)
		first, second := client, server
		if serverFirst {
			first, second = server, client
		}
		_, ok := c.Observe(t0.Add(2*time.Second), first)
		require.False(t, ok)
		m, ok := c.Observe(t0.Add(5*time.Second), second)
		require.True(t, ok, "serverFirst=%v", serverFirst)
		assert.Equal(t, MethodResponseID, m.Method)
		assert.Equal(t, first.SpanID, m.Other.SpanID)

		_, again := c.Observe(t0.Add(6*time.Second), second)
		assert.False(t, again, "a span is matched at most once")
		st := c.Stats(t0.Add(6 * time.Second))
		assert.Equal(t, int64(1), st.MatchedResponseID)
		assert.Equal(t, 1, st.Pending, "the repeated span waits")
	}
}

func TestSameRoleNeverPairs(t *testing.T) {
	c := New(cfg())
	c.Observe(t0, rec(Server, "x", 0, time.Second))
	_, ok := c.Observe(t0, rec(Server, "x", 0, time.Second))
	assert.False(t, ok)
}

// TestClientWithIDButNoServer: a call that went to a hosted provider has an id that no gateway
// span has; it must not be paired by the fallback with a gateway span that happened to overlap.
func TestClientWithIDButNoServer(t *testing.T) {
	c := New(cfg())
	c.Observe(t0, rec(Server, "chatcmpl-gw", 10*time.Millisecond, 900*time.Millisecond))
	_, ok := c.Observe(t0, rec(Client, "chatcmpl-hosted", 0, time.Second))
	assert.False(t, ok)
}

func TestFallbackPicksClosest(t *testing.T) {
	c := New(cfg())
	// Two overlapping server spans; the client without id started 0 and ended at 1 s.
	far := rec(Server, "a", 300*time.Millisecond, 700*time.Millisecond)
	near := rec(Server, "b", 5*time.Millisecond, 990*time.Millisecond)
	c.Observe(t0, far)
	c.Observe(t0, near)
	m, ok := c.Observe(t0, rec(Client, "", 0, time.Second))
	require.True(t, ok)
	assert.Equal(t, MethodFallback, m.Method)
	assert.Equal(t, "b", m.Other.ResponseID)
}

func TestFallbackRules(t *testing.T) {
	client := rec(Client, "", 0, time.Second)
	cases := []struct {
		name string
		edit func(s *Record)
		ok   bool
	}{
		{"inside", func(*Record) {}, true},
		{"skew within bounds", func(s *Record) { s.StartNs -= int64(40 * time.Millisecond) }, true},
		{"starts too early", func(s *Record) { s.StartNs -= int64(200 * time.Millisecond) }, false},
		{"ends too late", func(s *Record) { s.EndNs += int64(1100 * time.Millisecond) }, false},
		{"other request model", func(s *Record) { s.RequestModel = "other" }, false},
		{"unknown request model", func(s *Record) { s.RequestModel = "" }, true},
		{"other response model", func(s *Record) { s.ResponseModel = "other" }, false},
		{"client's response model is the requested one", func(s *Record) { s.ResponseModel = "llt-tiny" }, true},
		{"other token count", func(s *Record) { s.OutputTokens = 9 }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(cfg())
			s := rec(Server, "chatcmpl-9", 10*time.Millisecond, 900*time.Millisecond)
			tc.edit(&s)
			cl := client
			cl.OutputTokens = 8
			cl.ResponseModel = "demo"
			if tc.name == "other response model" {
				cl.ResponseModel = "x"
			}
			if tc.name != "other token count" {
				s.OutputTokens = 8
			}
			c.Observe(t0, s)
			_, ok := c.Observe(t0, cl)
			assert.Equal(t, tc.ok, ok)
		})
	}
}

func TestFallbackOff(t *testing.T) {
	cf := cfg()
	cf.Fallback = false
	c := New(cf)
	c.Observe(t0, rec(Server, "a", 10*time.Millisecond, 900*time.Millisecond))
	_, ok := c.Observe(t0, rec(Client, "", 0, time.Second))
	assert.False(t, ok)
}

func TestTTLAndEviction(t *testing.T) {
	cf := cfg()
	cf.MaxPending = 3
	c := New(cf)
	for i := range 5 {
		c.Observe(t0, rec(Server, fmt.Sprint(i), 0, time.Second))
	}
	st := c.Stats(t0)
	assert.Equal(t, int64(2), st.Evicted)
	assert.Equal(t, 3, st.Pending)
	_, ok := c.Observe(t0, rec(Client, "0", 0, time.Second))
	assert.False(t, ok, "evicted records are gone")
	// The client record waits too (4 then, over the bound: one more eviction).
	st = c.Stats(t0.Add(2 * time.Minute))
	assert.Equal(t, int64(3), st.Unmatched, "what is left expires")
	assert.Equal(t, 0, st.Pending)
	_, ok = c.Observe(t0.Add(2*time.Minute), rec(Client, "4", 0, time.Second))
	assert.False(t, ok)
}

func TestDisabledKeepsNothing(t *testing.T) {
	c := New(Config{})
	c.Observe(t0, rec(Server, "a", 0, time.Second))
	_, ok := c.Observe(t0, rec(Client, "a", 0, time.Second))
	assert.False(t, ok)
	assert.Equal(t, 0, c.Stats(t0).Pending)
}

// TestBoundedUnderChurn feeds many unmatched spans and checks that the memory kept (queue and
// pools) stays near the bound.
func TestBoundedUnderChurn(t *testing.T) {
	cf := cfg()
	cf.MaxPending = 1000
	c := New(cf)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200_000 {
		role := Role(r.IntN(2))
		id := ""
		if r.IntN(3) > 0 {
			id = fmt.Sprint(i)
		}
		c.Observe(t0.Add(time.Duration(i)*time.Millisecond), rec(role, id, 0, time.Second))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.LessOrEqual(t, c.live, 1000)
	assert.LessOrEqual(t, len(c.ring), 1000)
	assert.LessOrEqual(t, len(c.pools[0]), 2*c.pooled[0]+65)
	assert.LessOrEqual(t, len(c.pools[1]), 2*c.pooled[1]+65)
	assert.LessOrEqual(t, len(c.byID), 1000)
}

// TestBoundedWhileOldestWaits: one record waits while every other pairs; what is kept stays
// within the bound, and the waiting one goes when MaxPending spans have arrived after it.
func TestBoundedWhileOldestWaits(t *testing.T) {
	cf := cfg()
	cf.MaxPending = 100
	c := New(cf)
	c.Observe(t0, rec(Client, "lonely", 0, time.Second))
	for i := range 50_000 {
		c.Observe(t0, rec(Server, fmt.Sprint(i), 0, time.Second))
		_, ok := c.Observe(t0, rec(Client, fmt.Sprint(i), 0, time.Second))
		require.True(t, ok)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Equal(t, 0, c.live)
	assert.Equal(t, int64(1), c.stats.Evicted, "the lonely one was pushed out")
	assert.LessOrEqual(t, len(c.ring), 100)
	assert.LessOrEqual(t, len(c.pools[Server]), 2*c.pooled[Server]+65)
}

// TestSlotsReused: records that expire free their ring slots for new ones, and the fallback
// never pairs with a record whose slot was taken since (a stale pool item).
func TestSlotsReused(t *testing.T) {
	cf := cfg()
	cf.MaxPending = 8
	c := New(cf)
	for round := range 50 {
		now := t0.Add(time.Duration(round) * 2 * time.Minute) // everything before has expired
		for i := range 8 {
			c.Observe(now, rec(Server, fmt.Sprintf("r%d-%d", round, i), time.Duration(i)*time.Second, time.Duration(i)*time.Second+500*time.Millisecond))
		}
		m, ok := c.Observe(now, rec(Client, "", 3*time.Second-10*time.Millisecond, 3*time.Second+510*time.Millisecond))
		require.True(t, ok, "round %d", round)
		assert.Equal(t, fmt.Sprintf("r%d-3", round), m.Other.ResponseID)
	}
	st := c.Stats(t0.Add(200 * time.Minute))
	assert.Equal(t, int64(50*7), st.Unmatched)
	assert.Equal(t, 0, st.Pending)
}

// TestLongTexts: an id or model longer than what is kept inline still pairs (by its hash); what
// was too long to keep comes back empty.
func TestLongTexts(t *testing.T) {
	c := New(cfg())
	long := strings.Repeat("x", 200)
	s := rec(Server, long, 0, time.Second)
	s.ResponseModel = long
	s.FinishReasons = []string{"stop", "length"}
	c.Observe(t0, s)
	m, ok := c.Observe(t0, rec(Client, long, 0, time.Second))
	require.True(t, ok)
	assert.Empty(t, m.Other.ResponseID)
	assert.Empty(t, m.Other.ResponseModel)
	assert.Equal(t, []string{"stop", "length"}, m.Other.FinishReasons)
	assert.Equal(t, "demo", m.Other.RequestModel)
}

// TestArming: without client spans the gateway's spans are kept but not indexed; the first client
// span indexes them and finds its own; a ttl without client spans disarms again.
func TestArming(t *testing.T) {
	c := New(cfg())
	for i := range 10 {
		c.Observe(t0, rec(Server, fmt.Sprint(i), 0, time.Second))
	}
	c.mu.Lock()
	assert.False(t, c.indexed)
	assert.Empty(t, c.byID)
	c.mu.Unlock()
	m, ok := c.Observe(t0.Add(time.Second), rec(Client, "7", 0, time.Second))
	require.True(t, ok)
	assert.Equal(t, "7", m.Other.ResponseID)
	_, ok = c.Observe(t0.Add(time.Second), rec(Client, "", 0, time.Second))
	assert.True(t, ok, "the fallback pool was indexed too")
	c.mu.Lock()
	assert.True(t, c.indexed)
	c.mu.Unlock()

	later := t0.Add(5 * time.Minute) // a ttl without client spans
	c.Observe(later, rec(Server, "x", 0, time.Second))
	c.mu.Lock()
	assert.False(t, c.indexed, "disarmed")
	assert.Len(t, c.byID, 0)
	c.mu.Unlock()
	m, ok = c.Observe(later, rec(Client, "x", 0, time.Second))
	require.True(t, ok, "re-armed by the next client span")
	assert.Equal(t, "x", m.Other.ResponseID)
}

func BenchmarkObserve(b *testing.B) {
	c := New(Config{TTL: time.Minute, MaxPending: 10000, Fallback: true, MaxSkew: 50 * time.Millisecond})
	recs := make([]Record, 1024)
	for i := range recs {
		recs[i] = rec(Role(i%2), fmt.Sprint(i/2), 0, time.Second)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.Observe(t0.Add(time.Duration(i)), recs[i%len(recs)])
	}
}
