// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package embed turns the input text of an LLM span into a small,
// privacy-preserving point: a vector made from the served model's own token
// embeddings (or from a server's /v1/embeddings), projected to three
// dimensions by a principal components analysis fitted over a sliding window
// of recent vectors, and a category name for it.
//
// The pieces are independent and each is safe for concurrent use:
//
//   - [ServerTokenizer] turns text into token ids with llama-server's
//     POST /tokenize.
//   - [TokenEmbeddings] reads rows of a GGUF model's token_embd.weight on
//     demand, keeps a bounded cache of dequantized rows, and averages the
//     rows of a prompt's tokens ([TokenEmbeddings.Mean]).
//   - [TokenMeanEmbedder] joins the two into an [Embedder];
//     [ServerEmbedder] is the other Embedder, backed by POST /v1/embeddings.
//   - [Projector] keeps a sliding window of vectors, refits a 3-component
//     PCA on it now and then, and projects each new vector to a point whose
//     axes keep their orientation from one fit to the next.
//   - [Categorizer] names a point: the first [Rule] whose regular
//     expression matches the text, else the cluster ("cluster-<i>") that a
//     small seeded k-means over recent points puts it in.
//
// Memory is bounded everywhere: the row cache by bytes, the projection and
// clustering windows by count, HTTP response bodies by size, and Mean uses at
// most [MaxMeanTokens] tokens.
package embed
