module github.com/llamatelemetry/otelcol-llt/internal/configtest

go 1.26.8
