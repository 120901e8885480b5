// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tokenize

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// attr is llama.cpp's llama_token_attr bit set.
type attr uint16

const (
	attrUnknown     attr = 1 << 0
	attrUnused      attr = 1 << 1
	attrNormal      attr = 1 << 2
	attrControl     attr = 1 << 3
	attrUserDefined attr = 1 << 4
	attrByte        attr = 1 << 5
	attrLStrip      attr = 1 << 7
	attrRStrip      attr = 1 << 8

	// attrSpecial are the attributes that put a token into the special tokens cache.
	attrSpecial = attrControl | attrUserDefined | attrUnknown
)

// attrOfType maps a tokenizer.ggml.token_type value (llama_token_type) to its attribute, as
// llama_vocab::impl::load does; unknown types are UNDEFINED (no attribute).
func attrOfType(t int32) attr {
	switch t {
	case 1:
		return attrNormal
	case 2:
		return attrUnknown
	case 3:
		return attrControl
	case 4:
		return attrUserDefined
	case 5:
		return attrUnused
	case 6:
		return attrByte
	}
	return 0
}

// Metadata keys that NewSPM reads besides those named in pkg/gguf.
const (
	keyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
	keyTokenizerPre   = "tokenizer.ggml.pre"
)

// noToken is LLAMA_TOKEN_NULL.
const noToken int32 = -1

// vocab is what NewSPM reads from a GGUF file, before the tokenizer's own tables are built.
type vocab struct {
	texts  []string
	scores []float32
	attrs  []attr
	ids    map[string]int32
}

// readVocab reads and checks the tokenizer metadata of f the way llama_vocab::impl::load does.
func readVocab(f *gguf.File) (*vocab, error) {
	model, ok := f.KV(gguf.KeyTokenizerModel)
	if !ok {
		return nil, fmt.Errorf("tokenize: %s is missing", gguf.KeyTokenizerModel)
	}
	name, ok := model.Str()
	if !ok {
		return nil, fmt.Errorf("tokenize: %s is a %s, want a string", gguf.KeyTokenizerModel, model.Type())
	}
	if name != "llama" {
		return nil, fmt.Errorf("tokenize: %s is %q: not a SentencePiece (\"llama\") vocabulary", gguf.KeyTokenizerModel, name)
	}

	tv, ok := f.KV(gguf.KeyTokens)
	if !ok {
		return nil, fmt.Errorf("tokenize: %s is missing", gguf.KeyTokens)
	}
	texts, ok := tv.Strings()
	if !ok {
		return nil, fmt.Errorf("tokenize: %s is a %s, want an array of strings", gguf.KeyTokens, describe(tv))
	}
	n := len(texts)
	if n == 0 {
		return nil, fmt.Errorf("tokenize: %s is empty", gguf.KeyTokens)
	}
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("tokenize: %s has %d tokens, more than token ids can number", gguf.KeyTokens, n)
	}

	v := &vocab{texts: texts, scores: make([]float32, n), attrs: make([]attr, n), ids: make(map[string]int32, n)}
	if sv, ok := f.KV(gguf.KeyScores); ok {
		switch s := sv.Any().(type) {
		case []float32:
			if len(s) < n {
				return nil, fmt.Errorf("tokenize: %s has %d scores for %d tokens", gguf.KeyScores, len(s), n)
			}
			copy(v.scores, s)
		case []int32:
			if len(s) < n {
				return nil, fmt.Errorf("tokenize: %s has %d scores for %d tokens", gguf.KeyScores, len(s), n)
			}
			for i := range n {
				v.scores[i] = float32(s[i])
			}
		default:
			return nil, fmt.Errorf("tokenize: %s is a %s, want an array of float32 or int32", gguf.KeyScores, describe(sv))
		}
	}
	if yv, ok := f.KV(gguf.KeyTokenType); ok {
		types, ok := yv.Any().([]int32)
		if !ok {
			return nil, fmt.Errorf("tokenize: %s is a %s, want an array of int32", gguf.KeyTokenType, describe(yv))
		}
		if len(types) < n {
			return nil, fmt.Errorf("tokenize: %s has %d types for %d tokens", gguf.KeyTokenType, len(types), n)
		}
		for i := range n {
			v.attrs[i] = attrOfType(types[i])
		}
	} else {
		for i := range n {
			v.attrs[i] = attrNormal
		}
	}
	for i, text := range texts {
		if text == "" {
			text = "[EMPTY_" + strconv.Itoa(i) + "]"
			texts[i] = text
		}
		if prev, dup := v.ids[text]; dup {
			// llama.cpp refuses the model: its token_to_id map would be smaller than the vocabulary.
			return nil, fmt.Errorf("tokenize: %s has the token %q twice (ids %d and %d)", gguf.KeyTokens, text, prev, i)
		}
		v.ids[text] = int32(i)
	}
	return v, nil
}

// describe names the GGUF type of v for error messages ("array of uint8", "string").
func describe(v gguf.Value) string {
	if v.Type() == gguf.ValueTypeArray {
		return "array of " + v.ElemType().String()
	}
	return v.Type().String()
}

// specialID is a special token id of llama_vocab::impl::load: a default, replaced by the value of
// key when that is a valid id. A default outside the vocabulary is disabled.
func specialID(f *gguf.File, key string, def int32, n int) int32 {
	if def >= int32(n) {
		def = noToken
	}
	v, ok := f.KV(key)
	if !ok {
		return def
	}
	u, ok := v.Uint()
	if !ok || u >= uint64(n) {
		return def
	}
	return int32(u)
}

// Texts by which llama_vocab::impl::load recognises special tokens when the model does not name
// them; a match that is not a CONTROL token becomes one.
var (
	eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	eomTexts    = []string{"<|eom_id|>"}
	fimPreTexts = []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
		"▁<PRE>", "<|code_prefix|>", "<|prefix|>"}
	fimSufTexts = []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
		"▁<SUF>", "<|code_suffix|>", "<|suffix|>"}
	fimMidTexts = []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
		"▁<MID>", "<|code_middle|>", "<|middle|>"}
	fimPadTexts = []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}
	fimRepTexts = []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}
	fimSepTexts = []string{"<|file_sep|>"}
	eogTexts    = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
		"<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]",
		"[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
		"<｜end▁of▁sentence｜>", "[e~["}
	// userDefinedTexts are the gpt-oss tokens that llama.cpp always renders ("quick hack").
	userDefinedTexts = []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}
)

// markSpecial applies the text-based detection of llama_vocab::impl::load to v.attrs. It returns
// the special tokens cache: the CONTROL, USER_DEFINED and UNKNOWN tokens in llama.cpp's order.
func (v *vocab) markSpecial(f *gguf.File) []int32 {
	n := len(v.texts)
	id := func(key string, def int32) int32 { return specialID(f, key, def, n) }
	eos := id(gguf.KeyEOSTokenID, 2) // SPM default
	eot := id("tokenizer.ggml.eot_token_id", noToken)
	eom := id("tokenizer.ggml.eom_token_id", noToken)
	fim := [6]int32{
		id("tokenizer.ggml.fim_pre_token_id", noToken),
		id("tokenizer.ggml.fim_suf_token_id", noToken),
		id("tokenizer.ggml.fim_mid_token_id", noToken),
		id("tokenizer.ggml.fim_pad_token_id", noToken),
		id("tokenizer.ggml.fim_rep_token_id", noToken),
		id("tokenizer.ggml.fim_sep_token_id", noToken),
	}
	// The deprecated keys come last in llama.cpp's list, so they win.
	fim[0] = specialID(f, "tokenizer.ggml.prefix_token_id", fim[0], n)
	fim[1] = specialID(f, "tokenizer.ggml.suffix_token_id", fim[1], n)
	fim[2] = specialID(f, "tokenizer.ggml.middle_token_id", fim[2], n)

	// detect is the "find ... token" loops: when the model names no such token, the first token
	// whose text is in texts becomes it and is made CONTROL. llama.cpp walks an unordered_map,
	// whose order is unspecified; the lowest id is taken here.
	detect := func(cur *int32, texts []string) {
		if *cur != noToken {
			return
		}
		best := noToken
		for _, t := range texts {
			if i, ok := v.ids[t]; ok && (best == noToken || i < best) {
				best = i
			}
		}
		if best != noToken {
			*cur = best
			v.attrs[best] |= attrControl
		}
	}
	detect(&eot, eotTexts)
	detect(&eom, eomTexts)
	for k, texts := range [6][]string{fimPreTexts, fimSufTexts, fimMidTexts, fimPadTexts, fimRepTexts, fimSepTexts} {
		detect(&fim[k], texts)
	}

	eog := map[int32]bool{}
	for _, i := range fim[3:] { // FIM PAD, REP and SEP end generation
		if i != noToken {
			eog[i] = true
		}
	}
	for _, t := range eogTexts {
		if i, ok := v.ids[t]; ok {
			eog[i] = true
			v.attrs[i] |= attrControl
		}
	}
	for _, t := range userDefinedTexts {
		if i, ok := v.ids[t]; ok {
			v.attrs[i] = attrUserDefined
		}
	}
	for _, i := range []int32{eos, eot, eom} {
		if i != noToken {
			eog[i] = true
		}
	}
	// o200k_harmony and solar-open: "<|end|>" is not an end of generation there.
	var hasReturn, hasCall, hasFlush bool
	end, s, hasToolResponse := noToken, noToken, false
	for i := range eog {
		switch v.texts[i] {
		case "<|return|>":
			hasReturn = true
		case "<|call|>", "<|calls|>":
			hasCall = true
		case "<|flush|>":
			hasFlush = true
		case "<|end|>":
			end = i
		case "<|tool_response>":
			hasToolResponse = true
		case "</s>":
			s = i
		}
	}
	if end != noToken && ((hasReturn && hasCall) || (hasCall && hasFlush)) {
		v.attrs[end] = attrUserDefined
	}
	// gemma4 and paddleocr: "</s>" is not an end of generation there.
	if hasToolResponse && s != noToken {
		v.attrs[s] = attrNormal
	}

	var cache []int32
	for i := range n {
		if v.attrs[i]&attrSpecial != 0 {
			cache = append(cache, int32(i))
		}
	}
	cxxSort(cache, func(a, b int32) bool { return len(v.texts[a]) > len(v.texts[b]) })
	return cache
}

// markStrip applies the per-model LSTRIP/RSTRIP attributes of llama_vocab::impl::load ("Handle
// per token attributes"), chosen by general.name, tokenizer.ggml.pre and general.architecture.
func (v *vocab) markStrip(f *gguf.File, cache []int32) error {
	str := func(key string) string {
		val, _ := f.KV(key)
		s, _ := val.Str()
		return s
	}
	name := asciiLower(str(gguf.KeyName))
	pre := str(keyTokenizerPre)
	arch := str(gguf.KeyArchitecture)
	switch {
	case containsAny(pre, "jina-v2-de", "jina-v2-es", "jina-v2-code") || containsAny(arch, "nomic-bert-moe", "jina-bert-v3"):
		if i, ok := v.ids["<mask>"]; ok {
			v.attrs[i] |= attrLStrip
		}
	case containsAny(name, "phi-3", "phi3"):
		for _, i := range cache {
			v.attrs[i] |= attrRStrip
		}
		// llama.cpp looks these up with unordered_map::at: the model fails to load without them.
		for _, t := range []string{"</s>", "<unk>", "<s>", "<|endoftext|>"} {
			if _, ok := v.ids[t]; !ok {
				return fmt.Errorf("tokenize: %s %q selects llama.cpp's Phi-3 token attributes, but %s has no %q token",
					gguf.KeyName, str(gguf.KeyName), gguf.KeyTokens, t)
			}
		}
		v.attrs[v.ids["</s>"]] |= attrRStrip
		for _, t := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			v.attrs[v.ids[t]] &^= attrRStrip
		}
	case containsAny(name, "modern-bert"):
		if i, ok := v.ids["[MASK]"]; ok {
			v.attrs[i] |= attrLStrip
		}
	}
	return nil
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// asciiLower lowercases ASCII letters only, as std::tolower in the "C" locale does byte by byte.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// utf8Len is unicode_len_utf8: the length of a UTF-8 sequence from its lead byte alone.
func utf8Len(c byte) int {
	return int(utf8LenTable[c>>4])
}

var utf8LenTable = [16]uint8{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}

// isSpace is isspace in the "C" locale.
func isSpace(c byte) bool {
	return c == ' ' || ('\t' <= c && c <= '\r')
}
