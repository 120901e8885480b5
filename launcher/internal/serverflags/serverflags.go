package serverflags

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"
)

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

// Errors wrapped by the *ArgError that Validate returns; test with
// errors.Is.
var (
	ErrUnknownFlag   = errors.New("unknown llama-server flag")
	ErrOwnedFlag     = errors.New("flag is set by the launcher")
	ErrDeniedFlag    = errors.New("flag is not allowed")
	ErrMissingValue  = errors.New("flag needs a value")
	ErrInvalidValue  = errors.New("invalid value for flag")
	ErrNotAFlag      = errors.New("not a flag")
	ErrRepeatedFlag  = errors.New("flag given more than once")
	ErrBadCharacters = errors.New("NUL or line break in argument")
)

// ArgError reports the first problem Validate found in extra_args.
type ArgError struct {
	// Index is the position in extra_args of the offending element.
	Index int
	// Arg is the offending element.
	Arg string
	// Flag is the flag concerned, as written, or "" when there is none.
	Flag string
	// Err is one of the Err* variables of this package.
	Err error

	msg string
}

func (e *ArgError) Error() string {
	return fmt.Sprintf("extra_args[%d]: %s", e.Index, e.msg)
}

func (e *ArgError) Unwrap() error { return e.Err }

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

// Validate checks extra_args: every element is either a known llama-server
// flag that the launcher neither owns nor denies, or a valid value right
// after a flag that takes one. It returns nil or an *ArgError for the first
// problem found.
func Validate(args []string) error {
	seen := make(map[int]int) // table index -> index in args
	for i := 0; i < len(args); i++ {
		a := args[i]
		if hasBadCharacters(a) {
			return newErr(i, a, "", ErrBadCharacters, "%s contains a NUL or line-break character: remove it", quote(a))
		}
		if !looksLikeFlag(a) {
			return newErr(i, a, "", ErrNotAFlag, "%s is not a flag (values follow their flag)", quote(a))
		}
		t, ok := lookup(a)
		if !ok {
			if name, _, found := strings.Cut(a, "="); found {
				if _, known := lookup(name); known {
					return newErr(i, a, name, ErrUnknownFlag,
						"llama-server does not accept %s: give %s and its value as two entries", quote(a), quote(name))
				}
			}
			return newErr(i, a, "", ErrUnknownFlag, "unknown llama-server flag %s", quote(a))
		}
		f := &table[t]
		switch {
		case f.OwnedBy == alwaysSet:
			return newErr(i, a, a, ErrOwnedFlag, "%s is always set by the launcher: remove it", quote(a))
		case f.OwnedBy != "":
			return newErr(i, a, a, ErrOwnedFlag, "%s is set by the launcher: use `%s`", quote(a), f.OwnedBy)
		case f.Denied != "":
			return newErr(i, a, a, ErrDeniedFlag, "%s is not allowed: %s", quote(a), f.Denied)
		}
		if first, dup := seen[t]; dup && !f.Repeatable {
			return newErr(i, a, a, ErrRepeatedFlag,
				"%s repeats extra_args[%d] (%s): give the flag once", quote(a), first, quote(args[first]))
		}
		seen[t] = i

		n := f.values()
		for k := 1; k <= n; k++ {
			j := i + k
			if j >= len(args) {
				return missingValue(i, a, n)
			}
			v := args[j]
			if hasBadCharacters(v) {
				return newErr(j, v, a, ErrBadCharacters,
					"the value of %s contains a NUL or line-break character: remove it", quote(a))
			}
			if _, isFlag := lookup(v); isFlag {
				return missingValue(i, a, n)
			}
			if want := checkValue(f, v); want != "" {
				return newErr(j, v, a, ErrInvalidValue,
					"%s is not a valid value for %s (want %s)", quote(v), quote(a), want)
			}
		}
		i += n
	}
	return nil
}

func missingValue(i int, flag string, n int) error {
	if n == 1 {
		return newErr(i, flag, flag, ErrMissingValue, "%s needs a value", quote(flag))
	}
	return newErr(i, flag, flag, ErrMissingValue, "%s needs %d values", quote(flag), n)
}

func newErr(i int, arg, flag string, err error, format string, a ...any) error {
	return &ArgError{Index: i, Arg: arg, Flag: flag, Err: err, msg: fmt.Sprintf(format, a...)}
}

// quote quotes s for a message, shortened when long.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

func hasBadCharacters(s string) bool {
	return strings.ContainsAny(s, "\x00\n\r")
}

// looksLikeFlag reports whether s is written like a flag: a dash and more,
// but not a negative number.
func looksLikeFlag(s string) bool {
	return len(s) > 1 && s[0] == '-' && !isFloat(s)
}

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

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isUint(s string) bool {
	if !isDigits(s) {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// isFloat reports whether s is a finite decimal number that fits a 32-bit
// float: [+-]digits[.digits][e[+-]digits]. Hexadecimal, inf and nan are
// refused.
func isFloat(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	if i != len(s) {
		return false
	}
	_, err := strconv.ParseFloat(s, 32)
	return err == nil
}

func isPath(s string) bool {
	return s != "" && s[0] != '-'
}

func isCPUMask(s string) bool {
	if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func isCPURange(s string) bool {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok || !isDigits(lo) || !isDigits(hi) {
		return false
	}
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	return err1 == nil && err2 == nil && l <= h && h < 512
}

func isLogitBias(s string) bool {
	i := strings.IndexAny(s, "+-")
	if i <= 0 || !isDigits(s[:i]) {
		return false
	}
	if _, err := strconv.ParseInt(s[:i], 10, 32); err != nil {
		return false
	}
	bias := s[i+1:]
	return bias == "inf" || (isFloat(bias) && bias[0] != '+' && bias[0] != '-')
}

func isKVOverride(s string) bool {
	key, rest, ok := strings.Cut(s, "=")
	if !ok || key == "" || len(key) > 127 {
		return false
	}
	typ, val, ok := strings.Cut(rest, ":")
	if !ok {
		return false
	}
	switch typ {
	case "int":
		_, err := strconv.ParseInt(val, 10, 64)
		return err == nil
	case "float":
		return isFloat(val)
	case "bool":
		return val == "true" || val == "false"
	case "str":
		return len(val) <= 127
	}
	return false
}

func isTensorOverride(s string) bool {
	pattern, buft, ok := strings.Cut(s, "=")
	return ok && pattern != "" && buft != "" && !strings.Contains(buft, "=")
}

func isScaledPath(s string) bool {
	parts := strings.Split(s, ":")
	return len(parts) == 2 && isPath(parts[0]) && isFloat(parts[1])
}

func isHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || !isDigits(port) {
		return false
	}
	p, err := strconv.Atoi(port)
	return err == nil && p >= 1 && p <= 65535
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
