// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package semconvtest stands in for contrib's pkg/semconvtest, which the proxy serves no zip of.
//
// Only the tests of k8sattributesprocessor import it, so it is never linked into otelcol-llt, but
// ocb runs `go mod tidy` (without -e), which resolves test imports too and fails when the module
// cannot be downloaded. builder-config.yaml replaces the module with this empty one. It has no
// code and no tests on purpose: nothing of ours calls it.
package semconvtest
