module github.com/llamatelemetry/otelcol-llt/pkg/vizlinks

go 1.26.8
