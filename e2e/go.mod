module github.com/llamatelemetry/otelcol-llt/e2e

go 1.26.8

replace (
	github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter => ../exporter/graphistryexporter
	github.com/llamatelemetry/otelcol-llt/internal/browsertest => ../internal/browsertest
	github.com/llamatelemetry/otelcol-llt/internal/fakenvml => ../internal/fakenvml
	github.com/llamatelemetry/otelcol-llt/internal/llamatest => ../internal/llamatest
	github.com/llamatelemetry/otelcol-llt/internal/sharedcomponent => ../internal/sharedcomponent
	github.com/llamatelemetry/otelcol-llt/pkg/gguf => ../pkg/gguf
)

require (
	github.com/llamatelemetry/otelcol-llt/internal/browsertest v0.0.0-00010101000000-000000000000
	github.com/llamatelemetry/otelcol-llt/internal/fakenvml v0.0.0-00010101000000-000000000000
	github.com/llamatelemetry/otelcol-llt/internal/llamatest v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.6
)

require (
	github.com/expr-lang/expr v1.17.8
	github.com/llamatelemetry/otelcol-llt/pkg/gguf v0.0.0-00010101000000-000000000000
	github.com/open-telemetry/opentelemetry-collector-contrib/extension/observer v0.161.0
	github.com/openai/openai-go/v3 v3.102.0
	go.opentelemetry.io/collector/pdata v1.71.0
	gonum.org/v1/gonum v0.17.0
	google.golang.org/grpc v1.85.0
)

require (
	github.com/apache/arrow-go/v18 v18.8.0 // indirect
	github.com/coder/websocket v1.8.15 // indirect
	github.com/goccy/go-json v0.10.6 // indirect
	github.com/google/flatbuffers v25.12.19+incompatible // indirect
	github.com/hashicorp/go-version v1.9.0 // indirect
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/klauspost/cpuid/v2 v2.4.0 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.3-0.20250322232337-35a7c28c31ee // indirect
	github.com/pierrec/lz4/v4 v4.1.33 // indirect
	github.com/tidwall/gjson v1.20.0 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.1 // indirect
	github.com/tidwall/sjson v1.2.5 // indirect
	github.com/zeebo/xxh3 v1.1.0 // indirect
	go.opentelemetry.io/collector/featuregate v1.71.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	golang.org/x/exp v0.0.0-20260112195511-716be5621a96 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/chromedp/chromedp v0.23.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/llamatelemetry/otelcol-llt/exporter/graphistryexporter v0.0.0-00010101000000-000000000000
)
