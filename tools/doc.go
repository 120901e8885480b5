// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package tools pins the code generators the components use as `go tool`s (mdatagen), and holds
// the repository's own checks (chlogvalidate, which `make lint` runs). It is a module of its own so
// that the generators' dependencies stay out of the components' modules.
package tools // import "github.com/llamatelemetry/otelcol-llt/tools"
