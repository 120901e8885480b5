// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package tokenize

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/llamatelemetry/otelcol-llt/internal/llamatest"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// Token types of tokenizer.ggml.token_type (llama_token_type).
const (
	typNormal      int32 = 1
	typUnknown     int32 = 2
	typControl     int32 = 3
	typUserDefined int32 = 4
	typUnused      int32 = 5
	typByte        int32 = 6
)

// vocabSpec is a tokenizer vocabulary for a test GGUF file.
type vocabSpec struct {
	tokens []string
	scores []float32
	types  []int32
	// kvs are extra metadata entries (general.name, tokenizer.ggml.add_space_prefix, ...); a nil
	// value leaves the key out, which removes one of the defaults below.
	kvs map[string]any
}

// add appends a token.
func (v *vocabSpec) add(text string, score float32, typ int32) {
	v.tokens = append(v.tokens, text)
	v.scores = append(v.scores, score)
	v.types = append(v.types, typ)
}

// has reports whether text is a token of v.
func (v *vocabSpec) has(text string) bool { return slices.Contains(v.tokens, text) }

// baseVocab returns <unk>, <s>, </s> and the 256 byte tokens, as modelgen's vocabulary starts.
func baseVocab() *vocabSpec {
	v := &vocabSpec{kvs: map[string]any{}}
	v.add("<unk>", 0, typUnknown)
	v.add("<s>", 0, typControl)
	v.add("</s>", 0, typControl)
	for b := range 256 {
		v.add(fmt.Sprintf("<0x%02X>", b), 0, typByte)
	}
	return v
}

// tokenizerKVs returns the tokenizer metadata of v, llama.cpp's SPM defaults included.
func (v *vocabSpec) tokenizerKVs() []gguf.KV {
	kvs := map[string]any{
		gguf.KeyTokenizerModel: "llama",
		gguf.KeyTokens:         v.tokens,
		gguf.KeyScores:         v.scores,
		gguf.KeyTokenType:      v.types,
		gguf.KeyBOSTokenID:     uint32(1),
		gguf.KeyEOSTokenID:     uint32(2),
		gguf.KeyUNKTokenID:     uint32(0),
		gguf.KeyAddBOSToken:    true,
		gguf.KeyAddEOSToken:    false,
	}
	for k, x := range v.kvs {
		if x == nil {
			delete(kvs, k)
		} else {
			kvs[k] = x
		}
	}
	keys := make([]string, 0, len(kvs))
	for k := range kvs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]gguf.KV, 0, len(keys))
	for _, k := range keys {
		val, err := gguf.ValueOf(kvs[k])
		if err != nil {
			panic(fmt.Sprintf("metadata %s: %v", k, err))
		}
		out = append(out, gguf.KV{Key: k, Value: val})
	}
	return out
}

// vocabFile returns a GGUF file, held in memory, with v's tokenizer metadata and no tensors.
func vocabFile(tb testing.TB, v *vocabSpec) *gguf.File {
	tb.Helper()
	b := &gguf.Builder{}
	require.NoError(tb, b.AddKV(gguf.KeyArchitecture, "llama"))
	for _, kv := range v.tokenizerKVs() {
		require.NoError(tb, b.AddKV(kv.Key, kv.Value))
	}
	var buf bytes.Buffer
	_, err := b.WriteTo(&buf)
	require.NoError(tb, err)
	f, err := gguf.NewFile(bytes.NewReader(buf.Bytes()))
	require.NoError(tb, err)
	return f
}

// newSPM builds the tokenizer of v.
func newSPM(tb testing.TB, v *vocabSpec) *SPM {
	tb.Helper()
	t, err := NewSPM(vocabFile(tb, v))
	require.NoError(tb, err)
	return t
}

// openSPM builds the tokenizer of the GGUF model at path.
func openSPM(tb testing.TB, path string) *SPM {
	tb.Helper()
	f, err := gguf.Open(path)
	require.NoError(tb, err)
	defer func() { _ = f.Close() }()
	t, err := NewSPM(f)
	require.NoError(tb, err)
	return t
}

// writeServableModel writes a model that llama-server loads: the weights of llamatest's tiny
// model with v as its vocabulary (token_embd and output resized to it, all zero).
func writeServableModel(tb testing.TB, name string, v *vocabSpec) string {
	tb.Helper()
	base, err := gguf.Open(llamatest.TinyModel(tb))
	require.NoError(tb, err)
	defer func() { _ = base.Close() }()
	b := &gguf.Builder{}
	for _, kv := range base.Metadata {
		if strings.HasPrefix(kv.Key, "tokenizer.") || kv.Key == gguf.KeyName {
			continue
		}
		require.NoError(tb, b.AddKV(kv.Key, kv.Value))
	}
	require.NoError(tb, b.AddKV(gguf.KeyName, name))
	for _, kv := range v.tokenizerKVs() {
		if kv.Key != gguf.KeyName {
			require.NoError(tb, b.AddKV(kv.Key, kv.Value))
		}
	}
	for _, ti := range base.Tensors {
		dims, data := ti.Dims, []byte(nil)
		if ti.Name == "token_embd.weight" || ti.Name == "output.weight" {
			require.Equal(tb, gguf.TensorTypeF32, ti.Type)
			dims = []uint64{ti.Dims[0], uint64(len(v.tokens))}
			data = make([]byte, 4*dims[0]*dims[1])
		} else {
			data, err = base.ReadTensor(ti.Name)
			require.NoError(tb, err)
		}
		require.NoError(tb, b.AddTensor(ti.Name, ti.Type, dims, data))
	}
	path := filepath.Join(tb.TempDir(), "model.gguf")
	out, err := os.Create(path)
	require.NoError(tb, err)
	_, err = b.WriteTo(out)
	require.NoError(tb, err)
	require.NoError(tb, out.Close())
	return path
}

// trainingText is what trainPieces learns SentencePiece pieces from: prose, code, JSON and
// some non-Latin text, so that the pieces merge the way a real vocabulary's do.
const trainingText = `The quick brown fox jumps over the lazy dog. The theater there is the other one.
In the beginning there was nothing, and then there was the internet, and then there were tokens.
She said that they would think about these things in their own time; they were interested.
The station, the nation, the relation: information and education are important considerations.
func main() { fmt.Println("hello, world") } if err != nil { return nil, err } for i := 0; i < n; i++ {
def tokenize(text): return [vocab[piece] for piece in text.split()] # return the result
{"model": "llama", "messages": [{"role": "user", "content": "Hello there"}], "stream": false}
SELECT name, value FROM settings WHERE enabled = true ORDER BY name; -- the settings
Café, naïve, résumé, déjà vu, über, señor, mañana, São Paulo, Zürich, Ærøskøbing.
中文分词和日本語のテキスト、한국어 텍스트도 있습니다。 中文 中文 日本 日本語
Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 2024 3.14159 42 1e-5 0x1F -7`

// trainPieces learns n SentencePiece pieces from trainingText (BPE: the most frequent adjacent
// pair of the current pieces, within words that start with "▁", is merged, ties broken by
// text). It returns the single characters and the merged pieces in merge order.
func trainPieces(n int) (chars, merged []string) {
	var words [][]string
	for _, line := range strings.Split(trainingText, "\n") {
		for _, w := range strings.Fields(line) {
			var syms []string
			for _, r := range "▁" + w {
				syms = append(syms, string(r))
			}
			words = append(words, syms)
		}
	}
	seen := map[string]bool{}
	for _, w := range words {
		for _, s := range w {
			if !seen[s] {
				seen[s] = true
				chars = append(chars, s)
			}
		}
	}
	sort.Strings(chars)
	for len(merged) < n {
		counts := map[[2]string]int{}
		for _, w := range words {
			for i := 1; i < len(w); i++ {
				counts[[2]string{w[i-1], w[i]}]++
			}
		}
		var best [2]string
		bestN := 0
		for p, c := range counts {
			if c > bestN || (c == bestN && p[0]+"\x00"+p[1] < best[0]+"\x00"+best[1]) {
				best, bestN = p, c
			}
		}
		if bestN < 2 {
			break
		}
		piece := best[0] + best[1]
		if !seen[piece] {
			seen[piece] = true
			merged = append(merged, piece)
		}
		for wi, w := range words {
			var nw []string
			for i := 0; i < len(w); i++ {
				if i+1 < len(w) && w[i] == best[0] && w[i+1] == best[1] {
					nw = append(nw, piece)
					i++
				} else {
					nw = append(nw, w[i])
				}
			}
			words[wi] = nw
		}
	}
	return chars, merged
}

// addPieces adds the trained pieces to v: merged pieces score -rank (earlier merges first),
// single characters score below all of them; pieces v already has are skipped.
func addPieces(v *vocabSpec, nMerges int) {
	chars, merged := trainPieces(nMerges)
	for i, p := range merged {
		if !v.has(p) {
			v.add(p, -float32(i+1), typNormal)
		}
	}
	for i, c := range chars {
		if !v.has(c) {
			v.add(c, -10000-float32(i), typNormal)
		}
	}
}

// richVocab is a vocabulary that exercises what modelgen's does not: hundreds of trained
// merges, tied scores, multi-byte and whitespace pieces, control and user-defined tokens (some
// only made special by llama.cpp's text-based detection), an empty token, and more than 16
// special tokens of equal length that overlap (their order comes from std::sort).
func richVocab() *vocabSpec {
	v := baseVocab()
	v.kvs[gguf.KeyName] = "llt-rich"
	v.add("<|im_start|>", 0, typControl)
	v.add("<|im_end|>", 0, typNormal)     // made CONTROL by the EOG text list
	v.add("<|channel|>", 0, typNormal)    // made USER_DEFINED by the gpt-oss hack
	v.add("<PRE>", 0, typNormal)          // made CONTROL by the FIM PRE text list
	v.add("<|fim_suffix|>", 0, typNormal) // made CONTROL by the FIM SUF text list
	v.add("<|user|>", 0, typUserDefined)
	v.add("```", 0, typUserDefined)
	v.add("<tool_call>", 0, typUserDefined)
	v.add("</tool_call>", 0, typUserDefined)
	v.add("<unused0>", 0, typUnused) // not special: tokenized as text
	v.add("<unused1>", 0, typControl)
	v.add("", 0, typControl) // "[EMPTY_<id>]"
	v.add("abc", 0, typUserDefined)
	v.add("ab", 0, typUserDefined)
	v.add("<eos>", 0, typNormal) // made CONTROL by the EOG text list only
	v.add("[EOS]", 0, typNormal) // likewise
	// 24 overlapping special tokens of length 4 over "#@%".
	for i, n := 0, 0; n < 24; i++ {
		s := []byte{"#@%"[i%3], "#@%"[i/3%3], "#@%"[i/9%3], "#@%"[i/27%3]}
		if i%5 == 2 {
			continue
		}
		typ := typUserDefined
		if n%4 == 0 {
			typ = typControl
		}
		v.add(string(s), 0, typ)
		n++
	}
	// Pieces with tied scores, higher than every trained one: ties go to the leftmost pair.
	for _, p := range []string{"xy", "yz", "zz", "zx", "x", "y", "z"} {
		v.add(p, 5, typNormal)
	}
	v.add("xyz", 4, typNormal)
	for _, p := range []string{"▁▁", "▁▁▁▁", "▁▁▁▁▁▁▁▁", "\n", "\n\n", "\t", "▁\n", "é", "中", "文", "中文",
		"日", "本", "日本", "😀", "😀😀", "{\"", "\":", "\",", "▁{", "}", "▁<", "<", ">", "/"} {
		if !v.has(p) {
			v.add(p, -500, typNormal)
		}
	}
	addPieces(v, 400)
	return v
}

// phi3Vocab has add_space_prefix false, a general.name that selects llama.cpp's Phi-3 RSTRIP
// attributes, NaN and infinite scores, and byte 0xC3 only as the one-byte text "\xc3".
func phi3Vocab() *vocabSpec {
	v := &vocabSpec{kvs: map[string]any{gguf.KeyName: "Phi-3-llt-test", keyAddSpacePrefix: false}}
	v.add("<unk>", 0, typUnknown)
	v.add("<s>", 0, typControl)
	v.add("</s>", 0, typControl)
	for b := range 256 {
		if b == 0xC3 {
			v.add("\xc3", 0, typNormal)
			continue
		}
		v.add(fmt.Sprintf("<0x%02X>", b), 0, typByte)
	}
	v.add("<|endoftext|>", 0, typControl)
	v.add("<|end|>", 0, typControl)
	v.add("<|user|>", 0, typControl)
	v.add("<|assistant|>", 0, typControl)
	v.add("<|system|>", 0, typUserDefined)
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, p := range []struct {
		text  string
		score float32
	}{{"an", nan}, {"th", nan}, {"he", inf}, {"er", -inf}, {"in", nan}, {"re", inf}, {"▁a", nan}} {
		v.add(p.text, p.score, typNormal)
	}
	addPieces(v, 300)
	return v
}

// jinaVocab has tokenizer.ggml.pre "jina-v2-de", which gives "<mask>" the LSTRIP attribute.
func jinaVocab() *vocabSpec {
	v := baseVocab()
	v.kvs[gguf.KeyName] = "llt-jina"
	v.kvs[keyTokenizerPre] = "jina-v2-de"
	v.add("<mask>", 0, typUserDefined)
	v.add("<sep>", 0, typControl)
	addPieces(v, 200)
	return v
}
