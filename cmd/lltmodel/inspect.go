// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/llamatelemetry/otelcol-llt/pkg/gguf"
)

// jsonArrayLimit is the longest array whose elements inspect -json prints;
// longer ones (token lists) are given by type and length only.
const jsonArrayLimit = 16

func setupInspect(fset *flag.FlagSet) func([]string, io.Writer) error {
	asJSON := fset.Bool("json", false, "print a JSON document instead of text")
	tensors := fset.Bool("tensors", true, "include the tensor table")
	return func(args []string, stdout io.Writer) error {
		if len(args) != 1 {
			return usagef("inspect takes one FILE, got %d arguments", len(args))
		}
		return inspect(stdout, args[0], *asJSON, *tensors)
	}
}

// inspect prints the facts, metadata and (if withTensors) tensors of the
// GGUF file at path, as text or JSON.
func inspect(w io.Writer, path string, asJSON, withTensors bool) error {
	f, err := gguf.Open(path)
	if err != nil {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			return err // already names the file
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose
	r := newReport(path, f, withTensors)
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return r.writeText(w)
}

// report is what inspect prints. Its JSON keys are the labels of the text
// form.
type report struct {
	File string `json:"file"`
	gguf.ModelFacts
	Version    uint32        `json:"version"`
	Alignment  uint32        `json:"alignment"`
	DataOffset int64         `json:"data_offset"`
	Metadata   []metaEntry   `json:"metadata"`
	Tensors    []tensorEntry `json:"tensors,omitempty"`

	kvs []gguf.KV
}

type metaEntry struct {
	Key      string `json:"key"`
	Type     string `json:"type"`
	ElemType string `json:"elem_type,omitempty"`
	Len      *int   `json:"len,omitempty"`
	Value    any    `json:"value,omitempty"`
}

type tensorEntry struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Dims     []uint64 `json:"dims"`
	Elements uint64   `json:"elements"`
	Offset   uint64   `json:"offset"`
	Size     int64    `json:"size"`
}

func newReport(path string, f *gguf.File, withTensors bool) *report {
	r := &report{
		File:       path,
		ModelFacts: f.Facts(),
		Version:    f.Version,
		Alignment:  f.Alignment,
		DataOffset: f.DataOffset,
		Metadata:   []metaEntry{},
		kvs:        f.Metadata,
	}
	for _, kv := range f.Metadata {
		e := metaEntry{Key: kv.Key, Type: kv.Value.Type().String()}
		if kv.Value.Type() == gguf.ValueTypeArray {
			n := kv.Value.Len()
			e.ElemType, e.Len = kv.Value.ElemType().String(), &n
			if n <= jsonArrayLimit {
				e.Value = jsonValue(kv.Value)
			}
		} else {
			e.Value = jsonValue(kv.Value)
		}
		r.Metadata = append(r.Metadata, e)
	}
	if withTensors {
		r.Tensors = []tensorEntry{}
		for _, t := range f.Tensors {
			r.Tensors = append(r.Tensors, tensorEntry{
				Name: t.Name, Type: t.Type.String(), Dims: t.Dims,
				Elements: t.Elements(), Offset: t.Offset, Size: t.Size(),
			})
		}
	}
	return r
}

// jsonValue converts a metadata value to something encoding/json can
// encode: non-finite floats, which JSON lacks, become the strings "NaN",
// "+Inf" and "-Inf".
func jsonValue(v gguf.Value) any {
	if v.Type() == gguf.ValueTypeArray {
		out := make([]any, v.Len())
		for i := range out {
			e, _ := v.Index(i)
			out[i] = jsonValue(e)
		}
		return out
	}
	if x, ok := v.Float(); ok && (math.IsNaN(x) || math.IsInf(x, 0)) {
		return fmt.Sprint(x)
	}
	return v.Any()
}

// writeText prints the report: one "key: value" line per fact, then the
// metadata and tensor tables.
func (r *report) writeText(w io.Writer) error {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	fileType := "-"
	if r.FileTypeName != "" {
		fileType = fmt.Sprintf("%d (%s)", r.FileType, r.FileTypeName)
	}
	size := fmt.Sprint(r.Size)
	if r.Size < 0 {
		size = "-"
	}
	facts := [][2]string{
		{"file", r.File},
		{"version", fmt.Sprint(r.Version)},
		{"architecture", dash(r.Architecture)},
		{"name", dash(r.Name)},
		{"file_type", fileType},
		{"quantization", dash(r.Quantization)},
		{"parameter_count", fmt.Sprint(r.ParameterCount)},
		{"context_length", fmt.Sprint(r.ContextLength)},
		{"block_count", fmt.Sprint(r.BlockCount)},
		{"embedding_length", fmt.Sprint(r.EmbeddingLength)},
		{"head_count", fmt.Sprint(r.HeadCount)},
		{"head_count_kv", fmt.Sprint(r.HeadCountKV)},
		{"feed_forward_length", fmt.Sprint(r.FeedForwardLength)},
		{"vocab_size", fmt.Sprint(r.VocabSize)},
		{"tensor_count", fmt.Sprint(r.TensorCount)},
		{"tensor_bytes", fmt.Sprint(r.TensorBytes)},
		{"size", size},
		{"alignment", fmt.Sprint(r.Alignment)},
		{"data_offset", fmt.Sprint(r.DataOffset)},
	}
	var b strings.Builder
	for _, f := range facts {
		fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
	}

	fmt.Fprintf(&b, "\nmetadata (%d entries):\n", len(r.kvs))
	rows := [][]string{{"KEY", "TYPE", "VALUE"}}
	for _, kv := range r.kvs {
		typ := kv.Value.Type().String()
		if kv.Value.Type() == gguf.ValueTypeArray {
			typ = "[]" + kv.Value.ElemType().String()
		}
		rows = append(rows, []string{oneLine(kv.Key), typ, kv.Value.String()})
	}
	b.WriteString(table(rows))

	if r.Tensors != nil {
		fmt.Fprintf(&b, "\ntensors (%d):\n", len(r.Tensors))
		rows = [][]string{{"NAME", "TYPE", "DIMS", "OFFSET", "SIZE"}}
		for _, t := range r.Tensors {
			size := fmt.Sprint(t.Size)
			if t.Size < 0 {
				size = "?"
			}
			rows = append(rows, []string{oneLine(t.Name), t.Type, dims(t.Dims), fmt.Sprint(t.Offset), size})
		}
		b.WriteString(table(rows))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// table aligns rows into columns two spaces apart, each line indented by
// two spaces.
func table(rows [][]string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		// A tabwriter over a strings.Builder cannot fail.
		_, _ = io.WriteString(tw, "  "+strings.Join(r, "\t")+"\n")
	}
	_ = tw.Flush()
	return b.String()
}

// oneLine quotes s if it holds characters that would break the table.
func oneLine(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == '\t' || r == 0x7f }) {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// dims formats dimensions in ggml order, row length first: "64×275".
func dims(d []uint64) string {
	if len(d) == 0 {
		return "scalar"
	}
	parts := make([]string, len(d))
	for i, n := range d {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, "×")
}
