package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// procSample is what lltbench reads of the collector's process at one moment.
type procSample struct {
	at     time.Time
	cpu    time.Duration // utime + stime of all its threads
	rssKiB int64         // VmRSS
	hwmKiB int64         // VmHWM, the peak of VmRSS
}

// procReader reads /proc/PID/stat and /proc/PID/status; pid 0 reads nothing.
type procReader struct {
	pid    int
	clkTck int
	root   string // "/proc"; tests point it at a fixture
}

// sample reads the process now. Without a PID it returns a sample with the time only.
func (p procReader) sample() (procSample, error) {
	s := procSample{at: time.Now()}
	if p.pid == 0 {
		return s, nil
	}
	dir := p.root + "/" + strconv.Itoa(p.pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return s, err
	}
	if s.cpu, err = parseStatCPU(stat, p.clkTck); err != nil {
		return s, err
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return s, err
	}
	s.rssKiB, s.hwmKiB, err = parseStatusMem(status)
	return s, err
}

// parseStatCPU returns utime + stime (fields 14 and 15 of /proc/PID/stat, in clock ticks) as a
// duration. The command name (field 2) is in parentheses and may hold spaces and parentheses
// itself, so the fields are counted from the last ')'.
func parseStatCPU(stat []byte, clkTck int) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("/proc/PID/stat: no ')' after the command name")
	}
	f := bytes.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/PID/stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, field := range f[11:13] { // fields 14 (utime) and 15 (stime)
		n, err := strconv.ParseInt(string(field), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("/proc/PID/stat: %q is not a tick count", field)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / time.Duration(clkTck), nil
}

// parseStatusMem returns VmRSS and VmHWM (kB) from /proc/PID/status.
func parseStatusMem(status []byte) (rss, hwm int64, err error) {
	found := 0
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		key, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(key) {
		case "VmRSS":
			dst = &rss
		case "VmHWM":
			dst = &hwm
		default:
			continue
		}
		f := bytes.Fields(val)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, 0, fmt.Errorf("/proc/PID/status: %s: %q is not a size in kB", key, bytes.TrimSpace(val))
		}
		if *dst, err = strconv.ParseInt(string(f[0]), 10, 64); err != nil {
			return 0, 0, fmt.Errorf("/proc/PID/status: %s: %q is not a number", key, f[0])
		}
		found++
	}
	if found < 2 {
		return 0, 0, errors.New("/proc/PID/status: no VmRSS or VmHWM (a kernel thread, or a process that ended?)")
	}
	return rss, hwm, nil
}
