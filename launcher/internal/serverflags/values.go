// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package serverflags

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// checkValue returns "" when v is a valid value for f, or else what a valid
// value looks like.
func checkValue(f *Flag, v string) string {
	switch f.Value {
	case ValueInt:
		r := IntRange{Min: math.MinInt32, Max: math.MaxInt32}
		if f.Range != nil {
			r = *f.Range
		}
		if contains(f.Enum, v) {
			return ""
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= r.Min && n <= r.Max {
			return ""
		}
		return intWant("an integer", f.Range, f.Enum)
	case ValueUint:
		r := IntRange{Min: 0, Max: math.MaxInt64}
		if f.Range != nil {
			r = *f.Range
		}
		if isDigits(v) {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= r.Min && n <= r.Max {
				return ""
			}
		}
		return intWant("an unsigned integer", f.Range, nil)
	case ValueFloat:
		if isFloat(v) {
			return ""
		}
		return "a number"
	case ValuePositiveFloat:
		if isFloat(v) {
			if x, _ := strconv.ParseFloat(v, 32); x > 0 {
				return ""
			}
		}
		return "a number greater than 0"
	case ValueString:
		if v != "" {
			return ""
		}
		return "non-empty text"
	case ValuePath:
		if isPath(v) {
			return ""
		}
		return `a path that does not start with "-"`
	case ValueEnum:
		if contains(f.Enum, v) {
			return ""
		}
		return "one of: " + strings.Join(f.Enum, ", ")
	case ValueList:
		if eachItem(v, func(s string) bool { return s != "" && (len(f.Enum) == 0 || contains(f.Enum, s)) }) {
			return ""
		}
		if len(f.Enum) > 0 {
			return "a comma-separated list of: " + strings.Join(f.Enum, ", ")
		}
		return "a comma-separated list of non-empty items"
	case ValuePathList:
		if eachItem(v, isPath) {
			return ""
		}
		return `a comma-separated list of paths that do not start with "-"`
	case ValueUintList:
		if eachItem(v, isUint) {
			return ""
		}
		return "a comma-separated list of unsigned integers"
	case ValueFloatList:
		if eachItem(v, isFloat) {
			return ""
		}
		return "a comma-separated list of numbers"
	case ValueCPUMask:
		if isCPUMask(v) {
			return ""
		}
		return "a hexadecimal CPU mask such as 0xff"
	case ValueCPURange:
		if isCPURange(v) {
			return ""
		}
		return "a CPU range lo-hi such as 0-7, CPUs below 512"
	case ValueJSON:
		if json.Valid([]byte(v)) {
			return ""
		}
		return "JSON"
	case ValueJSONObject:
		if json.Valid([]byte(v)) && strings.HasPrefix(strings.TrimLeft(v, " \t"), "{") {
			return ""
		}
		return "a JSON object"
	case ValueLogitBias:
		if isLogitBias(v) {
			return ""
		}
		return "TOKEN_ID+BIAS or TOKEN_ID-BIAS, such as 15043+1"
	case ValueKVOverrides:
		if eachItem(v, isKVOverride) {
			return ""
		}
		return "KEY=TYPE:VALUE[,...] with TYPE int, float, bool or str"
	case ValueTensorOverrides:
		if eachItem(v, isTensorOverride) {
			return ""
		}
		return "PATTERN=BUFFER_TYPE[,...]"
	case ValueScaledPaths:
		if eachItem(v, isScaledPath) {
			return ""
		}
		return "FNAME:SCALE[,...]"
	case ValueHostPortList:
		if eachItem(v, isHostPort) {
			return ""
		}
		return "a comma-separated list of host:port"
	}
	return "no value"
}

func intWant(what string, r *IntRange, words []string) string {
	switch {
	case r == nil:
	case r.Max >= math.MaxInt32:
		what = fmt.Sprintf("%s of at least %d", what, r.Min)
	default:
		what = fmt.Sprintf("%s from %d to %d", what, r.Min, r.Max)
	}
	if len(words) > 0 {
		what += " or one of: " + strings.Join(words, ", ")
	}
	return what
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// eachItem splits a comma-separated list and checks every item.
func eachItem(v string, ok func(string) bool) bool {
	if v == "" {
		return false
	}
	for _, item := range strings.Split(v, ",") {
		if !ok(item) {
			return false
		}
	}
	return true
}
