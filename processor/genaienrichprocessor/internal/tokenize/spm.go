// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tokenize

import (
	"fmt"
	"strings"
	"sync"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// SPM is a SentencePiece tokenizer built from a GGUF file's vocabulary. It is safe for
// concurrent use.
type SPM struct {
	texts          []string // token text by id ("[EMPTY_<id>]" for an empty one)
	scores         []float32
	attrs          []attr
	vocab          *vocabTrie // text_to_token, walked incrementally
	addSpacePrefix bool
	// byteToken is llama_vocab::byte_to_token: "<0xXX>", else the one-byte text; where neither
	// exists llama.cpp throws, and the unknown token (or nothing, noToken) stands in.
	byteToken [256]int32

	specials []int32     // the special tokens cache, in llama.cpp's order
	trie     specialTrie // finds which specials occur in a text

	scratch sync.Pool // *session
}

// NewSPM builds a tokenizer from an opened GGUF file: tokenizer.ggml.tokens, .scores,
// .token_type, .add_space_prefix (true when absent), the unknown and other special token ids,
// general.name and tokenizer.ggml.pre (which select per-model attributes in llama.cpp). It
// returns an error naming the key when the vocabulary is not a SentencePiece ("llama") one or is
// malformed; f can be closed afterwards.
func NewSPM(f *gguf.File) (*SPM, error) {
	if f == nil {
		return nil, fmt.Errorf("tokenize: no GGUF file")
	}
	v, err := readVocab(f)
	if err != nil {
		return nil, err
	}
	addSpacePrefix := true
	if val, ok := f.KV(keyAddSpacePrefix); ok {
		b, ok := val.Bool()
		if !ok {
			return nil, fmt.Errorf("tokenize: %s is a %s, want a bool", keyAddSpacePrefix, describe(val))
		}
		addSpacePrefix = b
	}
	specials := v.markSpecial(f)
	if err := v.markStrip(f, specials); err != nil {
		return nil, err
	}

	t := &SPM{
		texts: v.texts, scores: v.scores, attrs: v.attrs,
		addSpacePrefix: addSpacePrefix, specials: specials,
	}
	t.vocab = newVocabTrie(t.texts)
	unk := specialID(f, gguf.KeyUNKTokenID, 0, len(t.texts)) // SPM default: 0
	const hex = "0123456789ABCDEF"
	for b := range 256 {
		t.byteToken[b] = unk
		if id, ok := v.ids[string([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})]; ok {
			t.byteToken[b] = id
		} else if id, ok := v.ids[string([]byte{byte(b)})]; ok {
			t.byteToken[b] = id
		}
	}
	t.trie = newSpecialTrie(t.texts, specials)
	t.scratch.New = func() any { return &session{} }
	return t, nil
}

// VocabSize returns the number of tokens; every id Tokenize returns is below it.
func (t *SPM) VocabSize() int { return len(t.texts) }

// MaxTextLen is the longest text Tokenize takes: 512 MiB, which escaped (' ' becomes 3 bytes)
// still fits the 32-bit offsets of its symbols.
const MaxTextLen = 1 << 29

// maxTextLen is MaxTextLen, lowered by tests.
var maxTextLen = MaxTextLen

// Tokenize returns the token ids of text as llama-server's POST /tokenize {"content": text}
// returns them: no BOS (add_special false), and the text of a special token (for example "</s>")
// becomes that token (parse_special true). Invalid UTF-8 is tokenized as llama.cpp's tokenizer
// would (the server itself refuses such JSON). It returns nil for a text longer than MaxTextLen.
func (t *SPM) Tokenize(text string) []int32 {
	if text == "" {
		return []int32{}
	}
	if len(text) > maxTextLen {
		return nil
	}
	s := t.scratch.Get().(*session)
	s.out = s.out[:0]
	prevSpecial := true // the first fragment gets the space prefix
	for _, fr := range t.partition(text, s) {
		if fr.token != noToken {
			s.out = append(s.out, fr.token)
			prevSpecial = true
			continue
		}
		t.encode(s, text[fr.off:fr.off+fr.n], t.addSpacePrefix && prevSpecial)
		prevSpecial = false
	}
	out := make([]int32, len(s.out))
	copy(out, s.out)
	t.scratch.Put(s)
	return out
}

// session is the scratch space of one Tokenize call, kept in a sync.Pool.
type session struct {
	buf   []byte     // the escaped fragment
	syms  []symbol   // llm_symbol
	queue []bigram   // the priority queue's storage
	frags []fragment // partition result
	next  []fragment // partition work list
	cands []int32    // indexes into SPM.specials of the special tokens in the text
	out   []int32
}

// symbol is llm_symbol: a piece of session.buf, linked to its neighbours (-1 at the ends); n is
// 0 once merged into the symbol on its left. node is the vocabTrie node of its text, or -1 when
// no token starts with it.
type symbol struct {
	prev, next int32
	start, n   int32
	node       int32
}

const escapedSpace = "\u2581" // "▁", llama_escape_whitespace's replacement of ' '

// encode is llm_tokenizer_spm_session::tokenize on one raw text fragment, appending to s.out.
func (t *SPM) encode(s *session, text string, spacePrefix bool) {
	buf := s.buf[:0]
	if spacePrefix {
		buf = append(buf, escapedSpace...)
	}
	for len(text) > 0 {
		i := strings.IndexByte(text, ' ')
		if i < 0 {
			buf = append(buf, text...)
			break
		}
		buf = append(buf, text[:i]...)
		buf = append(buf, escapedSpace...)
		text = text[i+1:]
	}
	s.buf = buf

	// Split into UTF-8 characters by the lead byte alone; the last one may be cut short.
	syms := s.syms[:0]
	for off := 0; off < len(buf); {
		n := min(utf8Len(buf[off]), len(buf)-off)
		i := int32(len(syms))
		node := t.vocab.walk(0, buf[off:off+n])
		syms = append(syms, symbol{prev: i - 1, next: i + 1, start: int32(off), n: int32(n), node: node})
		off += n
	}
	syms[len(syms)-1].next = -1
	s.syms = syms

	// Seed the queue with every adjacent pair that is a token, then merge the best pair while
	// there is one.
	s.queue = s.queue[:0]
	for i := 1; i < len(syms); i++ {
		t.tryAddBigram(s, int32(i-1), int32(i))
	}
	for len(s.queue) > 0 {
		var b bigram
		b, s.queue = heapPop(s.queue)
		left, right := &syms[b.left], &syms[b.right]
		// Skip a pair of which one symbol has been merged since it was queued.
		if left.n == 0 || right.n == 0 || left.n+right.n != b.size {
			continue
		}
		left.n += right.n
		left.node = b.node
		right.n = 0
		left.next = right.next
		if right.next >= 0 {
			syms[right.next].prev = b.left
		}
		t.tryAddBigram(s, left.prev, b.left)
		t.tryAddBigram(s, b.left, left.next)
	}

	// resegment: a symbol is a token (every merged one is), or it is output byte by byte.
	for i := int32(0); i != -1; i = syms[i].next {
		if node := syms[i].node; node >= 0 {
			if id := t.vocab.token[node]; id != noToken {
				s.out = append(s.out, id)
				continue
			}
		}
		for _, c := range buf[syms[i].start : syms[i].start+syms[i].n] {
			if id := t.byteToken[c]; id != noToken {
				s.out = append(s.out, id)
			}
		}
	}
}

// tryAddBigram is llm_tokenizer_spm_session::try_add_bigram.
func (t *SPM) tryAddBigram(s *session, left, right int32) {
	if left == -1 || right == -1 {
		return
	}
	l, r := &s.syms[left], &s.syms[right]
	if l.node < 0 {
		return
	}
	node := t.vocab.walk(l.node, s.buf[r.start:r.start+r.n])
	if node < 0 {
		return
	}
	id := t.vocab.token[node]
	if id == noToken {
		return
	}
	s.queue = heapPush(s.queue, bigram{left: left, right: right, score: t.scores[id], size: l.n + r.n, node: node})
}

// fragment is fragment_buffer_variant: a special token, or the raw text text[off:off+n].
type fragment struct {
	token  int32 // noToken for raw text
	off, n int
}

// partition is llama_vocab::impl::tokenizer_st_partition with parse_special true: every special
// token, in cache order, splits the raw fragments at its leftmost non-overlapping occurrences.
// Only the specials that occur in text somewhere are tried: the others cannot split anything.
func (t *SPM) partition(text string, s *session) []fragment {
	frags := append(s.frags[:0], fragment{token: noToken, off: 0, n: len(text)})
	s.cands = t.trie.find(text, s.cands[:0])
	for _, k := range s.cands {
		id := t.specials[k]
		tok, a := t.texts[id], t.attrs[id]
		next := s.next[:0]
		for _, fr := range frags {
			if fr.token != noToken {
				next = append(next, fr)
				continue
			}
			off, n := fr.off, fr.n
			for {
				i := strings.Index(text[off:off+n], tok)
				if i < 0 {
					if n > 0 {
						next = append(next, fragment{token: noToken, off: off, n: n})
					}
					break
				}
				left := i
				if a&attrLStrip != 0 {
					for left > 0 && isSpace(text[off+left-1]) {
						left--
					}
				}
				if left > 0 {
					next = append(next, fragment{token: noToken, off: off, n: left})
				}
				next = append(next, fragment{token: id, off: off + i, n: len(tok)})
				rOff, rN := off+i+len(tok), n-i-len(tok)
				if rN <= 0 {
					break
				}
				if a&attrRStrip != 0 {
					for rN > 0 && isSpace(text[rOff]) {
						rOff++
						rN--
					}
				}
				off, n = rOff, rN
			}
		}
		s.next, s.frags = frags, next
		frags = next
	}
	s.frags = frags
	return frags
}
