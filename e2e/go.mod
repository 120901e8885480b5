module github.com/llamatelemetry/otelcol-llt/e2e

go 1.26.8

replace (
	github.com/llamatelemetry/otelcol-llt/internal/browsertest => ../internal/browsertest
	github.com/llamatelemetry/otelcol-llt/internal/llamatest => ../internal/llamatest
	github.com/llamatelemetry/otelcol-llt/pkg/gguf => ../pkg/gguf
)

require (
	github.com/llamatelemetry/otelcol-llt/internal/browsertest v0.0.0-00010101000000-000000000000
	github.com/llamatelemetry/otelcol-llt/internal/llamatest v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.5
)

require github.com/llamatelemetry/otelcol-llt/pkg/gguf v0.0.0-00010101000000-000000000000

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/chromedp/chromedp v0.23.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
)
