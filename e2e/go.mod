module github.com/llamatelemetry/otelcol-llt/e2e

go 1.26.8

replace (
	github.com/llamatelemetry/otelcol-llt/internal/llamatest => ../internal/llamatest
	github.com/llamatelemetry/otelcol-llt/pkg/gguf => ../pkg/gguf
)

require (
	github.com/llamatelemetry/otelcol-llt/internal/llamatest v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.5
)

require github.com/llamatelemetry/otelcol-llt/pkg/gguf v0.0.0-00010101000000-000000000000
