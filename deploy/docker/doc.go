// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package docker holds the tests of otelcol-llt's container build (Dockerfile, its ignore file and
// the sidecar config). No Docker engine runs on the build machines, so the Dockerfile is checked by
// parsing it with BuildKit's own Dockerfile parser, not by building it.
package docker
