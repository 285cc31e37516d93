# OctoStore. `make test` is what CI runs (.ci/run).
GO       ?= go
FUZZTIME ?= 10s
# The server the SDK conformance suites run against (see sdk/conformance/README.md).
OCTOSTORE_BIN ?= $(CURDIR)/bin/octostore-lock
GENERATED := gen sdk/go sdk/ruby/lib/octostore/generated sdk/ruby/lib/octostore/generated.rb sdk/php/generated \
	sdk/csharp/src/OctoStore/OctoStoreClient.g.cs sdk/csharp/src/OctoStore/Models.g.cs sdk/csharp/src/OctoStore/Version.g.props

.PHONY: all build run generate generate-go generate-ruby generate-php generate-csharp check-generated fmt-check vet test test-go test-sdk-go server-bin debian-deps test-sdk-ruby test-sdk-php test-sdk-csharp fuzz clean

all: build

build:
	$(GO) build -o bin/ ./cmd/...

run:
	$(GO) run ./cmd/octostore-lock

# Regenerate gen/, sdk/go and every other SDK's generated code from openapi.yaml. Commit the result.
generate: generate-go generate-ruby generate-php generate-csharp

generate-go:
	cd gen && $(GO) generate .

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

test-sdk-go:
	cd sdk/go && $(GO) test -race -count=1 ./...

server-bin:
	$(GO) build -o bin/ ./cmd/octostore-lock

# Each SDK's helper tests and the shared conformance suite against a live server.
test-sdk-ruby: server-bin debian-deps
	cd sdk/ruby && OCTOSTORE_BIN="$(OCTOSTORE_BIN)" ruby -Ilib -Itest -e 'Dir["./test/*_test.rb"].sort.each { |f| require f }'

test-sdk-php: server-bin debian-deps
	cd sdk/php && OCTOSTORE_BIN="$(OCTOSTORE_BIN)" phpunit

test-sdk-csharp: server-bin debian-deps
	$(MAKE) -C sdk/csharp test OCTOSTORE_BIN="$(OCTOSTORE_BIN)"

# Short fuzz runs; FUZZTIME=5m make fuzz for longer ones.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzLockName$$' -fuzztime=$(FUZZTIME) ./impl/
	$(GO) test -run='^$$' -fuzz='^FuzzAcquireBody$$' -fuzztime=$(FUZZTIME) ./impl/
	$(GO) test -run='^$$' -fuzz='^FuzzRenewReleaseBody$$' -fuzztime=$(FUZZTIME) ./impl/

test: check-generated fmt-check vet test-go test-sdk-go test-sdk-ruby test-sdk-php test-sdk-csharp fuzz

clean:
	rm -rf bin sdk/csharp/build
