// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package graph

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// nodeColumns are the writers of the node table, in NodeSchema order.
type nodeColumns struct {
	id, spanID, traceID, name, service, kind, status, statusMessage *stringColumn
	start                                                           *fixedColumn[int64]
	duration                                                        *fixedColumn[float64]
	model                                                           *stringColumn
	inTokens, outTokens                                             *fixedColumn[int64]
	errorType                                                       *stringColumn
	size                                                            *fixedColumn[float64]
	isRoot, isExternal                                              *boolColumn
}

// writeNodes writes one row per span node, resolving links on the way, then
// the trace roots and the external spans.
func (b *builder) writeNodes(td ptrace.Traces) (arrow.RecordBatch, error) {
	mem := b.mem
	spans := b.stats.SpanNodes
	roots := len(b.traces)
	// Rows beyond spans+roots are external spans, at most one per link.
	rows := spans + roots + b.linkCount
	c := &nodeColumns{
		id:            newStringColumn(mem, rows, spanIDLen*(spans+b.linkCount)+rootIDLen*roots),
		spanID:        newStringColumn(mem, rows, spanHexLen*(spans+b.linkCount)),
		traceID:       newStringColumn(mem, rows, traceHexLen*rows),
		name:          newStringColumn(mem, rows, b.nameBytes+rootNameLen*roots),
		service:       newStringColumn(mem, rows, b.svcBytes+b.svcBytes/max(spans, 1)*roots),
		kind:          newStringColumn(mem, rows, b.kindBytes),
		status:        newStringColumn(mem, rows, b.statusBytes+len(StatusUnset)*(roots+b.linkCount)),
		statusMessage: newStringColumn(mem, rows, b.msgBytes),
		start:         newFixedColumn[int64](mem, rows),
		duration:      newFixedColumn[float64](mem, rows),
		model:         newStringColumn(mem, rows, 0),
		inTokens:      newFixedColumn[int64](mem, rows),
		outTokens:     newFixedColumn[int64](mem, rows),
		errorType:     newStringColumn(mem, rows, 0),
		size:          newFixedColumn[float64](mem, rows),
		isRoot:        newBoolColumn(mem, rows),
		isExternal:    newBoolColumn(mem, rows),
	}
	b.links = make([][2]int32, 0, b.linkCount)

	rss := td.ResourceSpans()
	pos := 0
	for i := range rss.Len() {
		svc := b.services[i]
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			ss := sss.At(j).Spans()
			for k := range ss.Len() {
				if node := b.nodeOf[pos]; node >= 0 {
					b.writeSpan(c, ss.At(k), pos, node, svc)
				}
				pos++
			}
		}
	}
	for _, t := range b.traces {
		c.writeRoot(t)
	}
	for _, key := range b.external {
		c.writeExternal(key)
	}
	b.stats.ExternalSpans = len(b.external)
	return c.finish(spans + roots + len(b.external))
}

// writeSpan writes the row of the span at batch position pos, node node, and
// records its links.
func (b *builder) writeSpan(c *nodeColumns, s ptrace.Span, pos int, node int32, svc string) {
	tid, sid := s.TraceID(), s.SpanID()
	id := c.id.slot(spanIDLen)
	if len(id) == spanIDLen { // empty only when the column is full
		writeSpanID(id, tid, sid)
		c.traceID.appendBytes(id[:traceHexLen])
		c.spanID.appendBytes(id[traceHexLen+1:])
	} else {
		c.traceID.append("")
		c.spanID.append("")
	}
	c.name.appendUTF8(s.Name())
	c.service.append(svc)
	c.kind.append(kindString(s.Kind()))
	a := readAttrs(s.Attributes())
	st := s.Status()
	c.status.append(statusString(st.Code(), a.hasErrType))
	c.statusMessage.appendUTF8(st.Message())

	start, end := uint64(s.StartTimestamp()), uint64(s.EndTimestamp())
	ms, hasDur := durationMs(start, end)
	if start != 0 && start <= math.MaxInt64 {
		c.start.append(int64(start))
	} else {
		c.start.appendNull()
	}
	if hasDur {
		c.duration.append(ms)
	} else {
		c.duration.appendNull()
	}

	c.model.appendUTF8(a.model())
	appendOptional(c.inTokens, a.in, a.hasIn)
	appendOptional(c.outTokens, a.out, a.hasOut)
	c.errorType.appendUTF8(a.errType)
	c.size.append(sizeFor(ms, hasDur))
	c.isRoot.append(false)
	c.isExternal.append(false)

	// The trace root's summary.
	t := &b.traces[b.traceOf[pos]]
	if start != 0 && (t.minStart == 0 || start < t.minStart) {
		t.minStart = start
	}
	if end > t.maxEnd {
		t.maxEnd = end
	}

	if b.pids[pos] == 0 && !t.hasTop {
		t.service, t.hasTop = svc, true
	}

	// Links.
	ls := s.Links()
	for l := range ls.Len() {
		link := ls.At(l)
		to := b.findSpan(link.TraceID(), link.SpanID())
		if to < 0 {
			key := makeKey(link.TraceID(), link.SpanID())
			e, seen := b.externalIdx[key]
			if !seen {
				if b.externalIdx == nil {
					b.externalIdx = make(map[spanKey]int32)
				}
				e = int32(len(b.external))
				b.externalIdx[key] = e
				b.external = append(b.external, key)
			}
			to = int32(b.stats.SpanNodes+len(b.traces)) + e
		}
		b.links = append(b.links, [2]int32{node, to})
	}
}

// writeRoot writes the synthetic root node of a trace.
func (c *nodeColumns) writeRoot(t traceInfo) {
	id := c.id.slot(rootIDLen)
	var th [traceHexLen]byte
	encodeHex(th[:], t.id[:])
	if len(id) == rootIDLen {
		copy(id, rootIDPrefix)
		copy(id[len(rootIDPrefix):], th[:])
	}
	c.spanID.append("")
	c.traceID.appendBytes(th[:])
	name := c.name.slot(rootNameLen)
	if len(name) == rootNameLen {
		copy(name, "trace ")
		copy(name[len("trace "):], th[:8])
	}
	c.service.append(t.service)
	c.kind.append("")
	c.status.append(StatusUnset)
	c.statusMessage.append("")
	if t.minStart != 0 && t.minStart <= math.MaxInt64 {
		c.start.append(int64(t.minStart))
	} else {
		c.start.appendNull()
	}
	ms, hasDur := durationMs(t.minStart, t.maxEnd)
	if hasDur {
		c.duration.append(ms)
	} else {
		c.duration.appendNull()
	}
	c.model.append("")
	c.inTokens.appendNull()
	c.outTokens.appendNull()
	c.errorType.append("")
	c.size.append(sizeFor(ms, hasDur))
	c.isRoot.append(true)
	c.isExternal.append(false)
}

// writeExternal writes the placeholder node of a linked span not in the batch.
func (c *nodeColumns) writeExternal(key spanKey) {
	var tid pcommon.TraceID
	var sid pcommon.SpanID
	copy(tid[:], key[:16])
	copy(sid[:], key[16:])
	var id [spanIDLen]byte
	writeSpanID(id[:], tid, sid)
	c.id.appendBytes(id[:])
	c.spanID.appendBytes(id[traceHexLen+1:])
	c.traceID.appendBytes(id[:traceHexLen])
	name := c.name.slot(len(externalName) + spanHexLen)
	if len(name) > 0 {
		copy(name, externalName)
		copy(name[len(externalName):], id[traceHexLen+1:])
	}
	c.service.append("")
	c.kind.append("")
	c.status.append(StatusUnset)
	c.statusMessage.append("")
	c.start.appendNull()
	c.duration.appendNull()
	c.model.append("")
	c.inTokens.appendNull()
	c.outTokens.appendNull()
	c.errorType.append("")
	c.size.append(1)
	c.isRoot.append(false)
	c.isExternal.append(true)
}

// finish assembles the node record; on error every buffer is released.
func (c *nodeColumns) finish(rows int) (arrow.RecordBatch, error) {
	strs := []*stringColumn{c.id, c.spanID, c.traceID, c.name, c.service, c.kind, c.status, c.statusMessage}
	cols := make([]arrow.Array, 0, len(NodeSchema.Fields()))
	var err error
	for _, s := range strs {
		if err != nil {
			s.release()
			continue
		}
		var a arrow.Array
		if a, err = s.finish(); err == nil {
			cols = append(cols, a)
		}
	}
	var model, errType arrow.Array
	if err == nil {
		model, err = c.model.finish()
	} else {
		c.model.release()
	}
	if err == nil {
		errType, err = c.errorType.finish()
		if err != nil {
			model.Release()
		}
	} else {
		c.errorType.release()
	}
	if err != nil {
		for _, a := range cols {
			a.Release()
		}
		c.start.release()
		c.duration.release()
		c.inTokens.release()
		c.outTokens.release()
		c.size.release()
		c.isRoot.release()
		c.isExternal.release()
		return nil, err
	}
	cols = append(cols,
		c.start.finish(TimestampType),
		c.duration.finish(arrow.PrimitiveTypes.Float64),
		model,
		c.inTokens.finish(arrow.PrimitiveTypes.Int64),
		c.outTokens.finish(arrow.PrimitiveTypes.Int64),
		errType,
		c.size.finish(arrow.PrimitiveTypes.Float64),
		c.isRoot.finish(),
		c.isExternal.finish(),
	)
	return newRecord(NodeSchema, cols, rows), nil
}
