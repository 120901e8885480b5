// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"fmt"
	"strconv"
	"strings"
)

// parseStat reads the state (field 3) and utime + stime (fields 14 and 15) of a /proc/PID/stat
// line. The command name (field 2) is in parentheses and may hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseStat(stat string) (procSample, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return procSample{}, fmt.Errorf("unexpected /proc stat line %.40q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return procSample{}, fmt.Errorf("unexpected /proc stat line %.40q", stat)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return procSample{}, fmt.Errorf("unexpected /proc stat times %q %q", f[11], f[12])
	}
	return procSample{cpuTicks: utime + stime, stopped: f[0] == "T" || f[0] == "t"}, nil
}
