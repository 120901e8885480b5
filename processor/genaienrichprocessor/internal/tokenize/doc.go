// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package tokenize turns text into token ids in-process, exactly as llama.cpp's llama-server
// does for POST /tokenize {"content": text}: add_special false (no BOS), parse_special true
// (the server's default, so the text of a control, user-defined or unknown token in the content
// becomes that token).
//
// # What it implements
//
// [SPM] is the SentencePiece tokenizer of GGUF models whose tokenizer.ggml.model is "llama"
// (LLaMA 1/2, Mistral v0.1–v0.3, CodeLlama, Phi-3, Gemma 1–3 and their fine-tunes). It follows
// llama.cpp's src/llama-vocab.cpp:
//
//   - llama_vocab::impl::load: the token texts (an empty text becomes "[EMPTY_<id>]", a
//     duplicated text makes the model fail to load), scores, token types mapped to
//     llama_token_attr, tokenizer.ggml.add_space_prefix (default true for SPM), the special
//     token ids, the text-based detection of control tokens (EOT/EOM/FIM/EOG texts such as
//     "<|im_end|>" become CONTROL; the gpt-oss "<|channel|>" family becomes USER_DEFINED), the
//     special tokens cache (CONTROL | USER_DEFINED | UNKNOWN tokens sorted longest first with
//     std::sort), and the per-model LSTRIP/RSTRIP attributes (Phi-3, jina-v2, modern-bert).
//   - llama_vocab::impl::tokenizer_st_partition: the text is split at occurrences of special
//     tokens, one special token after the other in cache order, leftmost non-overlapping
//     matches, with LSTRIP/RSTRIP whitespace stripping.
//   - llama_vocab::impl::tokenize, case LLAMA_VOCAB_TYPE_SPM: each raw text fragment gets a
//     " " prefix when add_space_prefix is set and the fragment is the first one or follows a
//     special token, has every ' ' replaced by U+2581 (llama_escape_whitespace), and is
//     tokenized by its own llm_tokenizer_spm_session.
//   - llm_tokenizer_spm_session::tokenize: the text is split into symbols of
//     unicode_len_utf8(lead byte) bytes (src/unicode.cpp; no validation, so invalid UTF-8 is
//     cut the same way), every adjacent pair whose concatenation is a token is put into a
//     priority queue ordered by score (higher first), then by left symbol index (lower first),
//     and pairs are merged until the queue is empty. A final symbol that is a token is output
//     as that token; any other is output one byte at a time (llama_vocab::byte_to_token:
//     "<0xXX>", else the single-byte text). The queue is a replica of libstdc++'s binary heap
//     (std::priority_queue over std::push_heap/std::pop_heap) and the cache order a replica of
//     libstdc++'s std::sort, so even tied or NaN scores and equally long special tokens come
//     out in llama.cpp's order. resegment's rev_merge recursion is left out: every merged
//     symbol is a token by construction, so llama.cpp never reaches it.
//
// The server side is tools/server: the /tokenize handler reads "content" and calls
// tokenize_mixed, then common_tokenize, then llama_tokenize(vocab, text, add_special=false,
// parse_special=true).
//
// The source followed is ggml-org/llama.cpp's src/llama-vocab.cpp at commit 00ad355e; the tests
// compare every result with a real llama-server (checked with Debian's llama.cpp 0.7.0, build
// 11669). Token lookups go
// through a byte trie of the vocabulary instead of a hash map: each symbol keeps the trie node
// its text reaches, so testing a pair walks only the right symbol's bytes.
//
// # Why it is written here
//
// The Go SentencePiece libraries read a sentencepiece .model protobuf, not a GGUF vocabulary, and
// implement Google's algorithm, which llama.cpp's differs from (special-token partitioning,
// space prefixes after special tokens, byte fallback through "<0xXX>" texts, heap and sort
// orders). What the collector needs is llama-server's exact ids, so it follows llama.cpp.
//
// # What it does not handle
//
//   - Other tokenizer models: "gpt2" (byte-level BPE with its pre-tokenizer regexes, used by
//     LLaMA 3, Qwen, Mistral-Nemo/Tekken, DeepSeek, GPT-OSS, ...), "bert" (WordPiece), "t5"
//     (Unigram), "rwkv", "plamo2", "gemma4" and "no_vocab". [NewSPM] rejects them.
//   - add_special (BOS/EOS insertion) and parse_special false: the server's /tokenize defaults
//     are the only mode.
//   - A byte that has neither a "<0xXX>" token nor a single-byte token: llama.cpp throws
//     (std::out_of_range from token_to_id.at) and llama-server answers 500; Tokenize outputs
//     the unknown token id instead (tokenizer.ggml.unknown_token_id, default 0).
//   - Where llama.cpp's result depends on std::unordered_map iteration order (which of several
//     FIM-looking token texts of one kind, such as "<PRE>" and "▁<PRE>", is marked CONTROL when
//     the model names no FIM token), the lowest id is taken.
//   - llama.cpp reads the integer special-token ids with their exact GGUF types (and refuses a
//     model where one has another); NewSPM accepts any integer type for them.
//   - Texts longer than [MaxTextLen] (512 MiB): Tokenize returns nil.
//   - Newer llama.cpp also drops CONTROL from "</s>" when the vocabulary has
//     "<|tool_response>" (gemma4/paddleocr); Tokenize does too, while 0.7.0 does not: no
//     SentencePiece model has such a token.
package tokenize // import "github.com/llamatelemetry/otelcol-llt/processor/genaienrichprocessor/internal/tokenize"
