module github.com/llamatelemetry/otelcol-llt/pkg/utf8cut

go 1.26.8
