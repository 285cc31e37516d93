# OctoStore. `make test` is what CI runs (.ci/run).
GO       ?= go
FUZZTIME ?= 10s
PYTHON   ?= python3
NPM      ?= npm
MVN      ?= mvn
CARGO    ?= $(shell command -v cargo 2>/dev/null || echo $(HOME)/.cargo/bin/cargo)
# The server the SDK conformance suites run against (see sdk/conformance/README.md).
OCTOSTORE_BIN ?= $(CURDIR)/bin/octostore-lock
# Generator and test tools for the SDKs live here (git-ignored).
PYVENV   := .tools/py
PYSTAMP  := $(PYVENV)/.installed
TSSTAMP  := sdk/typescript/node_modules/.installed
GENERATED := gen sdk/go sdk/python/src/octostore/openapi sdk/typescript/src/gen \
	sdk/ruby/lib/octostore/generated sdk/ruby/lib/octostore/generated.rb sdk/php/generated \
	sdk/csharp/src/OctoStore/OctoStoreClient.g.cs sdk/csharp/src/OctoStore/Models.g.cs sdk/csharp/src/OctoStore/Version.g.props

.PHONY: all build run generate generate-go generate-python generate-typescript generate-ruby generate-php generate-csharp check-generated fmt-check vet test test-go test-sdk-go test-sdks test-sdk-python test-sdk-typescript test-sdk-ruby test-sdk-php test-sdk-csharp server-bin debian-deps fuzz clean test-e2e e2e-deps test-model soak test-sdk-java test-sdk-rust package-sdk-rust

all: build

build:
	$(GO) build -o bin/ ./cmd/...

run:
	$(GO) run ./cmd/octostore-lock

# Regenerate gen/, sdk/go and every other SDK's generated code from openapi.yaml. Commit the result.
generate: generate-go generate-python generate-typescript generate-ruby generate-php generate-csharp

generate-go:
	cd gen && $(GO) generate .

generate-python: $(PYSTAMP)
	rm -rf sdk/python/src/octostore/openapi
	PATH="$(CURDIR)/$(PYVENV)/bin:$$PATH" $(PYVENV)/bin/openapi-python-client generate --path openapi.yaml \
		--meta none --output-path sdk/python/src/octostore/openapi --config sdk/python/openapi-python-client.yaml >/dev/null

generate-typescript: $(TSSTAMP)
	cd sdk/typescript && ./node_modules/.bin/openapi-ts >/dev/null

# openapi-generator (pinned in sdk/openapi-generator-cli.sh): ruby/typhoeus and php-nextgen.
generate-ruby: debian-deps
	sdk/ruby/generate.sh

generate-php: debian-deps
	sdk/php/generate.sh

# The C# client comes from this repository's own generator.
generate-csharp:
	$(GO) run ./cmd/octostore-csharpgen -spec openapi.yaml -out sdk/csharp/src/OctoStore

# Fails when the committed generated code differs from what openapi.yaml produces.
check-generated: generate
	@git diff --exit-code -- $(GENERATED) || { echo "generated code is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- $(GENERATED))" || { git status --porcelain -- $(GENERATED); echo "untracked generated files: run 'make generate' and commit"; exit 1; }

# SDK tool chains, installed once per checkout (re-installed when their pins change).
$(PYSTAMP): sdk/python/requirements-dev.txt sdk/python/pyproject.toml
	$(PYTHON) -m venv $(PYVENV)
	$(PYVENV)/bin/pip install -q --disable-pip-version-check -r sdk/python/requirements-dev.txt
	$(PYVENV)/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation --no-index -e sdk/python
	touch $@

$(TSSTAMP): sdk/typescript/package.json sdk/typescript/package-lock.json
	cd sdk/typescript && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

# The Ruby, PHP and C# SDKs build and test with Debian's packages only; installs missing ones (as root).
debian-deps:
	sdk/debian-deps.sh

fmt-check:
	@out="$$(gofmt -l . )"; test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }

vet:
	$(GO) vet ./...
	cd sdk/go && $(GO) vet ./...

test-go:
	$(GO) test -race -count=1 ./...

# The model-based test at its full CI size: SQLite under -race is too slow for
# thousands of cases, so test-go runs a sample and this runs them all.
test-model:
	$(GO) test -count=1 -run '^TestEngineAndStoreMatchAReferenceModel$$' ./impl/store/

test-sdk-go:
	cd sdk/go && $(GO) test -race -count=1 ./...

server-bin:
	$(GO) build -o bin/ ./cmd/octostore-lock

# Each SDK's unit tests and the shared conformance suite against a live server.
test-sdks: test-sdk-python test-sdk-typescript test-sdk-java test-sdk-rust test-sdk-ruby test-sdk-php test-sdk-csharp

test-sdk-python: server-bin $(PYSTAMP)
	cd sdk/python && OCTOSTORE_BIN="$(OCTOSTORE_BIN)" $(CURDIR)/$(PYVENV)/bin/python -m pytest -q -p no:cacheprovider

test-sdk-typescript: server-bin $(TSSTAMP)
	cd sdk/typescript && OCTOSTORE_BIN="$(OCTOSTORE_BIN)" $(NPM) test --silent

test-sdk-ruby: server-bin debian-deps
	cd sdk/ruby && OCTOSTORE_BIN="$(OCTOSTORE_BIN)" ruby -Ilib -Itest -e 'Dir["./test/*_test.rb"].sort.each { |f| require f }'

test-sdk-php: server-bin debian-deps
	cd sdk/php && OCTOSTORE_BIN="$(OCTOSTORE_BIN)" phpunit

test-sdk-csharp: server-bin debian-deps
	$(MAKE) -C sdk/csharp test OCTOSTORE_BIN="$(OCTOSTORE_BIN)"

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
	$(GO) test -run='^$$' -fuzz='^FuzzAuthorizationHeader$$' -fuzztime=$(FUZZTIME) ./impl/
	$(GO) test -run='^$$' -fuzz='^FuzzLeaseID$$' -fuzztime=$(FUZZTIME) ./impl/
	$(GO) test -run='^$$' -fuzz='^FuzzCreateAccountBody$$' -fuzztime=$(FUZZTIME) ./impl/

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

test: check-generated fmt-check vet test-go test-model test-sdk-go test-sdks fuzz test-e2e

# The long sizes of the proof tests (README, "How it is tested"): linearizability, the
# SIGKILL crash loop, crash points, SIGSTOP stalls and the model-based test. Prints a
# summary table; the full log is in soak.log.
SOAK_TESTS = TestLinearizable|TestCheckerCatches|TestCrashLoop|TestCrashPoints|TestStalled|TestEngineAndStoreMatch
soak:
	@status=0; OCTOSTORE_SOAK=1 $(GO) test -count=1 -timeout 3h -v -run '$(SOAK_TESTS)' ./cmd/octostore-lock/ ./impl/store/ > soak.log 2>&1 || status=$$?; \
	grep -E '^(---|ok|FAIL)' soak.log | grep -v '^--- PASS' || true; \
	awk '/ SUMMARY / { for (i = 1; i <= NF; i++) if ($$i == "SUMMARY") { n++; ops += substr($$(i+2), 5); rs += substr($$(i+3), 10); vs += substr($$(i+4), 12); \
		rows[n] = sprintf("%-36s %12s %9s %11s", $$(i+1), substr($$(i+2), 5), substr($$(i+3), 10), substr($$(i+4), 12)) } } \
		END { printf "\n%-36s %12s %9s %11s\n", "test", "operations", "restarts", "violations"; for (j = 1; j <= n; j++) print rows[j]; \
		printf "%-36s %12d %9d %11d\n", "total", ops, rs, vs }' soak.log; \
	exit $$status

clean:
	rm -rf bin .tools sdk/typescript/node_modules sdk/typescript/dist sdk/typescript/build-test sdk/csharp/build sdk/java/target sdk/rust/target
