// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !(linux && cgo)

package nvmlreceiver

import (
	"fmt"
	"runtime"
)

// newLibrary returns a library that never initialises: NVML needs cgo on linux (go-nvml does
// not compile without cgo). The receiver then warns once and emits nothing.
func newLibrary(string) gpuLibrary { return unavailableLibrary{} }

type unavailableLibrary struct{}

func (unavailableLibrary) err() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("%w: not supported on %s", ErrUnavailable, runtime.GOOS)
	}
	return fmt.Errorf("%w: built without cgo", ErrUnavailable)
}

func (l unavailableLibrary) Init() error                       { return l.err() }
func (l unavailableLibrary) Shutdown() error                   { return l.err() }
func (l unavailableLibrary) DriverVersion() (string, error)    { return "", l.err() }
func (l unavailableLibrary) CUDADriverVersion() (int, error)   { return 0, l.err() }
func (l unavailableLibrary) DeviceCount() (int, error)         { return 0, l.err() }
func (l unavailableLibrary) DeviceByIndex(int) (device, error) { return nil, l.err() }
func (l unavailableLibrary) DeviceByUUID(string) (device, error) {
	return nil, l.err()
}
func (l unavailableLibrary) WatchXIDs([]device) (xidSource, error) { return nil, l.err() }
