module github.com/llamatelemetry/otelcol-llt/cmd/lltbench

go 1.26.8

require (
	github.com/llamatelemetry/otelcol-llt/pkg/llamaclient v0.0.0-00010101000000-000000000000
	github.com/llamatelemetry/otelcol-llt/pkg/sse v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

replace github.com/llamatelemetry/otelcol-llt/pkg/llamaclient => ../../pkg/llamaclient

replace github.com/llamatelemetry/otelcol-llt/pkg/sse => ../../pkg/sse
