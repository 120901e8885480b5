// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package serverflags

import (
	"net"
	"strconv"
	"strings"
)

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
