// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package nvmlreceiver provides the nvml receiver: health and load metrics of every NVIDIA GPU
// through NVML (the library behind nvidia-smi), named after the OpenTelemetry hardware semantic
// conventions (hw.gpu.*, hw.power, hw.energy, hw.temperature, hw.errors, hw.status), with the GPU
// memory of each compute process and the llama-server a launcher runs marked as such.
//
// NVML is reached through cgo (github.com/NVIDIA/go-nvml), loaded at run time: on a host without
// an NVIDIA driver, or in a build without cgo, the receiver starts, logs one warning and emits
// nothing.
//
//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml
package nvmlreceiver // import "github.com/llamatelemetry/otelcol-llt/receiver/nvmlreceiver"
