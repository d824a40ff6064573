# healthledger: build, test, fuzz and benchmark.
#
#   make test            unit, property, crash and in-process Trillian tests (Go only)
#   make test-trillian   integration tests against real Trillian servers on PostgreSQL 15
#   make test-browser    the patient report page in headless Chromium (installs it if missing)
#   make lint            go vet and gofmt on every module
#   make fuzz            every fuzz target for FUZZTIME each
#   make bench           the benchmark suite, its table and figures (docs/bench; see benchmarks/README.md)
#   make bench-trillian  the Trillian store (both tree modes) against Trillian driven
#                        directly, and Pebble, on real servers: medians of ratios
#   make bench-scale     one Pebble log grown to SCALE_ENTRIES (default 10M, about 1.5 min;
#                        100M took 18 min and 18 GB on an idle 2-core machine), measured
#                        per decade (benchmarks/README.md, Scale)

# bash with pipefail, so that a failing 'go test | tee' fails the target.
SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c

GO       ?= go
FUZZTIME ?= 15s
# make bench-trillian: operations per case and runs (medians are reported).
TRILLIAN_BENCHTIME ?= 10000x
TRILLIAN_COUNT     ?= 5
# bench-scale: the size to grow the log to, and a directory to keep it in
# (empty: a temporary one, deleted).
SCALE_ENTRIES ?= 10000000
SCALE_DIR     ?=
# Every Go module of the repository: the library, the Trillian store (its own
# module so gRPC and Trillian stay out of the library's go.mod), benchmarks,
# and interop (tests against independent implementations, such as
# litewitness, whose dependencies stay out of the library's go.mod too).
MODULES  := ledger/trillianstore benchmarks benchmarks/trillian interop .

.PHONY: all test test-trillian test-browser lint fuzz bench bench-trillian bench-scale quickstart

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
		cd benchmarks/trillian && uptime | tee bench.txt && HEALTHLEDGER_TRILLIAN=$$state \
		$(GO) test -run '^$$' -bench . -benchtime $(TRILLIAN_BENCHTIME) -count $(TRILLIAN_COUNT) \
			-benchmem -timeout 60m . | tee -a bench.txt; \
		uptime | tee -a bench.txt; awk -f medians.awk bench.txt

bench-scale:
	cd benchmarks && HEALTHLEDGER_SCALE_ENTRIES=$(SCALE_ENTRIES) HEALTHLEDGER_SCALE_DIR=$(SCALE_DIR) \
		$(GO) test -run '^$$' -bench '^BenchmarkScale$$' -benchtime 1x -count 1 -timeout 600m ./scale | tee scale.txt
