// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package serverflags

import "strings"

// Arity says how many values a flag takes.
type Arity int

const (
	// ArityNone is a switch: the flag takes no value.
	ArityNone Arity = iota
	// ArityOne is a flag followed by exactly one value.
	ArityOne
	// ArityTwo is a flag followed by exactly two values. llama-server has
	// one such flag: --control-vector-layer-range START END.
	ArityTwo
)

// ValueKind says how the value(s) of a flag are checked.
type ValueKind int

const (
	// ValueNone is the kind of flags that take no value.
	ValueNone ValueKind = iota
	// ValueInt is a decimal integer (optional sign, digits only), within
	// Range when it is set and within 32 bits otherwise. The words in Enum,
	// if any, are accepted as well (for example "auto" and "all").
	ValueInt
	// ValueUint is a decimal integer without sign, within Range when set.
	ValueUint
	// ValueFloat is a finite decimal number such as 0.7, -1 or 1e-3.
	ValueFloat
	// ValuePositiveFloat is a ValueFloat greater than 0.
	ValuePositiveFloat
	// ValueString is non-empty free text.
	ValueString
	// ValuePath is a file or directory path; it may not start with "-".
	ValuePath
	// ValueEnum is one of the words in Enum.
	ValueEnum
	// ValueList is a comma-separated list of non-empty items; when Enum is
	// set, every item must be one of its words.
	ValueList
	// ValuePathList is a comma-separated list of paths.
	ValuePathList
	// ValueUintList is a comma-separated list of unsigned decimal integers.
	ValueUintList
	// ValueFloatList is a comma-separated list of numbers.
	ValueFloatList
	// ValueCPUMask is a hexadecimal CPU affinity mask, "0x" prefix optional.
	ValueCPUMask
	// ValueCPURange is a CPU range "lo-hi" (CPU numbers below 512).
	ValueCPURange
	// ValueJSON is any JSON document.
	ValueJSON
	// ValueJSONObject is a JSON object.
	ValueJSONObject
	// ValueLogitBias is TOKEN_ID+BIAS or TOKEN_ID-BIAS, e.g. 15043+1.
	ValueLogitBias
	// ValueKVOverrides is KEY=TYPE:VALUE[,...] with TYPE int, float, bool
	// or str.
	ValueKVOverrides
	// ValueTensorOverrides is PATTERN=BUFFER_TYPE[,...].
	ValueTensorOverrides
	// ValueScaledPaths is FNAME:SCALE[,...].
	ValueScaledPaths
	// ValueHostPortList is a comma-separated list of host:port.
	ValueHostPortList
)

// IntRange bounds an integer value, both ends included.
type IntRange struct {
	Min, Max int64
}

// Flag is one known llama-server option.
type Flag struct {
	// Names holds every spelling, e.g. {"-c", "--ctx-size"}, negated
	// spellings included (e.g. {"--warmup", "--no-warmup"}).
	Names []string
	Arity Arity
	// Value says how each value is checked; ValueNone for ArityNone.
	Value ValueKind
	// Enum lists the allowed words for ValueEnum and ValueList, and the
	// extra words accepted by ValueInt.
	Enum []string
	// Range bounds ValueInt and ValueUint values; nil means the default.
	Range *IntRange
	// Repeatable is set for flags that llama-server accumulates when they
	// are given more than once (e.g. --reverse-prompt); any other flag may
	// be given once.
	Repeatable bool
	// OwnedBy is non-empty when the launcher sets this flag itself: it is
	// the config key to use instead, or alwaysSet.
	OwnedBy string
	// Denied is non-empty when the flag is refused for another reason; it
	// says why, and what to do instead.
	Denied string
}

// alwaysSet is the OwnedBy value of flags that the launcher always sets and
// that have no config key.
const alwaysSet = "(always set by the launcher)"

var index = buildIndex()

func buildIndex() map[string]int {
	m := make(map[string]int)
	for i, f := range table {
		for _, n := range f.Names {
			m[n] = i
		}
	}
	return m
}

// normalize spells a name the way llama-server looks it up: in names that
// start with "--", "_" stands for "-" (so --ctx_size is --ctx-size).
func normalize(name string) string {
	if strings.HasPrefix(name, "--") {
		return strings.ReplaceAll(name, "_", "-")
	}
	return name
}

func lookup(name string) (int, bool) {
	i, ok := index[normalize(name)]
	return i, ok
}

// Lookup returns the flag that name spells. Like llama-server, it reads "_"
// as "-" in names that start with "--". The Flag returned is a copy.
func Lookup(name string) (Flag, bool) {
	i, ok := lookup(name)
	if !ok {
		return Flag{}, false
	}
	return table[i].clone(), true
}

// Flags returns a copy of the whole table, in llama-server's --help order.
func Flags() []Flag {
	out := make([]Flag, len(table))
	for i, f := range table {
		out[i] = f.clone()
	}
	return out
}

func (f Flag) clone() Flag {
	f.Names = append([]string(nil), f.Names...)
	if f.Enum != nil {
		f.Enum = append([]string(nil), f.Enum...)
	}
	if f.Range != nil {
		r := *f.Range
		f.Range = &r
	}
	return f
}

func (f Flag) values() int {
	switch f.Arity {
	case ArityOne:
		return 1
	case ArityTwo:
		return 2
	}
	return 0
}
