// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
	"github.com/llamatelemetry/otelcol-llt/pkg/gguf/modelgen"
)

// defaultOutput is where generate writes when -o is not given.
const defaultOutput = "llt-tiny.gguf"

// specToFlags renames modelgen.Spec fields in validation errors to the
// flags that set them.
var specToFlags = strings.NewReplacer(
	"Arch", "-arch",
	"EmbeddingLength", "-embd",
	"BlockCount", "-blocks",
	"HeadCountKV", "-heads-kv",
	"HeadCount", "-heads",
	"FeedForwardLength", "-ff",
	"ContextLength", "-ctx",
	"WeightType", "-type",
)

// weightTypes maps the values of -type to tensor types.
var weightTypes = map[string]gguf.TensorType{
	"f32":  gguf.TensorTypeF32,
	"f16":  gguf.TensorTypeF16,
	"q8_0": gguf.TensorTypeQ8_0,
	"q4_k": gguf.TensorTypeQ4_K,
	"q6_k": gguf.TensorTypeQ6_K,
}

func setupGenerate(fs *flag.FlagSet) func([]string, io.Writer) error {
	d := modelgen.Tiny()
	out := fs.String("o", defaultOutput, "output `path`; written atomically")
	arch := fs.String("arch", d.Arch, "architecture: llama or qwen2 (qwen2 adds attention biases)")
	embd := fs.Int("embd", d.EmbeddingLength, "embedding length (n_embd); divisible by -heads, with an even quotient")
	blocks := fs.Int("blocks", d.BlockCount, "number of layers, 1 to 512")
	heads := fs.Int("heads", d.HeadCount, "attention heads")
	headsKV := fs.Int("heads-kv", 0, "key/value heads; must divide -heads (default: -heads)")
	ff := fs.Int("ff", d.FeedForwardLength, "feed-forward length (n_ff)")
	ctx := fs.Int("ctx", d.ContextLength, "training context length")
	typ := fs.String("type", "f32", "type of the weight matrices: f32, f16, q8_0 (-embd and -ff multiples of 32), q4_k or q6_k (multiples of 256)")
	seed := fs.Int64("seed", d.Seed, "random seed; the same flags give the same file")
	name := fs.String("name", d.Name, "model name (general.name)")
	return func(args []string, stdout io.Writer) error {
		if len(args) > 0 {
			return usagef("generate takes no arguments, got %q", args[0])
		}
		s := modelgen.Spec{
			Arch:              *arch,
			Name:              *name,
			EmbeddingLength:   *embd,
			BlockCount:        *blocks,
			HeadCount:         *heads,
			HeadCountKV:       *headsKV,
			FeedForwardLength: *ff,
			ContextLength:     *ctx,
			Seed:              *seed,
		}
		wt, ok := weightTypes[strings.ToLower(*typ)]
		if !ok {
			return usagef("-type %q is not supported (want f32, f16, q8_0, q4_k or q6_k)", *typ)
		}
		s.WeightType = wt
		// Zero means "default" to modelgen; on the command line it is a
		// mistake.
		for _, f := range []struct {
			name string
			v    int
		}{{"embd", *embd}, {"blocks", *blocks}, {"heads", *heads}, {"ff", *ff}, {"ctx", *ctx}} {
			if f.v <= 0 {
				return usagef("-%s must be positive, got %d", f.name, f.v)
			}
		}
		if *headsKV < 0 {
			return usagef("-heads-kv must be positive, got %d", *headsKV)
		}
		if *seed == 0 {
			return usagef("-seed must not be 0")
		}
		if err := s.Validate(); err != nil {
			return usagef("%s", specToFlags.Replace(strings.TrimPrefix(err.Error(), "modelgen: ")))
		}
		if *out == "" {
			return usagef("-o must not be empty")
		}
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			return err
		}
		if err := modelgen.WriteFile(*out, s); err != nil {
			return err
		}
		_, err := fmt.Fprintln(stdout, *out)
		return err
	}
}
