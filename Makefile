# healthledger: build, test, fuzz and benchmark.
#
#   make test            unit, property, crash and in-process Trillian tests (Go only)
#   make test-trillian   integration tests against real Trillian servers on PostgreSQL 15
#   make test-browser    the patient report page in headless Chromium (installs it if missing)
#   make lint            go vet and gofmt on every module
#   make fuzz            every fuzz target for FUZZTIME each
#   make bench           the benchmark suite, its table and figures (docs/bench; see benchmarks/README.md)
#   make bench-trillian  Pebble and Trillian (both tree modes) side by side, real servers

GO       ?= go
FUZZTIME ?= 15s
# Every Go module of the repository: the library, the Trillian store (its own
# module so gRPC and Trillian stay out of the library's go.mod), benchmarks,
# and interop (tests against independent implementations, such as
# litewitness, whose dependencies stay out of the library's go.mod too).
MODULES  := ledger/trillianstore benchmarks benchmarks/trillian interop .

.PHONY: all test test-trillian test-browser lint fuzz bench bench-trillian quickstart

all: lint test

test:
	@set -e; for m in $(MODULES); do \
		echo "== go test -race $$m"; \
		(cd $$m && $(GO) test -race -count=1 -timeout 20m ./...); \
	done

test-trillian:
	./.ci/trillian.sh up
	@set -e; trap '$(CURDIR)/.ci/trillian.sh down' EXIT; \
		state="$${HEALTHLEDGER_TRILLIAN_DIR:-/tmp/healthledger-trillian}/state.env"; \
		cd ledger/trillianstore && HEALTHLEDGER_TRILLIAN=$$state \
		$(GO) test -race -count=1 -timeout 20m -run 'Postgres' ./...

test-browser:
	./.ci/records-browser.sh

lint:
	@set -e; for m in $(MODULES); do \
		echo "== go vet $$m"; (cd $$m && $(GO) vet ./...); \
	done
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fuzz:
	@set -e; for m in $(MODULES); do (cd $$m && \
		for pkg in $$($(GO) list ./...); do \
			for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
				echo "== fuzz $$pkg $$f"; \
				$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
			done; \
		done); done

bench:
	cd benchmarks && $(GO) test -run '^$$' -bench . -benchmem -count 5 -benchtime 1s -timeout 60m ./... | tee bench.txt
	mkdir -p docs/bench
	cd benchmarks && $(GO) run ./cmd/benchreport -svg-dir ../docs/bench bench.txt

quickstart:
	$(GO) run ./examples/quickstart

bench-trillian:
	./.ci/trillian.sh up
	@set -e; trap '$(CURDIR)/.ci/trillian.sh down' EXIT; \
		state="$${HEALTHLEDGER_TRILLIAN_DIR:-/tmp/healthledger-trillian}/state.env"; \
		cd benchmarks/trillian && HEALTHLEDGER_TRILLIAN=$$state \
		$(GO) test -run '^$$' -bench . -benchtime 3000x -benchmem -timeout 30m . | tee bench.txt
