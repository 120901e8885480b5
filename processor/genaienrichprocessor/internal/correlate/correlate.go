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
	"math"
	"sort"
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
	// MaxPending is the most records kept; the oldest goes first when it is reached.
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

// entry is a kept record.
type entry struct {
	rec     Record
	addedNs int64
	dead    bool // matched or expired, still in the queue or a pool
}

// idKey indexes records by role and response id.
type idKey struct {
	role Role
	id   string
}

// Correlator pairs client and server spans of the same call.
type Correlator struct {
	cfg Config

	mu    sync.Mutex
	queue []*entry // arrival order, for the time to live and eviction; queue[head:] are live or dead
	head  int
	live  int
	byID  map[idKey]*entry
	// pools are the fallback candidates by role: every pending server record, and the pending
	// client records that have no response id. Dead entries are dropped when the pool is scanned.
	pools [2][]*entry
	stats Stats
}

// New returns a Correlator. A TTL or MaxPending that is not positive keeps nothing.
func New(cfg Config) *Correlator {
	return &Correlator{cfg: cfg, byID: make(map[idKey]*entry)}
}

// Observe looks for the counterpart of rec among the records kept. When there is one, it is
// removed and returned; otherwise rec is kept to wait for its own. A span is matched at most once.
func (c *Correlator) Observe(now time.Time, rec Record) (Match, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	nowNs := now.UnixNano()
	c.expire(nowNs)

	if m, ok := c.find(rec); ok {
		return m, true
	}
	if c.cfg.TTL <= 0 || c.cfg.MaxPending <= 0 {
		return Match{}, false
	}
	for c.live >= c.cfg.MaxPending {
		c.drop(c.oldest())
		c.stats.Evicted++
	}
	e := &entry{rec: rec, addedNs: nowNs}
	c.queue = append(c.queue, e)
	c.live++
	if len(c.queue)-c.head > 2*c.cfg.MaxPending+1024 {
		// Matched records behind a live one that still waits: let them go.
		c.queue, c.head = compact(c.queue[c.head:]), 0
	}
	if rec.ResponseID != "" {
		k := idKey{rec.Role, rec.ResponseID}
		if old, ok := c.byID[k]; ok {
			// A second span of the same role and id (a retried export): the newer one waits.
			c.drop(old)
			c.stats.Evicted++
		}
		c.byID[k] = e
	}
	if rec.Role == Server || rec.ResponseID == "" {
		c.addToPool(e)
	}
	return Match{}, false
}

// compact removes the dead entries of a pool in place.
func compact(pool []*entry) []*entry {
	n := 0
	for _, e := range pool {
		if !e.dead {
			pool[n] = e
			n++
		}
	}
	clear(pool[n:])
	return pool[:n]
}

// find returns the counterpart of rec and removes it from what is kept.
func (c *Correlator) find(rec Record) (Match, bool) {
	if rec.ResponseID != "" {
		if e, ok := c.byID[idKey{rec.Role.other(), rec.ResponseID}]; ok {
			c.drop(e)
			c.stats.MatchedResponseID++
			return Match{Other: e.rec, Method: MethodResponseID}, true
		}
	}
	if !c.cfg.Fallback {
		return Match{}, false
	}
	// The fallback pairs a client span without a response id with any server span, and a
	// server span with a client span that has none. A client span that has an id and found no
	// server span with it is a call that did not go through the gateway.
	if rec.Role == Client && rec.ResponseID != "" {
		return Match{}, false
	}
	if e := c.bestCandidate(rec); e != nil {
		c.drop(e)
		c.stats.MatchedFallback++
		return Match{Other: e.rec, Method: MethodFallback}, true
	}
	return Match{}, false
}

// bestCandidate finds the closest compatible record in the fallback pool of the other role. A
// pool is sorted by end time, so only the records that end in the window the rules allow are
// looked at: a server record must end within the client's interval (give or take the skew).
func (c *Correlator) bestCandidate(rec Record) *entry {
	skew := c.cfg.MaxSkew.Nanoseconds()
	pool := c.pools[rec.Role.other()]
	lo, hi := rec.StartNs-skew, rec.EndNs+skew // a client record: where its server's end may be
	if rec.Role == Server {
		lo, hi = rec.EndNs-skew, int64(math.MaxInt64) // a server record: its client ends after it
	}
	var best *entry
	var bestScore int64
	for i := sort.Search(len(pool), func(i int) bool { return pool[i].rec.EndNs >= lo }); i < len(pool); i++ {
		e := pool[i]
		if e.rec.EndNs > hi {
			break
		}
		if e.dead {
			continue
		}
		client, server := rec, e.rec
		if rec.Role == Server {
			client, server = e.rec, rec
		}
		if server.ResponseID != "" && client.ResponseID != "" {
			continue // ids decide when both have them
		}
		score, ok := fallbackScore(client, server, skew)
		if ok && (best == nil || score < bestScore) {
			best, bestScore = e, score
		}
	}
	return best
}

// addToPool inserts e into the fallback pool of its role, keeping the pool sorted by end time
// (records arrive nearly in that order, so the insertion moves it a few places at most), and
// removes the dead records when the pool has grown to twice the bound.
func (c *Correlator) addToPool(e *entry) {
	role := e.rec.Role
	pool := append(c.pools[role], e)
	for i := len(pool) - 1; i > 0 && pool[i-1].rec.EndNs > e.rec.EndNs; i-- {
		pool[i-1], pool[i] = pool[i], pool[i-1]
	}
	if len(pool) > 2*c.cfg.MaxPending {
		pool = compact(pool)
	}
	c.pools[role] = pool
}

// fallbackScore says whether server can be the gateway's span of client's call and, if so, how
// far apart they are (smaller is closer): the time from the client's start to the server's,
// plus from the server's end to the client's.
func fallbackScore(client, server Record, skewNs int64) (int64, bool) {
	// The client's response model may be the model it asked for (OpenInference records the
	// requested name for a stream, having no answer to read it from): it must be one of the two
	// the gateway saw.
	if !sameIfKnown(client.RequestModel, server.RequestModel) ||
		!(sameIfKnown(client.ResponseModel, server.ResponseModel) || client.ResponseModel == server.RequestModel) {
		return 0, false
	}
	if !sameCountIfKnown(client.InputTokens, server.InputTokens) || !sameCountIfKnown(client.OutputTokens, server.OutputTokens) {
		return 0, false
	}
	lead := server.StartNs - client.StartNs
	trail := client.EndNs - server.EndNs
	if lead < -skewNs || trail < -skewNs {
		return 0, false
	}
	return abs(lead) + abs(trail), true
}

func sameIfKnown(a, b string) bool      { return a == "" || b == "" || a == b }
func sameCountIfKnown(a, b int64) bool  { return a < 0 || b < 0 || a == b }
func abs(x int64) int64                 { return max(x, -x) }
func (c *Correlator) oldest() *entry    { return c.queue[c.head] }
func (c *Correlator) compactable() bool { return c.head > 1024 && c.head > len(c.queue)/2 }

// drop marks e dead and forgets its id; the queue and pools let go of it lazily.
func (c *Correlator) drop(e *entry) {
	if e.dead {
		return
	}
	e.dead = true
	c.live--
	if e.rec.ResponseID != "" {
		k := idKey{e.rec.Role, e.rec.ResponseID}
		if c.byID[k] == e {
			delete(c.byID, k)
		}
	}
	c.advance()
}

// advance moves the head of the queue past dead entries.
func (c *Correlator) advance() {
	for c.head < len(c.queue) && c.queue[c.head].dead {
		c.queue[c.head] = nil
		c.head++
	}
	if c.head == len(c.queue) {
		c.queue, c.head = c.queue[:0], 0
	} else if c.compactable() {
		c.queue = append(c.queue[:0], c.queue[c.head:]...)
		c.head = 0
	}
}

// expire drops the records older than the time to live.
func (c *Correlator) expire(nowNs int64) {
	cutoff := nowNs - c.cfg.TTL.Nanoseconds()
	for c.head < len(c.queue) {
		e := c.queue[c.head]
		if !e.dead && e.addedNs > cutoff {
			break
		}
		if !e.dead {
			c.drop(e)
			c.stats.Unmatched++
		} else {
			c.advance()
		}
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
