// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package launcher

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBuildCommand(t *testing.T) {
	base := func() *Config {
		cfg := createDefaultConfig()
		cfg.Model = "/models/m.gguf"
		return cfg
	}
	common := []string{"/bin/llama-server", "--model", "/models/m.gguf", "--host", "127.0.0.1", "--port", "8080",
		"--ctx-size", "4096", "--parallel", "4", "--metrics", "--slots", "--log-prefix", "--log-timestamps", "--alias", "m"}
	tests := []struct {
		name string
		cfg  func() *Config
		argv []string
		env  []string
	}{
		{
			name: "default: GPU 0, all layers",
			cfg:  base,
			argv: append(append([]string{}, common...), "--n-gpu-layers", "999", "--split-mode", "layer", "--main-gpu", "0", "--flash-attn", "auto"),
			env:  []string{"CUDA_DEVICE_ORDER=PCI_BUS_ID", "CUDA_VISIBLE_DEVICES=0"},
		},
		{
			name: "two GPUs with tensor split",
			cfg: func() *Config {
				cfg := base()
				cfg.GPU.Devices = []int{0, 1}
				cfg.GPU.TensorSplit = []float64{0.5, 0.5}
				cfg.GPU.Layers = "32"
				cfg.GPU.FlashAttn = "on"
				return cfg
			},
			argv: append(append([]string{}, common...), "--n-gpu-layers", "32", "--split-mode", "layer", "--main-gpu", "0",
				"--tensor-split", "0.5,0.5", "--flash-attn", "on"),
			env: []string{"CUDA_DEVICE_ORDER=PCI_BUS_ID", "CUDA_VISIBLE_DEVICES=0,1"},
		},
		{
			name: "CPU only",
			cfg: func() *Config {
				cfg := base()
				cfg.GPU.Devices = []int{}
				return cfg
			},
			argv: append(append([]string{}, common...), "--n-gpu-layers", "0", "--flash-attn", "auto"),
			env:  []string{"CUDA_VISIBLE_DEVICES="},
		},
		{
			name: "threads, embeddings, extra args, key and env",
			cfg: func() *Config {
				cfg := base()
				cfg.GPU.Devices = nil
				cfg.Threads = 8
				cfg.Embeddings = true
				cfg.ExtraArgs = []string{"--temp", "0.2"}
				cfg.APIKey = "k"
				cfg.Env = map[string]string{"B": "2", "A": "1"}
				return cfg
			},
			argv: append(append([]string{}, common...), "--threads", "8", "--n-gpu-layers", "0", "--flash-attn", "auto",
				"--embeddings", "--temp", "0.2"),
			env: []string{"CUDA_VISIBLE_DEVICES=", "LLAMA_API_KEY=k", "A=1", "B=2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := buildCommand(tt.cfg(), "/bin/llama-server", "m", 8080)
			assert.Equal(t, tt.argv, c.argv)
			assert.Equal(t, tt.env, c.env)
			assert.NotContains(t, c.argv, "k", "the API key must never be on the command line")
		})
	}
}
