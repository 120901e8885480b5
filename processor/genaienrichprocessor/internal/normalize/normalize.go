// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Options configures a Normalizer.
type Options struct {
	// KeepOriginal keeps a mapped source attribute beside the new one. By default (false) the
	// source attribute is removed once its value was written (or found already present).
	KeepOriginal bool
	// Latest writes the names of the semantic-conventions-genai repository where they differ
	// from v1.41 (gen_ai.usage.cache_write.input_tokens, an int gen_ai.request.top_k,
	// moonshot_ai). Upstream switches this with a feature gate. Without it, those newer names
	// found on a span are renamed back to v1.41.
	Latest bool
}

// Result counts what a call did, for debug logging and metrics.
type Result struct {
	// Set is the number of attributes written.
	Set int
	// Removed is the number of source attributes removed (0 with KeepOriginal).
	Removed int
	// Skipped is the number of source attributes (or message families) left as they were
	// because their value was bad: wrong type, out of range, invalid JSON, unknown enum value.
	Skipped int
	// Conflicts is the number of source attributes left as they were because their target
	// already held a different value (the v1.41 value, or one mapped from an earlier row).
	Conflicts int
}

// Add adds o to r.
func (r *Result) Add(o Result) {
	r.Set += o.Set
	r.Removed += o.Removed
	r.Skipped += o.Skipped
	r.Conflicts += o.Conflicts
}

// Changed reports whether the call changed the attributes.
func (r Result) Changed() bool { return r.Set > 0 || r.Removed > 0 }

// family identifies an indexed message family.
type family uint8

const (
	famNone family = iota
	famOLPrompt
	famOLCompletion
	famOLFinish
	famOIInput
	famOIOutput
	famCount
)

// Normalizer rewrites span attributes to the GenAI semantic conventions v1.41. It is
// immutable after New and safe for concurrent use.
type Normalizer struct {
	opts      Options
	byKey     map[string]*ruleDef
	families  [famCount]*ruleDef
	providers map[string]string
	// minLen and maxLen bound the lengths of the keys in byKey: a cheap first filter.
	minLen, maxLen int
}

// New returns a Normalizer for the options.
func New(opts Options) *Normalizer {
	n := &Normalizer{
		opts:      opts,
		byKey:     make(map[string]*ruleDef, len(rules)),
		providers: make(map[string]string, len(providerValues)+len(latestProviderValues)),
		minLen:    1 << 30,
	}
	compiled := make([]ruleDef, len(rules))
	copy(compiled, rules)
	for i := range compiled {
		r := &compiled[i]
		r.index = i
		switch r.mode {
		case modeLatest:
			if !opts.Latest {
				continue
			}
		case modeV141:
			if opts.Latest {
				continue
			}
		}
		r.to = n.target(r.To)
		if r.op == opFamily {
			n.families[r.family] = r
			continue
		}
		n.byKey[r.From] = r
		n.minLen = min(n.minLen, len(r.From))
		n.maxLen = max(n.maxLen, len(r.From))
	}
	for _, p := range ProviderValues(opts.Latest) {
		n.providers[p.From] = p.To
	}
	return n
}

// target returns the name written for a v1.41 target under the options.
func (n *Normalizer) target(t string) string {
	if n.opts.Latest && t == attrUsageCacheCreation {
		return attrUsageCacheWrite
	}
	return t
}

// Span normalizes the attributes of span and of its events.
func (n *Normalizer) Span(span ptrace.Span) Result {
	res := n.Attributes(span.Attributes())
	events := span.Events()
	for i := 0; i < events.Len(); i++ {
		res.Add(n.Attributes(events.At(i).Attributes()))
	}
	return res
}

// match is a source attribute (or a message family, key "") that a rule applies to.
type match struct {
	r   *ruleDef
	key string
	v   pcommon.Value
}

// Attributes normalizes one attribute map in place.
func (n *Normalizer) Attributes(m pcommon.Map) Result {
	var buf [16]match
	ms := buf[:0]
	var seen [famCount]bool
	minLen, maxLen := n.minLen, n.maxLen
	m.Range(func(k string, v pcommon.Value) bool {
		if len(k) >= minLen && len(k) <= maxLen {
			if r, ok := n.byKey[k]; ok {
				ms = append(ms, match{r: r, key: k, v: v})
				return true
			}
		}
		if f := familyOf(k); f != famNone && !seen[f] {
			seen[f] = true
			if r := n.families[f]; r != nil {
				ms = append(ms, match{r: r})
			}
			if f == famOLCompletion && n.families[famOLFinish] != nil {
				ms = append(ms, match{r: n.families[famOLFinish]})
			}
		}
		return true
	})
	if len(ms) == 0 {
		return Result{}
	}
	return n.apply(m, ms)
}

// familyOf returns the message family a key belongs to by its prefix.
func familyOf(k string) family {
	if len(k) < len(prefixOLPrompt)+2 {
		return famNone
	}
	switch k[0] {
	case 'g':
		if strings.HasPrefix(k, prefixOLPrompt) {
			return famOLPrompt
		}
		if strings.HasPrefix(k, prefixOLCompletion) {
			return famOLCompletion
		}
	case 'l':
		if strings.HasPrefix(k, prefixOIInput) {
			return famOIInput
		}
		if strings.HasPrefix(k, prefixOIOutput) {
			return famOIOutput
		}
	}
	return famNone
}

// write is an attribute to write.
type write struct {
	key string
	v   val
}

// state carries one Attributes call once a rule matched. Nothing is changed in the map until
// commit: all source values are read first, so the pcommon.Values in the matches stay valid.
type state struct {
	n       *Normalizer
	m       pcommon.Map
	res     Result
	pending []write
	remove  []string
	finish  []string // finish reasons of the OpenLLMetry completions, for the row after them
}

// outcome is what decide did with a value.
type outcome uint8

const (
	written  outcome = iota // queued for writing
	same                    // the target already holds the value
	conflict                // the target holds a different value
)

// apply runs the matched rules in table order and then changes the map.
func (n *Normalizer) apply(m pcommon.Map, ms []match) Result {
	// Insertion sort by priority (the table order); the lists are short.
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].r.index < ms[j-1].r.index; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
	var pend [8]write
	var rem [16]string
	s := &state{n: n, m: m, pending: pend[:0], remove: rem[:0]}
	for _, mt := range ms {
		switch mt.r.op {
		case opValue:
			s.value(mt)
		case opInvocation:
			s.invocation(mt)
		case opFamily:
			s.family(mt.r)
		case opMessages:
			s.messagesJSON(mt)
		}
	}
	s.commit()
	return s.res
}

// value applies a rename or derive rule of one source attribute.
func (s *state) value(mt match) {
	r := mt.r
	if r.unless != "" {
		if u, ok := s.m.Get(r.unless); ok {
			// The preferred source is present: this one is redundant when it says the same,
			// and is left alone (not a conflict) when it says something else.
			v, st := r.conv(s.n, mt.v)
			if uv, ust := r.conv(s.n, u); st == stOK && ust == stOK && uv.equalVal(v) {
				s.consume(mt.key)
			}
			return
		}
	}
	if r.when != nil && !r.when(s.m) {
		return
	}
	to := r.to
	if r.pick != nil {
		if to = r.pick(s.m); to == "" {
			return
		}
		to = s.n.target(to)
	}
	var v val
	var st status
	if r.derive != nil {
		v, st = r.derive(s.m)
	} else {
		v, st = r.conv(s.n, mt.v)
	}
	switch st {
	case stBad:
		s.res.Skipped++
		return
	case stIgnore:
		return
	}
	if r.keep {
		// The source only marks the span: it stays, and the value fills a gap.
		s.optional(to, v)
		return
	}
	if s.decide(to, v) == conflict {
		s.res.Conflicts++
		return
	}
	s.consume(mt.key)
}

// decide queues v for target unless the target exists: an equal value counts as done, a
// different one is a conflict.
func (s *state) decide(target string, v val) outcome {
	for i := range s.pending {
		if s.pending[i].key == target {
			if s.pending[i].v.equalVal(v) {
				return same
			}
			return conflict
		}
	}
	if e, ok := s.m.Get(target); ok {
		if v.equalTo(e) {
			return same
		}
		return conflict
	}
	s.pending = append(s.pending, write{key: target, v: v})
	return written
}

// optional queues v for target only when the target is absent; it never conflicts.
func (s *state) optional(target string, v val) {
	for i := range s.pending {
		if s.pending[i].key == target {
			return
		}
	}
	if _, ok := s.m.Get(target); ok {
		return
	}
	s.pending = append(s.pending, write{key: target, v: v})
}

// consume marks a source attribute as mapped: it is removed unless KeepOriginal.
func (s *state) consume(keys ...string) {
	if s.n.opts.KeepOriginal {
		return
	}
	s.remove = append(s.remove, keys...)
}

// commit writes the pending values and removes the consumed sources.
func (s *state) commit() {
	for _, w := range s.pending {
		w.v.put(s.m, w.key)
	}
	s.res.Set += len(s.pending)
	if len(s.remove) == 0 {
		return
	}
	removed := 0
	s.m.RemoveIf(func(k string, _ pcommon.Value) bool {
		if !slices.Contains(s.remove, k) {
			return false
		}
		for _, w := range s.pending {
			if w.key == k {
				return false // never remove what was just written
			}
		}
		removed++
		return true
	})
	s.res.Removed += removed
}
