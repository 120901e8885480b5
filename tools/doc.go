// Package tools pins the code generators the components use as `go tool`s (mdatagen). It is a
// module of its own so that the generators' dependencies stay out of the components' modules.
package tools // import "github.com/llamatelemetry/otelcol-llt/tools"
