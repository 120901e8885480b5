module github.com/llamatelemetry/otelcol-llt/pkg/conventions

go 1.26.8
