// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package plotlyjs holds the plotly.js bundle the plotlyhtml exporter writes into its pages.
//
// The bundle (npm package plotly.js-dist-min, MIT licence) is fetched at build time by
// scripts/fetch-plotlyjs.sh into dist/ and embedded here; it is not committed. A build made
// without it (for example by an ocb manifest that does not run the script) still works: Script
// reports it missing, and the exporter then asks for `plotlyjs: cdn` or `plotlyjs_file`.
package plotlyjs // import "github.com/llamatelemetry/otelcol-llt/exporter/plotlyhtmlexporter/internal/plotlyjs"

import (
	"crypto/sha512"
	"embed"
	"encoding/base64"
	"fmt"
	"os"
)

const (
	// Version is the pinned plotly.js version (scripts/fetch-plotlyjs.sh fetches the same).
	Version = "4.1.2"
	// SRI is the subresource-integrity hash of plotly.min.js 4.1.2, the file the npm package
	// and the plotly CDN both serve for this version.
	SRI = "sha384-hHv6D3tTUUBpp4tVv6t2Dc3oGuRhphmWOTKUR8jWyN0Pnon1g3iebKCNDNmKmxo8"
	// CDNURL is where `plotlyjs: cdn` pages load the bundle from (as plotly.py's include_plotlyjs="cdn").
	CDNURL = "https://cdn.plot.ly/plotly-" + Version + ".min.js"
	// FileName is the name `plotlyjs: directory` gives the bundle beside the page.
	FileName = "plotly.min.js"
)

//go:embed dist
var dist embed.FS

// Embedded returns the embedded bundle, or false when the build did not include it.
func Embedded() ([]byte, bool) {
	b, err := dist.ReadFile("dist/" + FileName)
	if err != nil || len(b) == 0 {
		return nil, false
	}
	return b, true
}

// License returns the bundle's licence text, or "" when the build did not include it.
func License() string {
	b, err := dist.ReadFile("dist/LICENSE")
	if err != nil {
		return ""
	}
	return string(b)
}

// Load returns the bundle from file when it is not empty, else the embedded one.
// The result must be a plotly.js bundle: a file that does not start with plotly.js's banner is refused.
func Load(file string) ([]byte, error) {
	if file == "" {
		b, ok := Embedded()
		if !ok {
			return nil, fmt.Errorf("plotly.js %s is not embedded in this build (run scripts/fetch-plotlyjs.sh before building, "+
				"or set plotlyjs_file to a plotly.min.js, or use plotlyjs: cdn)", Version)
		}
		return b, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("plotlyjs_file: %w", err)
	}
	if !looksLikePlotly(b) {
		return nil, fmt.Errorf("plotlyjs_file: %s does not look like a plotly.js bundle (no \"plotly.js v\" banner)", file)
	}
	return b, nil
}

// Integrity computes the sha384 subresource-integrity value of b.
func Integrity(b []byte) string {
	sum := sha512.Sum384(b)
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}

func looksLikePlotly(b []byte) bool {
	const banner = "plotly.js v"
	head := b[:min(len(b), 256)]
	for i := 0; i+len(banner) <= len(head); i++ {
		if string(head[i:i+len(banner)]) == banner {
			return true
		}
	}
	return false
}
