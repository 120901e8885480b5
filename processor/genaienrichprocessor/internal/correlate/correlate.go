// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package correlate pairs the client span of an inference call (from an instrumented application:
// OpenLLMetry, OpenInference, OpenLIT, ...) with the server span of the same call (from the
// llamacpp gateway), when the two arrive apart: seconds apart, in different batches, from
// different receivers, and usually in different traces because the SDK sent no traceparent.
//
// A pair is found first by gen_ai.response.id, which both sides read from the same response; where
// the client span has none (OpenInference records no id), by a fallback: the same models, the same
// token counts where both have them, and the server span's interval inside the client span's
// (give or take a clock skew), the closest such one winning. What is kept meanwhile is a small
// record per span, never the span itself, bounded by a time to live and a maximum count.
//
// A Correlator is safe for concurrent use.
package correlate // import "github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/correlate"

import (
	"hash/maphash"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Role says which end of the call a span describes.
type Role uint8

const (
	// Client is the application's span of the call (span kind CLIENT or INTERNAL).
	Client Role = iota
	// Server is the gateway's span of the call (span kind SERVER).
	Server
)

func (r Role) other() Role { return 1 - r }

// Methods of a match, as written in the span attribute and the link attribute.
const (
	MethodResponseID = "response_id"
	MethodFallback   = "fallback"
)

// Record is what is kept of one span until its counterpart arrives.
type Record struct {
	TraceID pcommon.TraceID
	SpanID  pcommon.SpanID
	Role    Role
	StartNs int64
	EndNs   int64
	// ResponseID is gen_ai.response.id, "" when absent.
	ResponseID string
	// RequestModel and ResponseModel are "" when absent.
	RequestModel  string
	ResponseModel string
	// InputTokens and OutputTokens are -1 when absent.
	InputTokens  int64
	OutputTokens int64
	// FinishReasons is gen_ai.response.finish_reasons, nil when absent.
	FinishReasons []string
}

// Match is a pair found for the span just observed.
type Match struct {
	// Other is the record of the span that arrived first.
	Other Record
	// Method is MethodResponseID or MethodFallback.
	Method string
}

// Config bounds what a Correlator keeps and sets the fallback.
type Config struct {
	// TTL is how long a record waits for its counterpart.
	TTL time.Duration
	// MaxPending bounds what is kept: the records of the last MaxPending spans that arrived
	// (those that found their pair free their place when the oldest goes); when it is reached,
	// the oldest record goes, matched or not.
	MaxPending int
	// Fallback enables matching without a response id.
	Fallback bool
	// MaxSkew is how far the server span may stick out of the client span in the fallback
	// (clock differences between the application's host and the collector's).
	MaxSkew time.Duration
}

// Stats counts what became of the records. Matched counts pairs by method.
type Stats struct {
	MatchedResponseID int64
	MatchedFallback   int64
	// Unmatched are records whose time to live ran out.
	Unmatched int64
	// Evicted are records pushed out by MaxPending before their time ran out.
	Evicted int64
	// Pending is how many records wait now.
	Pending int
}

// The correlator keeps its records in a ring of plain values that hold no pointer (strings are
// copied into fixed arrays and compared by hash), indexed by a map of integers: the garbage
// collector has nothing in them to scan, which matters because every gateway span is kept for
// the time to live while it waits for a client span that may never come. A record is at most
// ~300 bytes; MaxPending of them at most.

// text is a string of at most textMax bytes, kept inline; a longer one keeps only its hash.
const textMax = 62

type text struct {
	hash uint64 // 0 for ""
	n    uint8
	long bool // longer than textMax: only the hash is kept
	b    [textMax]byte
}

func (c *Correlator) setText(t *text, s string) {
	t.n, t.long = 0, false
	switch s {
	case "":
		t.hash = 0
		return
	case c.lastText:
		// Models repeat from span to span: spare hashing the same name again.
		t.hash = c.lastHash
	default:
		t.hash = maphash.String(c.seed, s) | 1
		if len(s) < 100 {
			c.lastText, c.lastHash = s, t.hash
		}
	}
	if len(s) > textMax {
		t.long = true
		return
	}
	t.n = uint8(copy(t.b[:], s))
}

// String is the kept text, "" when it was too long to keep.
func (t *text) String() string { return string(t.b[:t.n]) }

// entry is a kept record.
type entry struct {
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
	role    Role
	dead    bool   // matched, expired or evicted
	pooled  bool   // in a fallback pool, and counted in pooled
	gen     uint32 // incremented each time the slot takes a new record
	start   int64
	end     int64
	added   int64
	in, out int64
	id      text
	reqM    text
	respM   text
	finish  text // finish reasons joined by "\x00"
}

// poolItem is a record in a fallback pool: its ring position, the slot's generation when it
// went in (a slot taken since by another record makes the item stale), and its end time.
type poolItem struct {
	end int64
	pos int32
	gen uint32
}

// idKey indexes records by role and the hash of the response id.
type idKey struct {
	role Role
	hash uint64
}

// Correlator pairs client and server spans of the same call.
type Correlator struct {
	cfg  Config
	seed maphash.Seed
	// scratch is the record of the span being observed; lastText and lastHash cache the hash of
	// the last short text (a model name, usually).
	scratch  entry
	lastText string
	lastHash uint64
	// indexed is set while client spans come (see armed); lastClientNs is when the last came.
	indexed      bool
	lastClientNs int64

	mu sync.Mutex
	// ring holds the records in arrival order: ring[(head+i)%len] for i < n. It grows to
	// MaxPending and then wraps.
	ring []entry
	head int
	n    int
	live int
	byID map[idKey]int32
	// pools are the fallback candidates by role (every pending server record, and the pending
	// client records without a response id) as ring positions sorted by end time; dead ones go
	// when they outnumber the live ones.
	pools  [2][]poolItem
	pooled [2]int
	stats  Stats
}

// New returns a Correlator. A TTL or MaxPending that is not positive keeps nothing.
func New(cfg Config) *Correlator {
	return &Correlator{cfg: cfg, byID: make(map[idKey]int32), seed: maphash.MakeSeed()}
}

// Observe looks for the counterpart of rec among the records kept. When there is one, it is
// removed and returned; otherwise rec is kept to wait for its own. A span is matched at most once.
func (c *Correlator) Observe(now time.Time, rec Record) (Match, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	nowNs := now.UnixNano()
	c.expire(nowNs)

	c.scratch.fill(c, rec, nowNs)
	if !c.armed(nowNs) && rec.Role == Client {
		c.indexed = true
		c.reindex()
	}
	if rec.Role == Client {
		c.lastClientNs = nowNs
	}
	if c.indexed {
		if m, ok := c.find(&c.scratch); ok {
			return m, true
		}
	}
	if c.cfg.TTL <= 0 || c.cfg.MaxPending <= 0 {
		return Match{}, false
	}
	c.keep(&c.scratch)
	return Match{}, false
}

// armed reports whether a client span was seen within the time to live. Until one is, the
// gateway's spans are only kept in the ring, not indexed: with no instrumented application
// sending spans there is nothing to pair them with, and the indexes are most of the cost. The
// first client span indexes what the ring holds, so that it finds its gateway span all the same.
func (c *Correlator) armed(nowNs int64) bool {
	if c.indexed && nowNs-c.lastClientNs >= c.cfg.TTL.Nanoseconds() {
		c.indexed = false
		clear(c.byID)
		c.pools = [2][]poolItem{c.pools[0][:0], c.pools[1][:0]}
		c.pooled = [2]int{}
		for i := 0; i < c.n; i++ {
			c.ring[(c.head+i)%len(c.ring)].pooled = false
		}
	}
	return c.indexed
}

// fill sets e from rec.
func (e *entry) fill(c *Correlator, rec Record, nowNs int64) {
	e.traceID, e.spanID, e.role = rec.TraceID, rec.SpanID, rec.Role
	e.dead, e.pooled = false, false
	e.start, e.end, e.added = rec.StartNs, rec.EndNs, nowNs
	e.in, e.out = rec.InputTokens, rec.OutputTokens
	c.setText(&e.id, rec.ResponseID)
	c.setText(&e.reqM, rec.RequestModel)
	c.setText(&e.respM, rec.ResponseModel)
	e.finish = text{}
	if len(rec.FinishReasons) > 0 {
		c.setText(&e.finish, strings.Join(rec.FinishReasons, "\x00"))
	}
}

// record is the Record of a kept entry (texts that were too long to keep are "").
func (e *entry) record() Record {
	r := Record{TraceID: e.traceID, SpanID: e.spanID, Role: e.role, StartNs: e.start, EndNs: e.end,
		ResponseID: e.id.String(), RequestModel: e.reqM.String(), ResponseModel: e.respM.String(),
		InputTokens: e.in, OutputTokens: e.out}
	if f := e.finish.String(); f != "" {
		r.FinishReasons = strings.Split(f, "\x00")
	}
	return r
}

// keep puts a copy of e at the end of the ring, making room by dropping the oldest record when
// the ring is full, and indexes it.
func (c *Correlator) keep(e *entry) {
	if c.n == c.cfg.MaxPending {
		old := &c.ring[c.head]
		if !old.dead {
			c.drop(c.head)
			c.stats.Evicted++
		}
		c.head = (c.head + 1) % len(c.ring)
		c.n--
	}
	if c.n == len(c.ring) { // grow (only while below MaxPending): unwrap into a larger ring
		grown := make([]entry, min(max(2*len(c.ring), 64), c.cfg.MaxPending))
		for i := 0; i < c.n; i++ {
			grown[i] = c.ring[(c.head+i)%len(c.ring)]
		}
		c.ring, c.head = grown, 0
		c.reindex()
	}
	pos := int32((c.head + c.n) % len(c.ring))
	gen := c.ring[pos].gen + 1
	c.ring[pos] = *e
	e = &c.ring[pos]
	e.gen = gen
	c.n++
	c.live++
	if !c.indexed {
		return
	}
	if e.id.hash != 0 {
		// A second span of the same role and id (a retried export) takes the id over; the
		// first waits on unreachable by id until it expires or is pushed out.
		c.byID[idKey{e.role, e.id.hash}] = pos
	}
	if e.role == Server || e.id.hash == 0 {
		c.addToPool(pos)
	}
}

// reindex rebuilds the id index and the pools from the ring (after it moved, or on arming).
func (c *Correlator) reindex() {
	clear(c.byID)
	c.pools = [2][]poolItem{c.pools[0][:0], c.pools[1][:0]}
	c.pooled = [2]int{}
	if !c.indexed {
		return
	}
	for i := 0; i < c.n; i++ {
		pos := int32((c.head + i) % len(c.ring))
		e := &c.ring[pos]
		e.pooled = false
		if e.dead {
			continue
		}
		e.gen++
		if e.id.hash != 0 {
			c.byID[idKey{e.role, e.id.hash}] = pos
		}
		if e.role == Server || e.id.hash == 0 {
			c.addToPool(pos)
		}
	}
}

// find returns the counterpart of e and removes it from what is kept.
func (c *Correlator) find(e *entry) (Match, bool) {
	if e.id.hash != 0 {
		if pos, ok := c.byID[idKey{e.role.other(), e.id.hash}]; ok {
			m := Match{Other: c.ring[pos].record(), Method: MethodResponseID}
			c.drop(int(pos))
			c.stats.MatchedResponseID++
			return m, true
		}
	}
	if !c.cfg.Fallback {
		return Match{}, false
	}
	// The fallback pairs a client span without a response id with any server span, and a
	// server span with a client span that has none. A client span that has an id and found no
	// server span with it is a call that did not go through the gateway.
	if e.role == Client && e.id.hash != 0 {
		return Match{}, false
	}
	if pos := c.bestCandidate(e); pos >= 0 {
		m := Match{Other: c.ring[pos].record(), Method: MethodFallback}
		c.drop(int(pos))
		c.stats.MatchedFallback++
		return m, true
	}
	return Match{}, false
}

// bestCandidate finds the closest compatible record in the fallback pool of the other role, or
// -1. A pool is sorted by end time, so only the records that end in the window the rules allow
// are looked at: a server record must end within the client's interval (give or take the skew).
func (c *Correlator) bestCandidate(e *entry) int32 {
	skew := c.cfg.MaxSkew.Nanoseconds()
	pool := c.pools[e.role.other()]
	lo, hi := e.start-skew, e.end+skew // a client record: where its server's end may be
	if e.role == Server {
		lo, hi = e.end-skew, int64(math.MaxInt64) // a server record: its client ends after it
	}
	best := int32(-1)
	var bestScore int64
	for i := sort.Search(len(pool), func(i int) bool { return pool[i].end >= lo }); i < len(pool); i++ {
		it := pool[i]
		if it.end > hi {
			break
		}
		o := &c.ring[it.pos]
		if o.dead || o.gen != it.gen {
			continue
		}
		client, server := e, o
		if e.role == Server {
			client, server = o, e
		}
		if server.id.hash != 0 && client.id.hash != 0 {
			continue // ids decide when both have them
		}
		score, ok := fallbackScore(client, server, skew)
		if ok && (best < 0 || score < bestScore) {
			best, bestScore = it.pos, score
		}
	}
	return best
}

// addToPool inserts the record at pos into the fallback pool of its role, keeping the pool
// sorted by end time (records arrive nearly in that order, so the insertion moves it a few
// places at most).
func (c *Correlator) addToPool(pos int32) {
	e := &c.ring[pos]
	e.pooled = true
	c.pooled[e.role]++
	pool := append(c.pools[e.role], poolItem{end: e.end, pos: pos, gen: e.gen})
	for i := len(pool) - 1; i > 0 && pool[i-1].end > e.end; i-- {
		pool[i-1], pool[i] = pool[i], pool[i-1]
	}
	c.pools[e.role] = pool
	c.compactPool(e.role)
}

// compactPool removes the dead records of a pool once they outnumber the live ones.
func (c *Correlator) compactPool(r Role) {
	pool := c.pools[r]
	if len(pool) <= 2*c.pooled[r]+64 {
		return
	}
	n := 0
	for _, it := range pool {
		if e := &c.ring[it.pos]; !e.dead && e.gen == it.gen {
			pool[n] = it
			n++
		}
	}
	c.pools[r] = pool[:n]
}

// fallbackScore says whether server can be the gateway's span of client's call and, if so, how
// far apart they are (smaller is closer): the time from the client's start to the server's,
// plus from the server's end to the client's.
func fallbackScore(client, server *entry, skewNs int64) (int64, bool) {
	// The client's response model may be the model it asked for (OpenInference records the
	// requested name for a stream, having no answer to read it from): it must be one of the two
	// the gateway saw.
	respOK := sameIfKnown(client.respM.hash, server.respM.hash) || client.respM.hash == server.reqM.hash
	if !sameIfKnown(client.reqM.hash, server.reqM.hash) || !respOK {
		return 0, false
	}
	if !sameCountIfKnown(client.in, server.in) || !sameCountIfKnown(client.out, server.out) {
		return 0, false
	}
	lead := server.start - client.start
	trail := client.end - server.end
	if lead < -skewNs || trail < -skewNs {
		return 0, false
	}
	return abs(lead) + abs(trail), true
}

func sameIfKnown(a, b uint64) bool     { return a == 0 || b == 0 || a == b }
func sameCountIfKnown(a, b int64) bool { return a < 0 || b < 0 || a == b }
func abs(x int64) int64                { return max(x, -x) }

// drop marks the record at pos dead and forgets its id; the ring and pools let go of it lazily.
func (c *Correlator) drop(pos int) {
	e := &c.ring[pos]
	if e.dead {
		return
	}
	e.dead = true
	c.live--
	if e.id.hash != 0 {
		k := idKey{e.role, e.id.hash}
		if c.byID[k] == int32(pos) {
			delete(c.byID, k)
		}
	}
	if e.pooled {
		c.pooled[e.role]--
		c.compactPool(e.role)
	}
}

// expire drops the records older than the time to live, and frees the ring's dead head.
func (c *Correlator) expire(nowNs int64) {
	cutoff := nowNs - c.cfg.TTL.Nanoseconds()
	for c.n > 0 {
		e := &c.ring[c.head]
		if !e.dead && e.added > cutoff {
			break
		}
		if !e.dead {
			c.drop(c.head)
			c.stats.Unmatched++
		}
		c.head = (c.head + 1) % len(c.ring)
		c.n--
	}
}

// Stats returns the counts so far; it also expires what is due at now.
func (c *Correlator) Stats(now time.Time) Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now.UnixNano())
	s := c.stats
	s.Pending = c.live
	return s
}
