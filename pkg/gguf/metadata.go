// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

// Well-known metadata keys. Keys that start with a dot are relative to the
// architecture: the full key is the value of general.architecture followed
// by the suffix, as in "llama.context_length".
const (
	KeyArchitecture        = "general.architecture"
	KeyName                = "general.name"
	KeyFileType            = "general.file_type"
	KeyQuantizationVersion = "general.quantization_version"

	KeyContextLength       = ".context_length"
	KeyEmbeddingLength     = ".embedding_length"
	KeyBlockCount          = ".block_count"
	KeyFeedForwardLength   = ".feed_forward_length"
	KeyHeadCount           = ".attention.head_count"
	KeyHeadCountKV         = ".attention.head_count_kv"
	KeyLayerNormRMSEpsilon = ".attention.layer_norm_rms_epsilon"
	KeyRopeDimensionCount  = ".rope.dimension_count"
	KeyRopeFreqBase        = ".rope.freq_base"
	KeyVocabSize           = ".vocab_size"

	KeyTokenizerModel = "tokenizer.ggml.model"
	KeyTokens         = "tokenizer.ggml.tokens"
	KeyScores         = "tokenizer.ggml.scores"
	KeyTokenType      = "tokenizer.ggml.token_type"
	KeyBOSTokenID     = "tokenizer.ggml.bos_token_id"
	KeyEOSTokenID     = "tokenizer.ggml.eos_token_id"
	KeyUNKTokenID     = "tokenizer.ggml.unknown_token_id"
	KeyAddBOSToken    = "tokenizer.ggml.add_bos_token"
	KeyAddEOSToken    = "tokenizer.ggml.add_eos_token"
	KeyChatTemplate   = "tokenizer.chat_template"
)

// KV returns the value of the metadata key. It reports false if the file
// has no such key.
func (f *File) KV(key string) (Value, bool) {
	i, ok := f.kvIdx[key]
	if !ok {
		return Value{}, false
	}
	return f.Metadata[i].Value, true
}

func (f *File) str(key string) (string, bool) {
	v, ok := f.KV(key)
	if !ok {
		return "", false
	}
	return v.Str()
}

func (f *File) uint(key string) (uint64, bool) {
	v, ok := f.KV(key)
	if !ok {
		return 0, false
	}
	return v.Uint()
}

// archValue returns the value of an architecture-relative key such as
// KeyContextLength.
func (f *File) archValue(suffix string) (Value, bool) {
	arch, ok := f.Architecture()
	if !ok {
		return Value{}, false
	}
	return f.KV(arch + suffix)
}

// archUint returns an architecture-relative integer. The value may have
// any integer type; a per-layer array yields its largest element.
func (f *File) archUint(suffix string) (uint64, bool) {
	v, ok := f.archValue(suffix)
	if !ok {
		return 0, false
	}
	if u, ok := v.Uint(); ok {
		return u, true
	}
	us, ok := v.Uints()
	if !ok || len(us) == 0 {
		return 0, false
	}
	m := us[0]
	for _, u := range us[1:] {
		m = max(m, u)
	}
	return m, true
}

func (f *File) archFloat(suffix string) (float64, bool) {
	v, ok := f.archValue(suffix)
	if !ok {
		return 0, false
	}
	return v.Float()
}

// Architecture returns general.architecture, such as "llama".
func (f *File) Architecture() (string, bool) { return f.str(KeyArchitecture) }

// Name returns general.name.
func (f *File) Name() (string, bool) { return f.str(KeyName) }

// FileType returns general.file_type. Use [FileType.String] and
// [FileType.Quantization] for its names.
func (f *File) FileType() (FileType, bool) {
	u, ok := f.uint(KeyFileType)
	if !ok || u > 0xffffffff {
		return 0, false
	}
	return FileType(u), true
}

// The architecture-relative integer accessors below accept a value of any
// integer type (writers disagree: the spec says uint64, gguf-py writes
// uint32). Keys that may hold one value per layer (feed_forward_length,
// head_count, head_count_kv) report the largest element of such an array.

// ContextLength returns <arch>.context_length, the training context size.
func (f *File) ContextLength() (uint64, bool) { return f.archUint(KeyContextLength) }

// EmbeddingLength returns <arch>.embedding_length (n_embd).
func (f *File) EmbeddingLength() (uint64, bool) { return f.archUint(KeyEmbeddingLength) }

// BlockCount returns <arch>.block_count, the number of layers.
func (f *File) BlockCount() (uint64, bool) { return f.archUint(KeyBlockCount) }

// FeedForwardLength returns <arch>.feed_forward_length (n_ff); for a
// per-layer array, the largest element.
func (f *File) FeedForwardLength() (uint64, bool) { return f.archUint(KeyFeedForwardLength) }

// HeadCount returns <arch>.attention.head_count; for a per-layer array, the
// largest element.
func (f *File) HeadCount() (uint64, bool) { return f.archUint(KeyHeadCount) }

// HeadCountKV returns <arch>.attention.head_count_kv; for a per-layer
// array, the largest element. llama.cpp uses HeadCount when it is absent.
func (f *File) HeadCountKV() (uint64, bool) { return f.archUint(KeyHeadCountKV) }

// RopeDimensionCount returns <arch>.rope.dimension_count.
func (f *File) RopeDimensionCount() (uint64, bool) { return f.archUint(KeyRopeDimensionCount) }

// RopeFreqBase returns <arch>.rope.freq_base (float32 or float64).
func (f *File) RopeFreqBase() (float64, bool) { return f.archFloat(KeyRopeFreqBase) }

// LayerNormRMSEpsilon returns <arch>.attention.layer_norm_rms_epsilon
// (float32 or float64).
func (f *File) LayerNormRMSEpsilon() (float64, bool) { return f.archFloat(KeyLayerNormRMSEpsilon) }

// TokenizerModel returns tokenizer.ggml.model: "llama" (SentencePiece),
// "gpt2" (BPE), "bert", "t5", "rwkv" or "no_vocab".
func (f *File) TokenizerModel() (string, bool) { return f.str(KeyTokenizerModel) }

// Tokens returns a copy of tokenizer.ggml.tokens, the vocabulary indexed by
// token id.
func (f *File) Tokens() ([]string, bool) {
	v, ok := f.KV(KeyTokens)
	if !ok {
		return nil, false
	}
	return v.Strings()
}

// VocabSize returns the number of tokens: the length of
// tokenizer.ggml.tokens, or <arch>.vocab_size if there is no token list.
func (f *File) VocabSize() (uint64, bool) {
	if v, ok := f.KV(KeyTokens); ok && v.ElemType() == ValueTypeString {
		return uint64(v.Len()), true
	}
	return f.archUint(KeyVocabSize)
}

// BOSTokenID returns tokenizer.ggml.bos_token_id.
func (f *File) BOSTokenID() (uint64, bool) { return f.uint(KeyBOSTokenID) }

// EOSTokenID returns tokenizer.ggml.eos_token_id.
func (f *File) EOSTokenID() (uint64, bool) { return f.uint(KeyEOSTokenID) }

// UNKTokenID returns tokenizer.ggml.unknown_token_id.
func (f *File) UNKTokenID() (uint64, bool) { return f.uint(KeyUNKTokenID) }

// ChatTemplate returns tokenizer.chat_template, a Jinja template.
func (f *File) ChatTemplate() (string, bool) { return f.str(KeyChatTemplate) }
