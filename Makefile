# OctoStore. `make test` is what CI runs (.ci/run).
GO       ?= go
FUZZTIME ?= 10s

.PHONY: all build run generate check-generated fmt-check vet test test-go test-sdk-go fuzz test-e2e e2e-deps clean

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

# Short fuzz runs; FUZZTIME=5m make fuzz for longer ones.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzLockName$$' -fuzztime=$(FUZZTIME) ./impl/
	$(GO) test -run='^$$' -fuzz='^FuzzAcquireBody$$' -fuzztime=$(FUZZTIME) ./impl/
	$(GO) test -run='^$$' -fuzz='^FuzzRenewReleaseBody$$' -fuzztime=$(FUZZTIME) ./impl/

E2E_DIR := impl/dashboard/e2e

# The dashboard in a real browser (Debian's chromium driven by playwright-core) against
# the real binary and a stand-in GitHub. Screenshots land in $(E2E_DIR)/screenshots/.
test-e2e: e2e-deps
	OCTOSTORE_E2E=1 $(GO) test -count=1 -run '^TestDashboardInChromium$$' ./$(E2E_DIR)/

# Installs what test-e2e needs: chromium from apt (once, as root), playwright-core from npm.
e2e-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "test-e2e needs Debian's chromium: run 'apt-get install -y chromium' as root"; exit 1; fi; \
		echo "installing chromium (apt)"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	cd $(E2E_DIR) && npm ci --no-audit --no-fund --loglevel=error

test: check-generated fmt-check vet test-go test-sdk-go fuzz test-e2e

clean:
	rm -rf bin
