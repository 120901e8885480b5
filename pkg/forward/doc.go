// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package forward computes the forward pass of llama-family models (GGUF
// general.architecture "llama" or "qwen2") in plain Go: the attention
// probabilities of chosen layers and the next-token logits of a prompt, as
// llama.cpp computes them when it evaluates the prompt in one batch.
//
// Weights stay in the file. Each matrix is read a block of rows at a time,
// dequantized (bit-identically to ggml: with gguf.Dequantize, or for F32,
// F16 and Q8_0 with equivalent decoders that write into a reused buffer)
// and dotted with every token's activation, so that decoding a row is paid
// once per batch, not once per token. Memory is the activations plus a few
// hundred kilobytes of scratch, not the model. Any tensor type
// gguf.Dequantize handles works: F32, F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K.
//
// A forward pass is written here rather than bound from llama.cpp so that
// the collector keeps building without cgo and runs anywhere; it is meant
// for bounded background jobs (scoring a prompt, looking at attention), not
// for serving. Run is single-threaded by design: it uses the calling
// goroutine only, and callers bound the work by the number of tokens and
// layers they ask for. The dot products use gonum's float32 BLAS level-1
// routines (pure Go with Go assembly on amd64, no cgo), which are about
// four times as fast as a scalar Go loop; everything else (RMS norm,
// rotary embeddings, softmax, SwiGLU) is a few lines each, written to
// follow ggml's order of float32 operations.
//
// The computation, per block: RMSNorm (attn_norm) → Q, K, V projections
// (plus their biases when the file has them, as qwen2 files do) → rotary
// embeddings (llama: ggml's NORM mode, rotating adjacent pairs; qwen2: NEOX
// mode, rotating i with i+d/2) → grouped-query causal attention with scale
// 1/√head_dim (query head h reads key/value head h/(Heads/HeadsKV)) →
// attn_output → residual → RMSNorm (ffn_norm) → SwiGLU feed-forward
// (ffn_down(silu(ffn_gate x) · ffn_up x)) → residual; then output_norm and
// output, or token_embd when the model ties them. What llama.cpp reads for
// these two architectures beyond that is read too: linear rope scaling
// (<arch>.rope.scaling.factor or rope.scale_linear), Llama 3's
// rope_freqs.weight, and for llama the optional biases of attn_output and
// the feed-forward matrices.
//
// New refuses, naming the reason, what it cannot compute as llama.cpp
// does: other architectures, rope scaling other than linear (YaRN,
// LongRoPE), rotary embeddings over part of a head (llama.cpp refuses them
// for these architectures too), mixture-of-experts, head counts that vary
// by layer, and tensor types gguf cannot dequantize. llama and qwen2 GGUFs
// have no sliding-window attention, and <arch>.attention.scale is ignored,
// as llama.cpp ignores it for them.
package forward // import "github.com/llamatelemetry/otelcol-llt/pkg/forward"
