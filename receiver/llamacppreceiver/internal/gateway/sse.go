package gateway

import "bytes"

// defaultMaxSSELine is the default cap on one line and on one event's data.
const defaultMaxSSELine = 1 << 20

// sseEvent is one dispatched server-sent event. Its slices alias the parser's buffers and are
// valid only during the callback that receives them.
type sseEvent struct {
	// Type is the value of the last `event:` field, empty for the default "message".
	Type []byte
	// Data is the event's data: the `data:` lines joined with LF.
	Data []byte
	// ID is the last event ID seen so far in the stream.
	ID []byte
	// Truncated reports that a line or the data went over the parser's cap and was cut.
	Truncated bool
}

// sseParser splits a text/event-stream into events, following the WHATWG HTML standard, §9.2.6
// "Interpreting an event stream": lines end with CRLF, LF or CR (a CRLF may be split across two
// Feed calls); a leading UTF-8 BOM is skipped; lines starting with a colon are comments; `data:`
// lines accumulate, joined with LF; a blank line dispatches the event unless no data was seen;
// an unterminated event at the end of the stream is discarded, as a browser would.
//
// It is fed byte slices split anywhere, copies only what it must keep across calls, and never
// keeps more than MaxLine bytes of one line or of one event's data: the rest is dropped and the
// event is marked Truncated. The zero value is ready to use. It does not interpret `retry:` and
// does not validate UTF-8.
type sseParser struct {
	// MaxLine caps one line and one event's data, in bytes; 0 means defaultMaxSSELine.
	MaxLine int

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
	ev       sseEvent
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func (p *sseParser) maxLine() int {
	if p.MaxLine > 0 {
		return p.MaxLine
	}
	return defaultMaxSSELine
}

// Feed parses b and calls emit for every event it completes.
func (p *sseParser) Feed(b []byte, emit func(*sseEvent)) {
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
			p.processLine(p.line, p.lineOver, emit)
			p.line = p.line[:0]
			p.lineOver = false
		}
		p.afterCR = b[i] == '\r'
		b = b[i+1:]
	}
}

// skipBOM drops a UTF-8 byte order mark at the very start of the stream, even when it arrives
// in pieces. Bytes that only looked like the start of a BOM are given back.
func (p *sseParser) skipBOM(b []byte) []byte {
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

func (p *sseParser) appendLine(b []byte) {
	if p.lineOver {
		return
	}
	if room := p.maxLine() - len(p.line); len(b) > room {
		b = b[:room]
		p.lineOver = true
	}
	p.line = append(p.line, b...)
}

func (p *sseParser) processLine(line []byte, over bool, emit func(*sseEvent)) {
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
	}
}

func (p *sseParser) dispatch(emit func(*sseEvent)) {
	if !p.hasData {
		p.typ = p.typ[:0]
		return
	}
	data := p.data
	if !p.dataOver && len(data) > 0 && data[len(data)-1] == '\n' {
		data = data[:len(data)-1]
	}
	if emit != nil {
		p.ev = sseEvent{Type: p.typ, Data: data, ID: p.id, Truncated: p.dataOver}
		emit(&p.ev)
	}
	p.data = p.data[:0]
	p.hasData = false
	p.dataOver = false
	p.typ = p.typ[:0]
}
