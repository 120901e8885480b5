// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Command lltmodel writes small random-weight GGUF models that llama.cpp
// serves, and inspects GGUF files: their facts, metadata and tensors.
//
// Usage:
//
//	lltmodel generate [-o llt-tiny.gguf] [-arch llama|qwen2] [-embd 64] [-blocks 2]
//	                  [-heads 4] [-heads-kv N] [-ff 128] [-ctx 2048] [-type f32|f16]
//	                  [-seed 1] [-name NAME]
//	lltmodel inspect [-json] [-tensors=true] FILE
//	lltmodel version
//
// It exits with 0 on success, 1 when the work fails and 2 on a usage error.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
