// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package gguf

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// invalidValueType is what Type and ElemType return when there is no type.
const invalidValueType = ValueType(math.MaxUint32)

// Value is a typed metadata value. It holds one of the Go types uint8,
// int8, uint16, int16, uint32, int32, float32, bool, string, uint64, int64,
// float64 (the scalar GGUF types, one to one), a slice of one of those (an
// array), or a []Value whose elements are arrays (an array of arrays). The
// zero Value is invalid.
type Value struct {
	v any
}

// ValueOf returns the Value holding x, which must be one of the Go types
// listed on [Value] or a Value. Slices are copied. Go's int and uint are
// refused: GGUF readers check integer widths strictly (llama.cpp reads
// counts as uint32), so the width must be chosen explicitly.
func ValueOf(x any) (Value, error) {
	switch x := x.(type) {
	case uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64, int64, float64:
		return Value{x}, nil
	case []uint8:
		return Value{slices.Clone(x)}, nil
	case []int8:
		return Value{slices.Clone(x)}, nil
	case []uint16:
		return Value{slices.Clone(x)}, nil
	case []int16:
		return Value{slices.Clone(x)}, nil
	case []uint32:
		return Value{slices.Clone(x)}, nil
	case []int32:
		return Value{slices.Clone(x)}, nil
	case []float32:
		return Value{slices.Clone(x)}, nil
	case []bool:
		return Value{slices.Clone(x)}, nil
	case []string:
		return Value{slices.Clone(x)}, nil
	case []uint64:
		return Value{slices.Clone(x)}, nil
	case []int64:
		return Value{slices.Clone(x)}, nil
	case []float64:
		return Value{slices.Clone(x)}, nil
	case []Value:
		for i, e := range x {
			if e.Type() != ValueTypeArray {
				return Value{}, fmt.Errorf("gguf: element %d of a []Value is %s, want an array", i, e.Type())
			}
		}
		return Value{slices.Clone(x)}, nil
	case Value:
		if !x.IsValid() {
			return Value{}, fmt.Errorf("gguf: invalid Value")
		}
		return x, nil
	}
	return Value{}, fmt.Errorf("gguf: unsupported Go type %T for a metadata value", x)
}

// IsValid reports whether v holds a value.
func (v Value) IsValid() bool { return v.v != nil }

// Type returns the GGUF type of v; for an invalid Value it returns a type
// whose String is "ValueType(4294967295)".
func (v Value) Type() ValueType {
	switch v.v.(type) {
	case uint8:
		return ValueTypeUint8
	case int8:
		return ValueTypeInt8
	case uint16:
		return ValueTypeUint16
	case int16:
		return ValueTypeInt16
	case uint32:
		return ValueTypeUint32
	case int32:
		return ValueTypeInt32
	case float32:
		return ValueTypeFloat32
	case bool:
		return ValueTypeBool
	case string:
		return ValueTypeString
	case uint64:
		return ValueTypeUint64
	case int64:
		return ValueTypeInt64
	case float64:
		return ValueTypeFloat64
	case nil:
		return invalidValueType
	}
	return ValueTypeArray
}

// ElemType returns the element type of an array; for any other Value it
// returns the same invalid type as Type does for an invalid Value.
func (v Value) ElemType() ValueType {
	switch v.v.(type) {
	case []uint8:
		return ValueTypeUint8
	case []int8:
		return ValueTypeInt8
	case []uint16:
		return ValueTypeUint16
	case []int16:
		return ValueTypeInt16
	case []uint32:
		return ValueTypeUint32
	case []int32:
		return ValueTypeInt32
	case []float32:
		return ValueTypeFloat32
	case []bool:
		return ValueTypeBool
	case []string:
		return ValueTypeString
	case []uint64:
		return ValueTypeUint64
	case []int64:
		return ValueTypeInt64
	case []float64:
		return ValueTypeFloat64
	case []Value:
		return ValueTypeArray
	}
	return invalidValueType
}

// Len returns the number of elements of an array, and 0 for any other
// Value.
func (v Value) Len() int {
	switch s := v.v.(type) {
	case []uint8:
		return len(s)
	case []int8:
		return len(s)
	case []uint16:
		return len(s)
	case []int16:
		return len(s)
	case []uint32:
		return len(s)
	case []int32:
		return len(s)
	case []float32:
		return len(s)
	case []bool:
		return len(s)
	case []string:
		return len(s)
	case []uint64:
		return len(s)
	case []int64:
		return len(s)
	case []float64:
		return len(s)
	case []Value:
		return len(s)
	}
	return 0
}

// Index returns element i of an array. It reports false if v is not an
// array or i is out of range.
func (v Value) Index(i int) (Value, bool) {
	switch s := v.v.(type) {
	case []uint8:
		return elem(s, i)
	case []int8:
		return elem(s, i)
	case []uint16:
		return elem(s, i)
	case []int16:
		return elem(s, i)
	case []uint32:
		return elem(s, i)
	case []int32:
		return elem(s, i)
	case []float32:
		return elem(s, i)
	case []bool:
		return elem(s, i)
	case []string:
		return elem(s, i)
	case []uint64:
		return elem(s, i)
	case []int64:
		return elem(s, i)
	case []float64:
		return elem(s, i)
	case []Value:
		if i >= 0 && i < len(s) {
			return s[i], true
		}
	}
	return Value{}, false
}

func elem[T any](s []T, i int) (Value, bool) {
	if i < 0 || i >= len(s) {
		return Value{}, false
	}
	return Value{s[i]}, true
}

// Uint returns an integer value of any width as a uint64. It reports false
// if v is not an integer or is negative.
func (v Value) Uint() (uint64, bool) {
	switch x := v.v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// Int returns an integer value of any width as an int64. It reports false
// if v is not an integer or does not fit.
func (v Value) Int() (int64, bool) {
	switch x := v.v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	}
	return 0, false
}

// Float returns a float32 or float64 value as a float64. It reports false
// for any other type.
func (v Value) Float() (float64, bool) {
	switch x := v.v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// Bool returns a bool value. It reports false for any other type.
func (v Value) Bool() (b, ok bool) {
	b, ok = v.v.(bool)
	return b, ok
}

// Str returns a string value. It reports false for any other type.
func (v Value) Str() (string, bool) {
	s, ok := v.v.(string)
	return s, ok
}

// Strings returns a copy of an array of strings. It reports false for any
// other Value.
func (v Value) Strings() ([]string, bool) {
	s, ok := v.v.([]string)
	return slices.Clone(s), ok
}

// Uints returns an array of integers of any width as uint64s. It reports
// false if v is not an integer array or holds a negative number.
func (v Value) Uints() ([]uint64, bool) {
	n := v.Len()
	if !isIntType(v.ElemType()) {
		return nil, false
	}
	out := make([]uint64, n)
	for i := range n {
		e, _ := v.Index(i)
		u, ok := e.Uint()
		if !ok {
			return nil, false
		}
		out[i] = u
	}
	return out, true
}

// Ints returns an array of integers of any width as int64s. It reports
// false if v is not an integer array or holds a number above MaxInt64.
func (v Value) Ints() ([]int64, bool) {
	n := v.Len()
	if !isIntType(v.ElemType()) {
		return nil, false
	}
	out := make([]int64, n)
	for i := range n {
		e, _ := v.Index(i)
		x, ok := e.Int()
		if !ok {
			return nil, false
		}
		out[i] = x
	}
	return out, true
}

// Floats returns an array of float32 or float64 as float64s. It reports
// false for any other Value.
func (v Value) Floats() ([]float64, bool) {
	switch s := v.v.(type) {
	case []float32:
		out := make([]float64, len(s))
		for i, f := range s {
			out[i] = float64(f)
		}
		return out, true
	case []float64:
		return slices.Clone(s), true
	}
	return nil, false
}

// Any returns the Go value held by v (see [Value] for the types), or nil
// for an invalid Value. Slices are shared with v and must not be modified.
func (v Value) Any() any { return v.v }

func isIntType(t ValueType) bool {
	switch t {
	case ValueTypeUint8, ValueTypeInt8, ValueTypeUint16, ValueTypeInt16,
		ValueTypeUint32, ValueTypeInt32, ValueTypeUint64, ValueTypeInt64:
		return true
	}
	return false
}

const (
	// shortArrayLen is the longest array String prints element by element.
	shortArrayLen = 8
	// shortStringLen is the longest string String prints in full.
	shortStringLen = 64
)

// String returns a short human-readable form of v: numbers in decimal,
// strings quoted with Go syntax (cut after 64 bytes, followed by "…" and
// the full length), arrays of up to 8 elements in brackets, and longer
// arrays summarised as "[string × 303]".
func (v Value) String() string {
	var b strings.Builder
	v.format(&b)
	return b.String()
}

func (v Value) format(b *strings.Builder) {
	switch x := v.v.(type) {
	case nil:
		b.WriteString("<invalid>")
	case float32:
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case string:
		if len(x) <= shortStringLen {
			b.WriteString(strconv.Quote(x))
			break
		}
		fmt.Fprintf(b, "%s… (%d bytes)", strconv.Quote(x[:shortStringLen]), len(x))
	case uint8, int8, uint16, int16, uint32, int32, uint64, int64, bool:
		fmt.Fprint(b, x)
	default:
		n := v.Len()
		if n > shortArrayLen {
			fmt.Fprintf(b, "[%s × %d]", v.ElemType(), n)
			return
		}
		b.WriteByte('[')
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			e, _ := v.Index(i)
			e.format(b)
		}
		b.WriteByte(']')
	}
}
