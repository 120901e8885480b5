// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package e2e holds the end-to-end tests of the otelcol-llt distribution and the lltmodel tool:
// they run the built binaries (OTELCOL_LLT_BIN, LLTMODEL_BIN; `make test` builds and sets both)
// against a real llama-server started by internal/llamatest.
package e2e // import "github.com/llamatelemetry/otelcol-llt/e2e"
