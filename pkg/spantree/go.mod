module github.com/llamatelemetry/otelcol-llt/pkg/spantree

go 1.26.8
