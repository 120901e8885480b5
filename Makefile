# otelcol-llt: build, run and test the distribution and its components.
#   make run     build, provision llama-server and a demo model, start the collector (RUN_FOR=30s stops it)
#   make test    every module's tests (with -race) plus the end-to-end tests, on a real llama-server
# (make test-unit runs the tests that need neither; make lint the checks; CONTRIBUTING.md says more.)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO          ?= go
OCB_VERSION := v0.165.0
GOLANGCI_LINT_VERSION := v2.15.0
TOOLS_BIN   := $(CURDIR)/.tools/bin
OCB         := $(TOOLS_BIN)/builder
GOLANGCI_LINT := $(TOOLS_BIN)/golangci-lint
OUT         := $(CURDIR)/out
BIN_DIR     := $(CURDIR)/bin
OTELCOL     := $(CURDIR)/otelcol-llt/otelcol-llt
LLTMODEL    := $(BIN_DIR)/lltmodel
LLTLOAD     := $(BIN_DIR)/lltload
LLTBENCH    := $(BIN_DIR)/lltbench
# plotly.js for the plotlyhtml exporter: fetched (pinned, checksummed) and embedded, not committed.
PLOTLYJS    := exporter/plotlyhtmlexporter/internal/plotlyjs/dist/plotly.min.js
DEMO_MODEL  := $(OUT)/models/llt-demo.gguf
CONFIG      ?= config.yaml
RUN_FOR     ?=
LOAD_QPS    ?=
FUZZTIME    ?= 1m
# Every parser of outside data, as module-folder:FuzzTarget.
FUZZ_TARGETS := pkg/gguf:FuzzRead pkg/sse:FuzzSSE pkg/llamalog:FuzzParseLine pkg/llamalog:FuzzScan \
                launcher/internal/serverflags:FuzzValidate \
                receiver/llamacppreceiver:FuzzSlots receiver/llamacppreceiver:FuzzMetrics \
                receiver/llamacppreceiver/internal/gateway:FuzzStreamTap receiver/llamacppreceiver/internal/gateway:FuzzDecodeResponse \
                exporter/plotlyhtmlexporter/internal/downsample:FuzzLTTB exporter/plotlyhtmlexporter/internal/tracelayout:FuzzLayout \
                cmd/lltload:FuzzReadSSE \
                processor/genaienrichprocessor/internal/normalize:FuzzAttributes processor/genaienrichprocessor/internal/embed:FuzzProjectorCategorizer \
                processor/genaienrichprocessor/internal/tokenize:FuzzSPM \
                exporter/graphistryexporter/internal/graph:FuzzBuild pkg/spantree:FuzzBreakCycles pkg/utf8cut:FuzzPrefix \
                exporter/plotlyhtmlexporter/internal/store:FuzzDecodeAttention pkg/forward:FuzzNew
# Every Go module of ours except the generated distribution (built through ocb).
MODULES := $(sort $(patsubst ./%/go.mod,%,$(shell find . \( -name node_modules -o -name .git \) -prune -o -name go.mod \
             -not -path './otelcol-llt/*' -not -path './.tools/*' -not -path './out/*' -not -path '*/testdata/*' -print)))

export CGO_ENABLED ?= 1

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-18s %s\n", $$1, $$2 }'

$(OCB):
	GOBIN=$(TOOLS_BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

$(GOLANGCI_LINT):
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

.PHONY: tools
tools: $(OCB) $(GOLANGCI_LINT) ## install the build tools (ocb, golangci-lint) into .tools/bin

.PHONY: generate
generate: $(OCB) ## regenerate the components' mdatagen files and otelcol-llt/ from builder-config.yaml
	@for m in $(MODULES); do if grep -rqs --include=doc.go '^//go:generate' $$m; then \
	  echo "== go generate $$m"; (cd $$m && $(GO) generate ./...); fi; done
	$(OCB) --config builder-config.yaml --skip-compilation

.PHONY: check-generated
check-generated: generate ## fail when generated files differ from what `make generate` produces
	@paths="otelcol-llt :(glob)**/internal/metadata/** :(glob)**/generated_*.go :(glob)**/documentation.md"; \
	if [ -n "$$(git status --porcelain -- $$paths)" ]; then \
	  git status --short -- $$paths; git --no-pager diff --stat -- $$paths; \
	  echo "the tree is not what 'make generate' produces: run it and commit the result" >&2; exit 1; fi

.PHONY: build
build: $(OTELCOL) $(LLTMODEL) $(LLTLOAD) ## build otelcol-llt, lltmodel and lltload

.PHONY: plotlyjs
plotlyjs: $(PLOTLYJS) ## fetch the pinned plotly.js the plotlyhtml exporter embeds

$(PLOTLYJS): scripts/fetch-plotlyjs.sh
	scripts/fetch-plotlyjs.sh
	@touch $@

.PHONY: interop
interop: ## install the Node.js interop harness (pinned GenAI SDKs, e2e/interop) and print its path
	@scripts/provision-interop.sh

.PHONY: chromium
chromium: ## make a headless Chromium available for the dashboard tests (prints its path)
	@scripts/provision-chromium.sh

# The distribution's sources are committed; compile them as ocb would, without regenerating.
$(OTELCOL): $(OCB) $(PLOTLYJS) builder-config.yaml $(shell find otelcol-llt receiver processor exporter launcher pkg internal \
              -name '*.go' -not -name '*_test.go' -o -name go.mod 2>/dev/null)
	$(OCB) --config builder-config.yaml --skip-generate --skip-get-modules

$(LLTMODEL): $(shell find cmd/lltmodel pkg/gguf -name '*.go' -o -name go.mod)
	cd cmd/lltmodel && $(GO) build -trimpath -o $(LLTMODEL) .

$(LLTLOAD): $(shell find cmd/lltload pkg/sse pkg/llamaclient -name '*.go' -o -name go.mod)
	cd cmd/lltload && $(GO) build -trimpath -o $(LLTLOAD) .

$(LLTBENCH): $(shell find cmd/lltbench pkg/sse pkg/llamaclient -name '*.go' -o -name go.mod)
	cd cmd/lltbench && $(GO) build -trimpath -o $(LLTBENCH) .

.PHONY: provision
provision: ## make a real llama-server available (prints its path)
	@scripts/provision-llama-server.sh

$(DEMO_MODEL): $(LLTMODEL)
	$(LLTMODEL) generate -o $@

.PHONY: model
model: $(DEMO_MODEL) ## generate the demo model (out/models/llt-demo.gguf)

.PHONY: run
run: build ## build, provision, and start otelcol-llt --config $(CONFIG) (RUN_FOR=30s stops it)
	@OTELCOL=$(OTELCOL) LLTMODEL=$(LLTMODEL) LLTLOAD=$(LLTLOAD) LOAD_QPS="$(LOAD_QPS)" DEMO_MODEL=$(DEMO_MODEL) RUN_FOR="$(RUN_FOR)" \
	  scripts/run.sh --config $(CONFIG)

.PHONY: test
test: check-generated build ## run every test, including the real llama-server and Chromium end-to-end tests
# (e2e/TestMakeRunLeavesDashboard runs `make run RUN_FOR=60s` and opens its dashboard in Chromium;
#  e2e/TestInstrumentedApplications runs the npm GenAI SDKs that scripts/provision-interop.sh installs.)
	@export LLAMA_SERVER="$$(scripts/provision-llama-server.sh)" CHROMIUM="$$(scripts/provision-chromium.sh)" LLT_E2E=1 \
	  LLT_INTEROP="$$(scripts/provision-interop.sh)" \
	  OTELCOL_LLT_BIN=$(OTELCOL) LLTMODEL_BIN=$(LLTMODEL) LLTLOAD_BIN=$(LLTLOAD) OCB_BIN=$(OCB); \
	for m in $(MODULES); do echo "== go test $$m"; v=; if [ "$$m" = e2e ]; then v=-v; fi; \
	  (cd $$m && $(GO) test -race -count=1 $$v ./...); done
# (e2e runs verbose: its logs are the evidence, e.g. the interop suite's table per SDK and mode.)

# The fault suite alone: the e2e tests named TestChaos* (kill storm, hung server, a thousand
# streams and slow clients, OTLP flood, full and read-only disks), each on the real binary, the
# default config and a real llama-server. `make test` runs them at CI size; CHAOS=long runs the long
# size (more kills, streams and flood).
CHAOS ?=
.PHONY: chaos
chaos: build ## the fault suite (e2e TestChaos*) at CI size; CHAOS=long for the long version
	@export LLAMA_SERVER="$$(scripts/provision-llama-server.sh)" LLT_E2E=1 LLT_CHAOS=$(CHAOS) \
	  OTELCOL_LLT_BIN=$(OTELCOL) LLTMODEL_BIN=$(LLTMODEL) LLTLOAD_BIN=$(LLTLOAD); \
	cd e2e && $(GO) test -race -count=1 -v -timeout 2h -run '^TestChaos' .

# The soak: the default config at 10 requests/s (half streamed) with the dashboards and the
# collector's metrics scraped, sampling the collector's RSS, goroutines, open files and heap each
# minute, and failing when one grows without bound (e2e/soak_test.go says how that is judged).
# `make test` runs it for 90 s. The samples and a summary land in out/soak/.
DURATION ?= 1h
.PHONY: soak
soak: build ## the soak (e2e TestSoak) for DURATION (default 1h): fails when RSS, goroutines, open files or heap grow
	@export LLAMA_SERVER="$$(scripts/provision-llama-server.sh)" LLT_E2E=1 LLT_SOAK_DURATION=$(DURATION) \
	  LLT_SOAK_OUT=$(OUT)/soak OTELCOL_LLT_BIN=$(OTELCOL) LLTMODEL_BIN=$(LLTMODEL) LLTLOAD_BIN=$(LLTLOAD); \
	cd e2e && $(GO) test -count=1 -v -timeout 0 -run '^TestSoak$$' .

# The unit tier: every module but e2e/ (which only runs the built binaries), with no llama-server,
# Chromium or built binary, even where they are installed: the harnesses (internal/llamatest,
# internal/browsertest, deploy/*) are pointed at "none" and LLT_E2E is unset, so the tests that need
# them skip; -short skips the ones that build a binary with `go build`. No -race (make test has it).
UNIT_MODULES := $(filter-out e2e,$(MODULES))

.PHONY: test-unit
test-unit: $(PLOTLYJS) ## every module's tests that need no llama-server, Chromium or built binary (no -race, e2e/ left out)
	@unset LLT_E2E LLT_INTEROP; export LLAMA_SERVER=none CHROMIUM=none OTELCOL_LLT_BIN=none LLTMODEL_BIN=none LLTLOAD_BIN=none; \
	for m in $(UNIT_MODULES); do echo "== go test $$m"; (cd $$m && $(GO) test -short -count=1 ./...); done

.PHONY: bench
bench: build ## run the Go benchmarks of every module (baselines measured in the same run)
	@export LLAMA_SERVER="$$(scripts/provision-llama-server.sh)" LLT_E2E=1; \
	for m in $(MODULES); do echo "== go test -bench $$m"; (cd $$m && $(GO) test -run='^$$' -bench=. -benchmem ./...); done

.PHONY: bench-e2e
bench-e2e: build $(LLTBENCH) ## the default pipeline against llama-server direct: tokens/s, latency, collector CPU and RSS (out/bench-e2e/report.md)
	@OTELCOL=$(OTELCOL) LLTBENCH=$(LLTBENCH) LLTMODEL=$(LLTMODEL) DEMO_MODEL=$(DEMO_MODEL) scripts/bench-e2e.sh

.PHONY: bench-rss
bench-rss: build $(LLTBENCH) ## the collector's memory over 10 minutes at 10 requests/s through the gateway (out/bench-rss/report.md)
	@OTELCOL=$(OTELCOL) LLTBENCH=$(LLTBENCH) LLTLOAD=$(LLTLOAD) LLTMODEL=$(LLTMODEL) DEMO_MODEL=$(DEMO_MODEL) \
	  BENCH_SUITES=rss BENCH_OUT=$(OUT)/bench-rss BENCH_THREADS=$${BENCH_THREADS:-2} scripts/bench-e2e.sh

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 1m); new crashers land in testdata/fuzz/
	@for t in $(FUZZ_TARGETS); do dir=$${t%%:*}; name=$${t##*:}; \
	  echo "== fuzz $$name in $$dir for $(FUZZTIME)"; \
	  (cd $$dir && $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s .); done

.PHONY: lint
lint: $(GOLANGCI_LINT) $(PLOTLYJS) ## gofmt, go vet, golangci-lint (.golangci.yml), license headers and changelog entries
	@failed=; \
	echo "== gofmt"; bad=$$(git ls-files --cached --others --exclude-standard '*.go' ':!otelcol-llt/*' | \
	  while read -r f; do if [ -f "$$f" ]; then echo "$$f"; fi; done | xargs -r gofmt -l) || failed+=" gofmt"; \
	if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; failed+=" gofmt"; fi; \
	for m in $(MODULES) otelcol-llt; do echo "== go vet $$m"; (cd $$m && $(GO) vet ./...) || failed+=" vet:$$m"; done; \
	for m in $(MODULES); do echo "== golangci-lint $$m"; (cd $$m && $(GOLANGCI_LINT) run ./...) || failed+=" golangci-lint:$$m"; done; \
	echo "== license headers"; $(MAKE) --no-print-directory check-license || failed+=" check-license"; \
	echo "== changelog entries"; $(MAKE) --no-print-directory chlog-validate || failed+=" chlog-validate"; \
	if [ -n "$$failed" ]; then echo "make lint failed:$$failed" >&2; exit 1; fi

.PHONY: check-license
check-license: ## list the Go files without the SPDX license header (scripts/spdx.sh adds it)
	@scripts/spdx.sh --check

.PHONY: chlog-validate
chlog-validate: ## check every .chloggen/*.yaml: change_type, component, note, issues
	@cd tools && $(GO) run ./chlogvalidate $(CURDIR)/.chloggen

.PHONY: clean
clean: ## remove build outputs (keeps the llama-server cache)
	rm -rf $(OTELCOL) $(BIN_DIR) $(OUT)
