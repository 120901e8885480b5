// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// command is what one start of llama-server runs.
type command struct {
	path string   // resolved executable
	argv []string // argv[0] is path
	env  []string // added to the collector's environment
}

// buildCommand turns the configuration into an argv list and environment. It never involves a
// shell: each element is one argument. The API key goes into the environment (LLAMA_API_KEY),
// because a command line is readable by every user of the machine through /proc.
func buildCommand(cfg *Config, path, alias string, port int) command {
	argv := []string{path}
	if cfg.ModelsDir != "" {
		// Router mode: the router passes its own flags on to each model's child.
		argv = append(argv, "--models-dir", cfg.ModelsDir)
		if cfg.ModelsMax > 0 {
			argv = append(argv, "--models-max", strconv.Itoa(cfg.ModelsMax))
		}
	} else {
		argv = append(argv, "--model", cfg.Model)
	}
	argv = append(argv,
		"--host", cfg.Host,
		"--port", strconv.Itoa(port),
		"--ctx-size", strconv.Itoa(cfg.ContextSize),
		"--parallel", strconv.Itoa(cfg.Parallel),
		"--metrics", "--slots",
		// The log parser reads the level letter and the server's own timestamp from each line.
		"--log-prefix", "--log-timestamps",
	)
	if cfg.ModelsDir == "" {
		argv = append(argv, "--alias", alias)
	}
	if cfg.Threads > 0 {
		argv = append(argv, "--threads", strconv.Itoa(cfg.Threads))
	}
	var env []string
	g := &cfg.GPU
	if len(g.Devices) == 0 {
		// CPU only: hide every GPU and offload nothing.
		env = append(env, "CUDA_VISIBLE_DEVICES=")
		argv = append(argv, "--n-gpu-layers", "0")
	} else {
		devs := make([]string, len(g.Devices))
		for i, d := range g.Devices {
			devs[i] = strconv.Itoa(d)
		}
		// CUDA numbers devices fastest first unless told otherwise; NVML and nvidia-smi number
		// them by PCI bus id. Ordering CUDA's by bus id makes `devices` the same GPUs in both,
		// which joining requests to the GPUs' readings relies on.
		env = append(env, "CUDA_DEVICE_ORDER=PCI_BUS_ID", "CUDA_VISIBLE_DEVICES="+strings.Join(devs, ","))
		layers, _ := g.layers() // checked by Validate
		argv = append(argv, "--n-gpu-layers", strconv.Itoa(layers),
			"--split-mode", g.SplitMode,
			"--main-gpu", strconv.Itoa(g.MainGPU))
		if len(g.TensorSplit) > 0 {
			shares := make([]string, len(g.TensorSplit))
			for i, s := range g.TensorSplit {
				shares[i] = strconv.FormatFloat(s, 'g', -1, 64)
			}
			argv = append(argv, "--tensor-split", strings.Join(shares, ","))
		}
	}
	argv = append(argv, "--flash-attn", g.FlashAttn)
	if cfg.Embeddings {
		argv = append(argv, "--embeddings")
	}
	argv = append(argv, cfg.ExtraArgs...)
	if cfg.APIKey != "" {
		env = append(env, "LLAMA_API_KEY="+string(cfg.APIKey))
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.Env)) {
		env = append(env, k+"="+cfg.Env[k])
	}
	return command{path: path, argv: argv, env: env}
}
