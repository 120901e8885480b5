// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package llamaclient holds what otelcol-llt's HTTP clients of llama-server share: the API key
// header ([SetAPIKey]), a bounded read of an answer ([ReadBody]) and the message of
// llama-server's error body ([ErrorMessage]). The llamacpp receiver's scraper, genaienrich's
// /tokenize and /v1/embeddings clients and lltload use it; each keeps its own error wording.
//
// llama-server answers a failed request with a JSON error body in the shape of OpenAI's (its
// format_error_response):
//
//	{"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}}
package llamaclient // import "github.com/llamatelemetry/otelcol-llt/pkg/llamaclient"
