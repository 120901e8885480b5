// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package sse

import "bytes"

// DefaultMaxLine is the cap on one line and on one event's data when [Parser.MaxLine] is 0.
const DefaultMaxLine = 1 << 20

// Event is one dispatched server-sent event. Its slices alias the parser's buffers and are
// valid only during the callback that receives them.
type Event struct {
	// Type is the value of the last `event:` field, empty for the default "message".
	Type []byte
	// Data is the event's data: the `data:` lines joined with LF.
	Data []byte
	// ID is the last event ID seen so far in the stream.
	ID []byte
	// Truncated reports that a line or the data went over the parser's cap and was cut.
	Truncated bool
}

// Parser splits a text/event-stream into events, following the WHATWG HTML standard, §9.2.6
// "Interpreting an event stream": lines end with CRLF, LF or CR (a CRLF may be split across two
// Feed calls); a leading UTF-8 BOM is skipped; lines starting with a colon are comments; `data:`
// lines accumulate, joined with LF; a blank line dispatches the event unless no data was seen;
// an unterminated event at the end of the stream is discarded, as a browser would, unless the
// reader calls End.
//
// It is fed byte slices split anywhere, copies only what it must keep across calls, and never
// keeps more than MaxLine bytes of one line or of one event's data: the rest is dropped and the
// event is marked Truncated. The zero value is ready to use. It does not interpret `retry:`
// (OtherField sees it) and does not validate UTF-8. A Parser is not safe for concurrent use.
type Parser struct {
	// MaxLine caps one line and one event's data, in bytes; 0 means DefaultMaxLine.
	MaxLine int
	// OtherField, when set, is called for every field other than data, event and id, in stream
	// order: `retry:`, unknown fields, and llama-server's `error: {...}` line (which it writes
	// when a streamed answer fails after it began). A line without a colon is a field with an
	// empty value. name and value alias the parser's buffers and are valid only during the call.
	OtherField func(name, value []byte)

	line     []byte // the current line when it spans Feed calls
	lineOver bool   // the current line went over MaxLine
	afterCR  bool   // the last byte seen was CR: an LF right after it ends nothing
	bomDone  bool   // the stream's first bytes were checked for a BOM
	bomPart  int    // bytes of a BOM seen at the start so far (the BOM may be split too)

	data     []byte
	hasData  bool
	dataOver bool
	typ      []byte
	id       []byte
	ev       Event
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func (p *Parser) maxLine() int {
	if p.MaxLine > 0 {
		return p.MaxLine
	}
	return DefaultMaxLine
}

// Feed parses b and calls emit for every event it completes.
func (p *Parser) Feed(b []byte, emit func(*Event)) {
	if !p.bomDone {
		b = p.skipBOM(b)
		if !p.bomDone {
			return
		}
	}
	for len(b) > 0 {
		if p.afterCR {
			p.afterCR = false
			if b[0] == '\n' {
				b = b[1:]
				continue
			}
		}
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			p.appendLine(b)
			return
		}
		if len(p.line) == 0 && !p.lineOver {
			seg := b[:i]
			over := false
			if len(seg) > p.maxLine() {
				seg, over = seg[:p.maxLine()], true
			}
			p.processLine(seg, over, emit)
		} else {
			p.appendLine(b[:i])
			p.endLine(emit)
		}
		p.afterCR = b[i] == '\r'
		b = b[i+1:]
	}
}

// End ends the stream for a reader that wants what a cut stream carried, which a browser
// discards: it takes the last line even without its line ending, then dispatches the event
// even without its closing blank line. Feed may be called again afterwards; it continues as at
// the start of an event (a BOM is skipped only at the very start of the stream).
func (p *Parser) End(emit func(*Event)) {
	if !p.bomDone {
		// The stream ended inside what could have been a BOM: those bytes are a line.
		p.bomDone = true
		seen := utf8BOM[:p.bomPart]
		p.bomPart = 0
		p.Feed(seen, nil)
	}
	if len(p.line) > 0 || p.lineOver {
		p.endLine(emit)
	}
	p.afterCR = false
	p.dispatch(emit)
}

// skipBOM drops a UTF-8 byte order mark at the very start of the stream, even when it arrives
// in pieces. Bytes that only looked like the start of a BOM are given back.
func (p *Parser) skipBOM(b []byte) []byte {
	for len(b) > 0 && p.bomPart < len(utf8BOM) {
		if b[0] != utf8BOM[p.bomPart] {
			// Not a BOM after all: replay what was swallowed, then the rest.
			p.bomDone = true
			seen := utf8BOM[:p.bomPart]
			p.bomPart = 0
			if len(seen) > 0 {
				p.Feed(seen, nil)
			}
			return b
		}
		p.bomPart++
		b = b[1:]
	}
	if p.bomPart == len(utf8BOM) {
		p.bomDone = true
	}
	return b
}

func (p *Parser) appendLine(b []byte) {
	if p.lineOver {
		return
	}
	if room := p.maxLine() - len(p.line); len(b) > room {
		b = b[:room]
		p.lineOver = true
	}
	p.line = append(p.line, b...)
}

// endLine processes the line kept across Feed calls and empties it.
func (p *Parser) endLine(emit func(*Event)) {
	p.processLine(p.line, p.lineOver, emit)
	p.line = p.line[:0]
	p.lineOver = false
}

func (p *Parser) processLine(line []byte, over bool, emit func(*Event)) {
	if len(line) == 0 && !over {
		p.dispatch(emit)
		return
	}
	if line[0] == ':' {
		return // comment
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "data":
		p.hasData = true
		if over {
			p.dataOver = true
		}
		if p.dataOver {
			return
		}
		if room := p.maxLine() - len(p.data); len(value)+1 > room {
			if room > 0 {
				p.data = append(p.data, value[:room]...)
			}
			p.dataOver = true
			return
		}
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
	case "event":
		p.typ = append(p.typ[:0], value...)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			p.id = append(p.id[:0], value...)
		}
	default:
		if p.OtherField != nil {
			p.OtherField(field, value)
		}
	}
}

func (p *Parser) dispatch(emit func(*Event)) {
	if !p.hasData {
		p.typ = p.typ[:0]
		return
	}
	data := p.data
	if !p.dataOver && len(data) > 0 && data[len(data)-1] == '\n' {
		data = data[:len(data)-1]
	}
	if emit != nil {
		p.ev = Event{Type: p.typ, Data: data, ID: p.id, Truncated: p.dataOver}
		emit(&p.ev)
	}
	p.data = p.data[:0]
	p.hasData = false
	p.dataOver = false
	p.typ = p.typ[:0]
}
