// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tokenize

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// Ids of modelgen's vocabulary: <unk> 0, <s> 1, </s> 2, <0xXX> 3+XX, then the pieces, whose
// scores fall with their position (-1, -2, ...).
const (
	unk, bos, eos = 0, 1, 2
	pSpace        = 259 // "▁" -1
	pE            = 260 // "e" -2
	pT            = 261 // "t" -3
	pA            = 262 // "a" -4
	pO            = 263 // "o" -5
	pN            = 264 // "n" -6
	pI            = 265 // "i" -7
	pS            = 266 // "s" -8
	pR            = 267 // "r" -9
	pH            = 268 // "h" -10
	pL            = 269 // "l" -11
	pSpaceT       = 270 // "▁t" -12
	pHe           = 271 // "he" -13
	pIn           = 272 // "in" -14
	pEr           = 273 // "er" -15
	pSpaceThe     = 274 // "▁the" -16
)

// byteID is the id of the byte token <0xXX> in modelgen's vocabulary.
func byteID(b byte) int32 { return 3 + int32(b) }

// modelgenPieces are modelgen's word pieces, for vocabularies built here with its shape.
var modelgenPieces = []string{"▁", "e", "t", "a", "o", "n", "i", "s", "r", "h", "l", "▁t", "he", "in", "er", "▁the"}

// modelgenLike returns modelgen's vocabulary, built here so that tests can change it.
func modelgenLike() *vocabSpec {
	v := baseVocab()
	for i, p := range modelgenPieces {
		v.add(p, -float32(i+1), typNormal)
	}
	return v
}

func TestTokenizeModelgenVocabulary(t *testing.T) {
	tok := openSPM(t, llamatest.TinyModel(t))
	require.Equal(t, 275, tok.VocabSize())
	for _, c := range []struct {
		text string
		want []int32
		why  string
	}{
		{"", []int32{}, "no text, no tokens (and no space prefix)"},
		{"the", []int32{pSpaceThe}, "▁t (-12) merges first, then he (-13), then ▁t+he = ▁the"},
		{"the theater", []int32{pSpaceThe, pSpaceThe, pA, pT, pEr},
			"▁the▁theater: the two ▁t, the two he, er, then the two ▁the; a and t stay alone"},
		{"there", []int32{pSpaceThe, pR, pE},
			"he (at h) merges before er (at e), which is then stale: its left symbol was merged"},
		{"in", []int32{pSpace, pIn}, "in merges; ▁in is not a token"},
		{"inner", []int32{pSpace, pIn, pN, pEr}, "in, then er; nothing else is a token"},
		{"hello</s>", []int32{pSpace, pHe, pL, pL, pO, eos}, "</s> is a control token and becomes itself"},
		{"Hi", []int32{pSpace, byteID('H'), pI}, "H is not a token: byte fallback to <0x48>"},
		{" ", []int32{pSpace, pSpace}, "the space prefix, then the space itself, both ▁"},
		{"a  b", []int32{pSpace, pA, pSpace, pSpace, byteID('b')}, "▁a▁▁b; ▁▁ is not a token"},
		{"\n", []int32{pSpace, byteID('\n')}, "a newline is the byte token <0x0A>"},
		{"é", []int32{pSpace, byteID(0xC3), byteID(0xA9)}, "an unknown character falls back to its UTF-8 bytes"},
		{"\u2581", []int32{pSpace, pSpace}, "a literal ▁ in the text is the ▁ token"},
		{"<s>hi</s>", []int32{bos, pSpace, pH, pI, eos}, "text after a special token gets the space prefix"},
		{"a<unk>", []int32{pSpace, pA, unk}, "<unk> (UNKNOWN) is special too"},
		{"<s><s>", []int32{bos, bos}, "no raw text between them"},
		{"<s", []int32{pSpace, byteID('<'), pS}, "an incomplete special token is text"},
		{"\xff", []int32{pSpace, byteID(0xFF)}, "invalid UTF-8: lead byte 0xFF claims 4 bytes, cut to the 1 left"},
		{"\xf0ab", []int32{pSpace, byteID(0xF0), byteID('a'), byteID('b')},
			"lead byte 0xF0 takes 'a' and 'b' into its symbol, which is no token: three byte tokens"},
		{"\xe2\x96", []int32{pSpace, byteID(0xE2), byteID(0x96)}, "a cut-off ▁ is two byte tokens"},
		{"a\x80b", []int32{pSpace, pA, byteID(0x80), byteID('b')}, "a stray continuation byte is a symbol of its own"},
	} {
		assert.Equal(t, c.want, tok.Tokenize(c.text), "%q: %s", c.text, c.why)
	}
}

func TestTokenizeWithoutSpacePrefix(t *testing.T) {
	v := modelgenLike()
	v.kvs[keyAddSpacePrefix] = false
	tok := newSPM(t, v)
	// the▁theater: he, ▁t, he, er; then ▁t+he = ▁the; the leading t stays alone.
	assert.Equal(t, []int32{pT, pHe, pSpaceThe, pA, pT, pEr}, tok.Tokenize("the theater"))
	assert.Equal(t, []int32{bos, pT, pHe}, tok.Tokenize("<s>the"), "no prefix after a special token either")
	assert.Equal(t, []int32{pSpace}, tok.Tokenize(" "))
}

func TestTiesGoToTheLeftmostPair(t *testing.T) {
	v := baseVocab()
	v.kvs[keyAddSpacePrefix] = false
	ab, bc, aa, c := int32(len(v.tokens)), int32(len(v.tokens)+1), int32(len(v.tokens)+2), int32(len(v.tokens)+3)
	a := byteID('a')
	v.add("ab", 0, typNormal)
	v.add("bc", 0, typNormal)
	v.add("aa", 0, typNormal)
	v.add("c", -1, typNormal)
	tok := newSPM(t, v)
	assert.Equal(t, []int32{ab, c}, tok.Tokenize("abc"), "ab and bc tie: ab is further left")
	assert.Equal(t, []int32{aa, a}, tok.Tokenize("aaa"), "aa at 0 beats aa at 1")
	assert.Equal(t, []int32{aa, aa}, tok.Tokenize("aaaa"))
	assert.Equal(t, []int32{byteID('x'), bc}, tok.Tokenize("xbc"), "bc alone")
}

func TestSpecialTokens(t *testing.T) {
	v := modelgenLike()
	abc, ab := int32(len(v.tokens)), int32(len(v.tokens)+1)
	v.add("abc", 0, typUserDefined)
	v.add("ab", 0, typUserDefined)
	imEnd := int32(len(v.tokens))
	v.add("<|im_end|>", 0, typNormal) // CONTROL by llama.cpp's EOG text list
	channel := int32(len(v.tokens))
	v.add("<|channel|>", 0, typControl) // USER_DEFINED by the gpt-oss hack: still special
	unused := int32(len(v.tokens))
	v.add("<unused>", 0, typUnused) // not special
	empty := int32(len(v.tokens))
	v.add("", 0, typControl)
	tok := newSPM(t, v)

	assert.Equal(t, []int32{abc, ab}, tok.Tokenize("abcab"), "the longer special token splits first")
	assert.Equal(t, []int32{pSpace, byteID('x'), ab, pSpace, byteID('x')}, tok.Tokenize("xabx"))
	assert.Equal(t, []int32{imEnd}, tok.Tokenize("<|im_end|>"))
	assert.Equal(t, []int32{channel}, tok.Tokenize("<|channel|>"))
	assert.NotContains(t, tok.Tokenize("<unused>"), unused, "an UNUSED token's text is just text")
	assert.Equal(t, []int32{empty}, tok.Tokenize(fmt.Sprintf("[EMPTY_%d]", empty)), "an empty token is named [EMPTY_<id>]")
	assert.Equal(t, attrControl|attrNormal, tok.attrs[imEnd])
	assert.Equal(t, attrUserDefined, tok.attrs[channel])
}

func TestStripAttributes(t *testing.T) {
	t.Run("phi-3 rstrip", func(t *testing.T) {
		v := modelgenLike()
		v.kvs[gguf.KeyName] = "Phi-3-mini-4k-instruct"
		eot := int32(len(v.tokens))
		v.add("<|endoftext|>", 0, typControl)
		end := int32(len(v.tokens))
		v.add("<|end|>", 0, typControl)
		tok := newSPM(t, v)
		// <|end|> strips the whitespace on its right; the text after it still gets "▁".
		assert.Equal(t, []int32{pSpace, pA, pSpace, end, pSpace, pA}, tok.Tokenize("a <|end|> \n\ta"))
		// <s>, <unk> and <|endoftext|> keep it; </s> strips it.
		assert.Equal(t, []int32{bos, pSpace, pSpace, pA}, tok.Tokenize("<s> a"))
		assert.Equal(t, []int32{eot, pSpace, pSpace, pA}, tok.Tokenize("<|endoftext|> a"))
		assert.Equal(t, []int32{eos, pSpace, pA}, tok.Tokenize("</s> a"))
		assert.Equal(t, []int32{end}, tok.Tokenize("<|end|>   "), "nothing left after stripping")
	})
	t.Run("jina lstrip", func(t *testing.T) {
		v := modelgenLike()
		v.kvs[keyTokenizerPre] = "jina-v2-de"
		mask := int32(len(v.tokens))
		v.add("<mask>", 0, typUserDefined)
		tok := newSPM(t, v)
		assert.Equal(t, []int32{pSpace, pA, mask, pSpace, pSpace, pA}, tok.Tokenize("a \t <mask> a"))
		assert.Equal(t, []int32{mask}, tok.Tokenize("  <mask>"), "a left side of only whitespace disappears")
	})
}

func TestByteFallback(t *testing.T) {
	t.Run("one-byte text", func(t *testing.T) {
		v := modelgenLike()
		v.tokens[byteID(0xC3)] = "\xc3" // no <0xC3>, but the one-byte text
		tok := newSPM(t, v)
		assert.Equal(t, []int32{pSpace, byteID(0xC3), byteID(0xA9)}, tok.Tokenize("é"))
	})
	t.Run("neither", func(t *testing.T) {
		// llama.cpp throws (llama-server answers 500); Tokenize gives the unknown token.
		v := modelgenLike()
		v.tokens[byteID(0xC3)] = "<0xC3>x"
		tok := newSPM(t, v)
		assert.Equal(t, []int32{pSpace, unk, byteID(0xA9)}, tok.Tokenize("é"))
		v.kvs[gguf.KeyUNKTokenID] = uint32(pA)
		assert.Equal(t, []int32{pSpace, pA, byteID(0xA9)}, newSPM(t, v).Tokenize("é"), "unknown_token_id is honoured")
	})
}

func TestScoresAndTypesAreOptional(t *testing.T) {
	v := modelgenLike()
	v.kvs[gguf.KeyScores] = nil
	v.kvs[gguf.KeyTokenType] = nil
	tok := newSPM(t, v)
	// All scores are 0 (ties go to the left) and no token is special: "<s>" is plain text.
	assert.Equal(t, []int32{pSpaceThe}, tok.Tokenize("the"))
	assert.NotContains(t, tok.Tokenize("<s>"), int32(bos))

	v = modelgenLike()
	scores := make([]int32, len(v.scores))
	for i, s := range v.scores {
		scores[i] = int32(s)
	}
	v.kvs[gguf.KeyScores] = scores // newer llama.cpp accepts int32 scores
	assert.Equal(t, []int32{pSpaceThe}, newSPM(t, v).Tokenize("the"))
}

func TestNewSPMErrors(t *testing.T) {
	_, err := NewSPM(nil)
	require.Error(t, err)
	for _, c := range []struct {
		name   string
		change func(v *vocabSpec)
		key    string
	}{
		{"no model", func(v *vocabSpec) { v.kvs[gguf.KeyTokenizerModel] = nil }, gguf.KeyTokenizerModel},
		{"gpt2", func(v *vocabSpec) { v.kvs[gguf.KeyTokenizerModel] = "gpt2" }, gguf.KeyTokenizerModel},
		{"model not a string", func(v *vocabSpec) { v.kvs[gguf.KeyTokenizerModel] = uint32(1) }, gguf.KeyTokenizerModel},
		{"no tokens", func(v *vocabSpec) { v.kvs[gguf.KeyTokens] = nil }, gguf.KeyTokens},
		{"tokens not strings", func(v *vocabSpec) { v.kvs[gguf.KeyTokens] = []int32{1, 2} }, gguf.KeyTokens},
		{"empty vocabulary", func(v *vocabSpec) { v.kvs[gguf.KeyTokens] = []string{} }, gguf.KeyTokens},
		{"duplicate token", func(v *vocabSpec) { v.tokens[pE] = "a" }, gguf.KeyTokens},
		{"empty token named like another", func(v *vocabSpec) { v.tokens[pE] = ""; v.tokens[pT] = "[EMPTY_260]" }, gguf.KeyTokens},
		{"scores float64", func(v *vocabSpec) { v.kvs[gguf.KeyScores] = make([]float64, len(v.tokens)) }, gguf.KeyScores},
		{"too few scores", func(v *vocabSpec) { v.kvs[gguf.KeyScores] = v.scores[:10] }, gguf.KeyScores},
		{"too few int32 scores", func(v *vocabSpec) { v.kvs[gguf.KeyScores] = []int32{1} }, gguf.KeyScores},
		{"types uint8", func(v *vocabSpec) { v.kvs[gguf.KeyTokenType] = make([]uint8, len(v.tokens)) }, gguf.KeyTokenType},
		{"too few types", func(v *vocabSpec) { v.kvs[gguf.KeyTokenType] = v.types[:3] }, gguf.KeyTokenType},
		{"add_space_prefix not a bool", func(v *vocabSpec) { v.kvs[keyAddSpacePrefix] = "yes" }, keyAddSpacePrefix},
		{"phi-3 without <|endoftext|>", func(v *vocabSpec) { v.kvs[gguf.KeyName] = "phi3-mini" }, gguf.KeyName},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := modelgenLike()
			c.change(v)
			_, err := NewSPM(vocabFile(t, v))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.key)
		})
	}
}

func TestOutOfRangeSpecialIDsAreIgnored(t *testing.T) {
	v := modelgenLike()
	v.kvs[gguf.KeyUNKTokenID] = uint32(100000)
	v.kvs[gguf.KeyEOSTokenID] = uint32(100000)
	v.kvs["tokenizer.ggml.fim_pad_token_id"] = uint32(1 << 31)
	v.tokens[byteID(0xC3)] = "<0xC3>x"
	tok := newSPM(t, v)
	assert.Equal(t, []int32{pSpace, unk, byteID(0xA9)}, tok.Tokenize("é"), "an invalid unknown_token_id keeps the default 0")
}

func TestConcurrentUse(t *testing.T) {
	tok := newSPM(t, richVocab())
	cases := conformanceCases()
	want := make([][]int32, len(cases))
	for i, s := range cases {
		want[i] = tok.Tokenize(s)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range cases {
				j := (i + g*37) % len(cases)
				if got := tok.Tokenize(cases[j]); !assert.Equal(t, want[j], got) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestTextTooLong(t *testing.T) {
	tok := newSPM(t, modelgenLike())
	defer func(n int) { maxTextLen = n }(maxTextLen)
	maxTextLen = 8
	assert.Nil(t, tok.Tokenize("123456789"))
	assert.Equal(t, []int32{pSpaceThe, pSpaceThe}, tok.Tokenize("the the"), "7 bytes: within the limit")
}
