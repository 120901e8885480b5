module github.com/llamatelemetry/otelcol-llt/pkg/forward

go 1.26.8

replace (
	github.com/llamatelemetry/otelcol-llt/internal/llamatest => ../../internal/llamatest
	github.com/llamatelemetry/otelcol-llt/pkg/gguf => ../gguf
)

require (
	github.com/llamatelemetry/otelcol-llt/internal/llamatest v0.0.0-00010101000000-000000000000
	github.com/llamatelemetry/otelcol-llt/pkg/gguf v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	gonum.org/v1/gonum v0.17.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
