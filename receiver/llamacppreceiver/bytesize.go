// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package llamacppreceiver

import (
	"fmt"
	"strconv"
	"strings"
)

// ByteSize is a size in bytes written as a number (1048576) or with a unit: B, KB/MB/GB
// (powers of 1000) or KiB/MiB/GiB (powers of 1024), e.g. 16MiB.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	factor int64
}{ // longest suffixes first
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

// UnmarshalText parses "16MiB", "10MB", "512".
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	factor := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, factor = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/factor {
		return fmt.Errorf("invalid size %q: want a number of bytes such as 1048576, 16MiB or 10MB", text)
	}
	*b = ByteSize(n * factor)
	return nil
}
