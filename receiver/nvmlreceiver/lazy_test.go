// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

//go:build linux

package nvmlreceiver

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkNoBindNow returns an error when the ELF file at path tells the dynamic linker to bind
// every symbol when the program starts: a DT_BIND_NOW entry, DF_BIND_NOW in DT_FLAGS, or
// DF_1_NOW in DT_FLAGS_1 (what `-Wl,-z,now` writes; `readelf -d` shows BIND_NOW and
// "FLAGS_1 Flags: NOW"). go-nvml leaves NVML's symbols undefined until its Init dlopen()s
// libnvidia-ml, so such a binary dies at start on a host without the driver, before main
// runs. A binary without a dynamic section (static, no cgo) has nothing to bind.
func checkNoBindNow(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	if f.Section(".dynamic") == nil {
		return nil
	}
	var errs []error
	if v, err := f.DynValue(elf.DT_BIND_NOW); err != nil {
		return err
	} else if len(v) > 0 {
		errs = append(errs, errors.New("DT_BIND_NOW is set"))
	}
	flags, err := f.DynValue(elf.DT_FLAGS)
	if err != nil {
		return err
	}
	for _, v := range flags {
		if v&uint64(elf.DF_BIND_NOW) != 0 {
			errs = append(errs, errors.New("DT_FLAGS has DF_BIND_NOW"))
		}
	}
	flags1, err := f.DynValue(elf.DT_FLAGS_1)
	if err != nil {
		return err
	}
	for _, v := range flags1 {
		if v&uint64(elf.DF_1_NOW) != 0 {
			errs = append(errs, errors.New("DT_FLAGS_1 has DF_1_NOW"))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s binds symbols at start (link with -Wl,-z,lazy, never -z now): %w", path, errors.Join(errs...))
	}
	return nil
}

// buildLazyMain builds testdata/lazymain (which links this receiver) with cgo.
func buildLazyMain(t *testing.T, out string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append(append([]string{"build", "-o", out}, args...), "./testdata/lazymain")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build with cgo failed (gcc is required):\n%s", lastLines(string(b), 20))
}

func TestLazyBinding(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "lazymain")
	buildLazyMain(t, bin)

	// The binary links go-nvml (not the cgo-less stub) and leaves NVML's symbols to lazy binding.
	f, err := elf.Open(bin)
	require.NoError(t, err)
	syms, err := f.DynamicSymbols()
	require.NoError(t, err)
	require.NoError(t, f.Close())
	undefined := map[string]bool{}
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF {
			undefined[s.Name] = true
		}
	}
	require.True(t, undefined["nvmlInit_v2"], "nvmlInit_v2 should be an undefined dynamic symbol of a cgo build")

	require.NoError(t, checkNoBindNow(bin))

	// It starts here: with no NVML, one warning and no data.
	out, err := exec.Command(bin).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, 1, strings.Count(string(out), "WARN"), string(out))
	hostHasNVML := !strings.Contains(string(out), "nvml library not found")
	if !hostHasNVML {
		assert.Contains(t, string(out), "datapoints=0")
		// The hazard the check guards against: bound at start, the same binary cannot run here.
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "LD_BIND_NOW=1")
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "with LD_BIND_NOW=1 and no libnvidia-ml the binary should not start")
		assert.Contains(t, string(out), "undefined symbol")
	}

	t.Run("-z now is caught", func(t *testing.T) {
		now := filepath.Join(dir, "lazymain-now")
		buildLazyMain(t, now, "-ldflags=-extldflags=-Wl,-z,now")
		err := checkNoBindNow(now)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "NOW")
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
