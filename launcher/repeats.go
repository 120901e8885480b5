// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"sync"
	"time"
)

// repeatWindow is how long a line that llama-server repeats word for word is kept out of the
// collector's log after it was copied there. Some builds write the same warning for every request
// (b11669: "security: no API key is set and CORS allows all origins"); copying each costs CPU per
// request and buries everything else.
const repeatWindow = time.Minute

// repeatEntriesMax bounds the lines remembered; lines that differ in a number (timings, task
// ids) never repeat, and must not grow the map without end.
const repeatEntriesMax = 512

// repeatFilter decides which llama-server lines at or above log_level are copied to the
// collector's log at their own severity: the first of identical lines, then the same line again
// once repeatWindow has passed since it was last copied, with the number of copies left out in
// between. Lines written at debug (below log_level) do not pass through it. The subscribers (the
// llamacpp receiver's logs) get every line: this only spares the collector's own log.
type repeatFilter struct {
	mu     sync.Mutex
	window time.Duration
	now    func() time.Time
	seen   map[string]*repeatEntry
}

type repeatEntry struct {
	logged     time.Time // when it was last copied
	suppressed int       // identical lines left out since
}

func newRepeatFilter(window time.Duration) *repeatFilter {
	return &repeatFilter{window: window, now: time.Now, seen: map[string]*repeatEntry{}}
}

// allow reports whether the line with this key is copied, and how many identical lines were left
// out since it was last copied.
func (f *repeatFilter) allow(key string) (ok bool, suppressed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	e := f.seen[key]
	if e == nil {
		if len(f.seen) >= repeatEntriesMax {
			f.evict(now)
		}
		f.seen[key] = &repeatEntry{logged: now}
		return true, 0
	}
	if now.Sub(e.logged) < f.window {
		e.suppressed++
		return false, 0
	}
	suppressed = e.suppressed
	*e = repeatEntry{logged: now}
	return true, suppressed
}

// evict drops the lines whose window has passed with nothing left out (they would be copied
// anyway when they come again); when that frees nothing, it forgets everything, which at worst
// lets one more copy of a repeated line through.
func (f *repeatFilter) evict(now time.Time) {
	for k, e := range f.seen {
		if e.suppressed == 0 && now.Sub(e.logged) >= f.window {
			delete(f.seen, k)
		}
	}
	if len(f.seen) >= repeatEntriesMax {
		clear(f.seen)
	}
}
