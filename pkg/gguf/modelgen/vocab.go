// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package modelgen

import "fmt"

// Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_attr
// numbering in GGUF files).
const (
	tokenNormal  int32 = 1
	tokenUnknown int32 = 2
	tokenControl int32 = 3
	tokenByte    int32 = 6
)

// Special token ids.
const (
	unkID uint32 = 0
	bosID uint32 = 1
	eosID uint32 = 2
)

// pieces are the word pieces after the byte tokens. They are chosen so
// that SentencePiece merges can build every one of them from the ones
// before it ("▁t" + "he" = "▁the"); "▁" (U+2581) stands for a space. With
// them the vocabulary has 275 tokens.
var pieces = []string{
	"▁", "e", "t", "a", "o", "n", "i", "s",
	"r", "h", "l", "▁t", "he", "in", "er", "▁the",
}

// vocabSize is the number of tokens: <unk>, <s>, </s>, 256 bytes, pieces.
var vocabSize = 3 + 256 + len(pieces)

// vocabulary returns the token texts, scores and types: <unk>, <s>, </s>,
// the 256 byte tokens <0x00>..<0xFF>, then the word pieces, whose scores
// fall with their position so that earlier pieces merge first.
func vocabulary() (tokens []string, scores []float32, types []int32) {
	add := func(text string, score float32, typ int32) {
		tokens = append(tokens, text)
		scores = append(scores, score)
		types = append(types, typ)
	}
	add("<unk>", 0, tokenUnknown)
	add("<s>", 0, tokenControl)
	add("</s>", 0, tokenControl)
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), 0, tokenByte)
	}
	for i, p := range pieces {
		add(p, -float32(i+1), tokenNormal)
	}
	return tokens, scores, types
}
