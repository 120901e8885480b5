// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package helm holds the tests of the otelcol-llt Helm chart (otelcol-llt/) and of the Grafana
// dashboard (../grafana/): lint, rendering with strict Kubernetes decoding, schema checks, config
// validation with the otelcol-llt binary, and dashboard metric names.
package helm
