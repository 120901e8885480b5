// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package nvmlreceiver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver/internal/metadata"
)

// discover opens the selected GPUs, and the MIG devices of those in MIG mode, and reads their
// identity. A MIG device selected by UUID is read alone, without its GPU.
func (s *nvmlScraper) discover(lib gpuLibrary) (gpus []*gpuState, skipped []error) {
	driver, err := lib.DriverVersion()
	if err != nil {
		s.logger.Debug("driver version unknown", zap.Error(err))
	}
	cuda := ""
	if v, err := lib.CUDADriverVersion(); err == nil {
		cuda = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	} else {
		s.logger.Debug("CUDA driver version unknown", zap.Error(err))
	}

	selected := s.cfg.Devices
	if len(selected) == 0 {
		n, err := lib.DeviceCount()
		if err != nil {
			return nil, []error{err}
		}
		for i := range n {
			selected = append(selected, strconv.Itoa(i))
		}
	}
	seen := map[string]bool{}
	add := func(g *gpuState) bool {
		if seen[g.uuid] {
			return false
		}
		seen[g.uuid] = true
		gpus = append(gpus, g)
		return true
	}
	for _, sel := range selected {
		var dev device
		var err error
		if i, convErr := strconv.Atoi(sel); convErr == nil {
			dev, err = lib.DeviceByIndex(i)
		} else {
			dev, err = lib.DeviceByUUID(sel)
		}
		if err != nil {
			skipped = append(skipped, fmt.Errorf("GPU %s: %w", sel, err))
			continue
		}
		g, err := s.identify(dev, sel, driver, cuda, nil)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("GPU %s: %w", sel, err))
			continue
		}
		if !add(g) || g.mig {
			continue
		}
		migs, errs := s.migDevices(g, driver, cuda)
		skipped = append(skipped, errs...)
		for _, m := range migs {
			add(m)
		}
	}
	return gpus, skipped
}

// migDevices opens the MIG devices of g when its MIG mode is enabled.
func (s *nvmlScraper) migDevices(g *gpuState, driver, cuda string) (migs []*gpuState, skipped []error) {
	on, err := g.dev.MIGEnabled()
	switch {
	case errors.Is(err, ErrNotSupported), errors.Is(err, ErrFunctionNotFound):
		return nil, nil // a GPU without MIG, or a driver older than MIG
	case err != nil:
		return nil, []error{fmt.Errorf("MIG devices of GPU %s: %w", g.name, err)}
	case !on:
		return nil, nil
	}
	g.migEnabled = true
	devs, err := g.dev.MIGDevices()
	if err != nil {
		skipped = append(skipped, fmt.Errorf("MIG devices of GPU %s: %w", g.name, err))
	}
	for _, d := range devs {
		m, err := s.identify(d, "", driver, cuda, g)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("a MIG device of GPU %s: %w", g.name, err))
			continue
		}
		migs = append(migs, m)
	}
	if len(devs) == 0 && err == nil {
		s.logger.Debug("GPU in MIG mode has no MIG device (no compute instance)", zap.String("gpu", g.name), zap.String("uuid", g.uuid))
	}
	return migs, skipped
}

// identify reads the identity of a GPU or MIG device (the UUID is required) and builds its
// resource. parent is the GPU a MIG device was found under, nil when it was selected itself.
func (s *nvmlScraper) identify(dev device, sel, driver, cuda string, parent *gpuState) (*gpuState, error) {
	uuid, err := dev.UUID()
	if err != nil {
		return nil, err
	}
	g := &gpuState{dev: dev, uuid: uuid, index: -1, name: uuid, unsupported: map[query]bool{}, failures: map[query]int{}}
	rb := s.mb.NewResourceBuilder()
	mig, err := dev.MIGInfo()
	if err != nil {
		s.logger.Debug("MIG identity incomplete", zap.String("uuid", uuid), zap.Error(err))
	}
	// A MIG device whose MIG identity NVML did not give is still known by its UUID.
	if mig.IsMIG || (err != nil && strings.HasPrefix(uuid, "MIG-")) {
		g.mig = true
		s.identifyMIG(g, rb, mig, parent)
	} else {
		if g.index, err = dev.Index(); err != nil {
			// Use the index the config gave, if any.
			if g.index, err = strconv.Atoi(sel); err != nil {
				g.index = -1
			}
		}
		if g.index >= 0 {
			g.name = "gpu" + strconv.Itoa(g.index)
			rb.SetHwGpuIndex(int64(g.index))
		}
	}
	name, err := dev.Name()
	if err != nil {
		s.logger.Debug("GPU name unknown", zap.String("uuid", uuid), zap.Error(err))
	}
	bus, err := dev.PCIBusID()
	if err != nil {
		s.logger.Debug("GPU PCI bus id unknown", zap.String("uuid", uuid), zap.Error(err))
	}
	rb.SetHwID(uuid)
	rb.SetHwName(g.name)
	rb.SetHwType("gpu")
	rb.SetHwVendor("NVIDIA")
	if name != "" {
		rb.SetHwModel(name)
	}
	if bus != "" {
		rb.SetHwGpuPciBusID(bus)
	}
	if driver != "" {
		rb.SetNvidiaDriverVersion(driver)
	}
	if cuda != "" {
		rb.SetNvidiaCudaDriverVersion(cuda)
	}
	g.resource = rb.Emit()
	return g, nil
}

// identifyMIG names a MIG device after its GPU (gpu0/mig1, as nvidia-smi numbers MIG devices)
// and links it to the GPU with hw.parent, the semantic conventions' attribute for the hw.id of
// the component a component is part of.
func (s *nvmlScraper) identifyMIG(g *gpuState, rb *metadata.ResourceBuilder, mig migInfo, parent *gpuState) {
	parentUUID, parentIndex := "", -1
	switch {
	case parent != nil:
		parentUUID, parentIndex = parent.uuid, parent.index
	case mig.Parent != nil: // selected by its UUID
		var err error
		if parentUUID, err = mig.Parent.UUID(); err != nil {
			s.logger.Debug("UUID of a MIG device's GPU unknown", zap.String("uuid", g.uuid), zap.Error(err))
		}
		if parentIndex, err = mig.Parent.Index(); err != nil {
			parentIndex = -1
			s.logger.Debug("index of a MIG device's GPU unknown", zap.String("uuid", g.uuid), zap.Error(err))
		}
	}
	if parentIndex >= 0 && mig.Index >= 0 {
		g.name = fmt.Sprintf("gpu%d/mig%d", parentIndex, mig.Index)
	}
	if parentUUID != "" {
		rb.SetHwParent(parentUUID)
	}
	if mig.GPUInstanceID >= 0 {
		rb.SetNvidiaGpuMigGpuInstanceID(int64(mig.GPUInstanceID))
	}
	if mig.ComputeInstanceID >= 0 {
		rb.SetNvidiaGpuMigComputeInstanceID(int64(mig.ComputeInstanceID))
	}
}
