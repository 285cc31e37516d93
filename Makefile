# OctoStore. `make test` is what CI runs (.ci/run).
GO       ?= go
FUZZTIME ?= 10s
MVN      ?= mvn
CARGO    ?= $(shell command -v cargo 2>/dev/null || echo $(HOME)/.cargo/bin/cargo)
# The server the SDK conformance suites run against (see sdk/conformance/README.md).
OCTOSTORE_BIN ?= $(CURDIR)/bin/octostore-lock

.PHONY: all build run generate check-generated fmt-check vet test test-go test-sdk-go test-sdks test-sdk-java test-sdk-rust package-sdk-rust server-bin fuzz clean

all: build

build:
	$(GO) build -o bin/ ./cmd/...

run:
	$(GO) run ./cmd/octostore-lock

# Regenerate gen/ and sdk/go from openapi.yaml. Commit the result.
generate:
	cd gen && $(GO) generate .

# Fails when the committed generated code differs from what openapi.yaml produces.
check-generated: generate
	@git diff --exit-code -- gen sdk/go || { echo "generated code is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- gen sdk/go)" || { git status --porcelain -- gen sdk/go; echo "untracked generated files: run 'make generate' and commit"; exit 1; }

fmt-check:
	@out="$$(gofmt -l . )"; test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }

vet:
	$(GO) vet ./...
	cd sdk/go && $(GO) vet ./...

test-go:
	$(GO) test -race -count=1 ./...

test-sdk-go:
	cd sdk/go && $(GO) test -race -count=1 ./...

server-bin:
	$(GO) build -o bin/ ./cmd/octostore-lock

# Each SDK's unit tests and the shared conformance suite against a live server. The Java
# and Rust clients are generated from openapi.yaml at build time (nothing to commit).
test-sdks: test-sdk-java test-sdk-rust

test-sdk-java: server-bin
	@command -v $(firstword $(MVN)) >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends maven; }
	cd sdk/java && OCTOSTORE_BIN="$(OCTOSTORE_BIN)" $(MVN) -B -ntp test

test-sdk-rust: server-bin
	cd sdk/rust && OCTOSTORE_BIN="$(OCTOSTORE_BIN)" $(CARGO) test --locked --no-fail-fast --no-default-features

# The crate generates its client from the spec, so its package carries a copy of it (the
# copies are git-ignored, which cargo counts as uncommitted: hence --allow-dirty).
package-sdk-rust:
	cp openapi.yaml LICENSE sdk/rust/
	cd sdk/rust && $(CARGO) package --locked --allow-dirty

# Short fuzz runs; FUZZTIME=5m make fuzz for longer ones.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzLockName$$' -fuzztime=$(FUZZTIME) ./impl/
	$(GO) test -run='^$$' -fuzz='^FuzzAcquireBody$$' -fuzztime=$(FUZZTIME) ./impl/
	$(GO) test -run='^$$' -fuzz='^FuzzRenewReleaseBody$$' -fuzztime=$(FUZZTIME) ./impl/

test: check-generated fmt-check vet test-go test-sdk-go test-sdks fuzz

clean:
	rm -rf bin sdk/java/target sdk/rust/target
