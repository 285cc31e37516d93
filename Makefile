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

.PHONY: docs release image test-release test-image test-deploy check-release-version goreleaser faults all build run generate generate-go generate-python generate-typescript generate-ruby generate-php generate-csharp check-generated fmt-check vet test test-go test-sdk-go test-sdks test-sdk-python test-sdk-typescript test-sdk-ruby test-sdk-php test-sdk-csharp server-bin debian-deps fuzz clean test-e2e test-contract e2e-deps test-model soak soak-cluster test-cluster test-sdk-java test-sdk-rust package-sdk-rust \
	bench-go profile bench-compare bench-compare-cluster bench-upstream-bin bench-soak

all: build

build:
	$(GO) build -o bin/ ./cmd/...

run:
	$(GO) run ./cmd/octostore-lock

# Regenerate docs/configuration.md from the flag definitions (a test fails when it is stale).
docs:
	cd cmd/octostore-lock && $(GO) generate .

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
	cd deploy && $(GO) vet ./...

# The cluster tests run once, in test-cluster, not again here under -race.
CLUSTER_TESTS = ^TestCluster(LeaderKillLoop|StalledLeader|NodeCutOff|FollowersAnswer|Smoke)
test-go:
	$(GO) test -race -count=1 -skip '$(CLUSTER_TESTS)' ./...

# Three real processes as one raft cluster (README, "Running a cluster"): the leader
# killed with SIGKILL ten times and restarted, stopped with SIGSTOP, and (as root, where
# network namespaces work) a node cut off by a veth link set down, under a workload
# through all three nodes; the history checked with the fenced lease model. A few
# minutes; a binary without cluster mode skips them. The long version is soak-cluster.
test-cluster:
	@status=0; $(GO) test -count=1 -timeout 20m -v -run '$(CLUSTER_TESTS)' ./cmd/octostore-lock/ > cluster.log 2>&1 || status=$$?; \
	grep -E '^(--- |ok|FAIL|panic)|SUMMARY|failover time|skipping' cluster.log; exit $$status

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
	$(GO) test -run='^$$' -fuzz='^FuzzBodyDepthAndSize$$' -fuzztime=$(FUZZTIME) ./impl/

# The contract fuzzed by an independent tool: Schemathesis (pinned with its dependencies in
# impl/contract/requirements.txt) runs all its phases and every check against every
# operation of openapi.yaml, on the real binary with a temporary database, an admin key,
# a stand-in GitHub (so the dashboard is served, with a real session) and a generous rate
# limit; it fails on any finding but the false positives listed, with their reasons, in
# impl/contract/contract_test.go. About two minutes on two cores.
CONTRACT_VENV  := .tools/contract
CONTRACT_STAMP := $(CONTRACT_VENV)/.installed
CONTRACT_MAX_EXAMPLES ?= 40
test-contract: server-bin $(CONTRACT_STAMP)
	SCHEMATHESIS="$(CURDIR)/$(CONTRACT_VENV)/bin/schemathesis" OCTOSTORE_BIN="$(OCTOSTORE_BIN)" CONTRACT_MAX_EXAMPLES=$(CONTRACT_MAX_EXAMPLES) \
		$(GO) test -count=1 -v -timeout 6m -run '^TestSchemathesis$$' ./impl/contract/

$(CONTRACT_STAMP): impl/contract/requirements.txt
	$(PYTHON) -m venv $(CONTRACT_VENV)
	$(CONTRACT_VENV)/bin/pip install -q --disable-pip-version-check -r impl/contract/requirements.txt
	touch $@

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

test: check-generated fmt-check vet test-go test-cluster test-model test-sdk-go test-sdks fuzz test-contract test-e2e faults test-deploy

# --- Releases (README, "Install from a release") ---------------------------------------
# The release version is openapi.yaml's info.version (the newest entry of CHANGELOG.md;
# impl's TestSpecVersionIsTheNewestChangelogRelease keeps the two in step).
VERSION     := $(shell awk '/^info:/ { i = 1 } i && /^  version:/ { print $$2; exit }' openapi.yaml)
COMMIT       = $(shell git rev-parse HEAD)
COMMIT_DATE  = $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ)
SOURCE_DATE_EPOCH = $(shell git log -1 --format=%ct)
GORELEASER_VERSION := v2.15.1
GORELEASER := $(CURDIR)/.tools/goreleaser-$(GORELEASER_VERSION)/goreleaser

# GoReleaser from the Go module proxy, pinned, built once per checkout.
goreleaser: $(GORELEASER)
$(GORELEASER):
	GOBIN=$(dir $@) GOFLAGS= $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

# A tag on HEAD must name the version the binaries and the spec report.
check-release-version:
	@test -n "$(VERSION)" || { echo "no info.version in openapi.yaml"; exit 1; }
	@tag=$$(git tag --points-at HEAD 'v*' | head -n 1); \
	if [ -n "$$tag" ] && [ "$$tag" != "v$(VERSION)" ]; then echo "HEAD is tagged $$tag but openapi.yaml says $(VERSION)"; exit 1; fi

# dist/: octostore-lock, octostore and octostore-bench for linux/darwin x amd64/arm64 and
# windows/amd64 in reproducible archives, SHA256SUMS, install.sh. Publishing (from a
# tag, goreleaser release without --snapshot) is a maintainer's step.
release: check-release-version $(GORELEASER)
	OCTOSTORE_VERSION=$(VERSION) $(GORELEASER) release --snapshot --clean --parallelism 1
	cp install.sh dist/install.sh
	cd dist && sha256sum -c --quiet SHA256SUMS && cat SHA256SUMS

# The container image without a container engine (deploy/image): linux/amd64 and arm64
# built as the release builds them, an OCI layout tarball in dist/.
IMAGE_BIN := .tools/image
IMAGE     := dist/octostore_$(VERSION)_oci.tar
IMAGE_LDFLAGS = -s -w -buildid= -X github.com/octostore/octostore/impl/version.version=$(VERSION) \
	-X github.com/octostore/octostore/impl/version.commit=$(COMMIT) -X github.com/octostore/octostore/impl/version.date=$(COMMIT_DATE)
image: check-release-version
	mkdir -p $(IMAGE_BIN) dist
	for arch in amd64 arm64; do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -buildvcs=false -ldflags "$(IMAGE_LDFLAGS)" \
	    -o $(IMAGE_BIN)/octostore-lock.$$arch ./cmd/octostore-lock || exit 1; \
	done
	cd deploy && $(GO) run ./image --bin-amd64 ../$(IMAGE_BIN)/octostore-lock.amd64 --bin-arm64 ../$(IMAGE_BIN)/octostore-lock.arm64 \
	  --version $(VERSION) --commit $(COMMIT) --epoch $(SOURCE_DATE_EPOCH) --out ../$(IMAGE)
	@sha256sum $(IMAGE)

# Two releases of HEAD for this platform (from two fresh checkouts) must give the same
# SHA256SUMS; install.sh against a loopback server of that release, a tampered archive,
# a platform it lacks; shellcheck; the systemd unit. make release builds every platform.
test-release: $(GORELEASER)
	@command -v shellcheck >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; } || \
	  { echo "shellcheck is missing: apt-get install -y shellcheck (as root)"; exit 1; }
	cd deploy && OCTOSTORE_GORELEASER=$(GORELEASER) $(GO) test -count=1 -timeout 45m -v .

# The image's unit tests, then make image and its config checked (user, entrypoint,
# port, volume, labels, health check). Running the image needs a container engine:
# not here (README, "Container image").
test-image: image
	cd deploy && OCTOSTORE_IMAGE=$(CURDIR)/$(IMAGE) OCTOSTORE_IMAGE_VERSION=$(VERSION) $(GO) test -count=1 -v ./image/

test-deploy: test-release test-image

# Storage faults under the real binary (README, "What happens when the disk fails"): a
# full tmpfs, files removed under the running server, the WAL lost after kill -9, a
# backup restored. The mounting parts need root and skip with a message otherwise.
# OCTOSTORE_FAULT_BIN=<server> runs it against another build.
faults:
	@status=0; $(GO) test -tags faults -count=1 -timeout 10m -v -run '^TestFault' ./cmd/octostore-lock/ > faults.log 2>&1 || status=$$?; \
	grep -E '^(--- |ok|FAIL|panic)|FAULTS|_test.go:|skipping' faults.log; exit $$status

# The long sizes of the proof tests (README, "How it is tested"): linearizability, the
# SIGKILL crash loop, crash points, SIGSTOP stalls and the model-based test. Prints a
# summary table; the full log is in soak.log.
SOAK_TESTS = TestLinearizable|TestCheckerCatches|TestCrashLoop|TestCrashPoints|TestStalled|TestEngineAndStoreMatch
SOAK_TABLE = awk '/ SUMMARY / { for (i = 1; i <= NF; i++) if ($$i == "SUMMARY") { n++; ops += substr($$(i+2), 5); rs += substr($$(i+3), 10); vs += substr($$(i+4), 12); \
		rows[n] = sprintf("%-36s %12s %9s %11s", $$(i+1), substr($$(i+2), 5), substr($$(i+3), 10), substr($$(i+4), 12)) } } \
		END { printf "\n%-36s %12s %9s %11s\n", "test", "operations", "restarts", "violations"; for (j = 1; j <= n; j++) print rows[j]; \
		printf "%-36s %12d %9d %11d\n", "total", ops, rs, vs }'
soak:
	@status=0; OCTOSTORE_SOAK=1 $(GO) test -count=1 -timeout 3h -v -run '$(SOAK_TESTS)' ./cmd/octostore-lock/ ./impl/store/ > soak.log 2>&1 || status=$$?; \
	grep -E '^(---|ok|FAIL)' soak.log | grep -v '^--- PASS' || true; \
	$(SOAK_TABLE) soak.log; \
	exit $$status

# The long sizes of the cluster tests: 200 leader kills, 30 stalls, 20 cuts. The
# "restarts" column counts leader changes. The full log is in soak-cluster.log.
soak-cluster:
	@status=0; OCTOSTORE_SOAK=1 $(GO) test -count=1 -timeout 4h -v -run '$(CLUSTER_TESTS)' ./cmd/octostore-lock/ > soak-cluster.log 2>&1 || status=$$?; \
	grep -E '^(---|ok|FAIL)|failover time|skipping' soak-cluster.log | grep -v '^--- PASS' || true; \
	$(SOAK_TABLE) soak-cluster.log; \
	exit $$status

clean:
	rm -rf bin dist .tools sdk/typescript/node_modules sdk/typescript/dist sdk/typescript/build-test sdk/csharp/build sdk/java/target sdk/rust/target

# --- Benchmarks (none of this is part of `make test`) ---------------------------------
BENCH_SCENARIO    ?= cycle
BENCH_CONCURRENCY ?= 64
BENCH_DURATION    ?= 10s
PROFILE_DIR       ?= profiles

# Go benchmarks of the engine and the store, with allocations.
bench-go:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./impl/lease/ ./impl/store/

# CPU and allocation profiles of octostore-lock under an octostore-bench run: a fresh
# server on loopback (temporary database, metrics and pprof on a second port), the bench
# for BENCH_DURATION, the profiles written to $(PROFILE_DIR). Stops the server at the end.
profile: build
	@set -eu; mkdir -p $(PROFILE_DIR); tmp=$$(mktemp -d); \
	key=profile-$$(od -An -N8 -tx8 /dev/urandom | tr -d ' '); \
	ADMIN_KEY=$$key ./bin/octostore-lock --bind-addr 127.0.0.1:3471 --rate-limit-rps 0 --max-waiters-per-account -1 --max-waiters -1 --max-connections 0 --max-connections-per-client 0 --metrics-addr 127.0.0.1:3472 --pprof \
	  --database-url $$tmp/octostore.db --log-level warn >$$tmp/server.log 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; rm -rf $$tmp' EXIT; \
	for i in $$(seq 50); do curl -sf http://127.0.0.1:3471/health >/dev/null && break; sleep 0.1; done; \
	secs=$$(echo $(BENCH_DURATION) | tr -d s); \
	curl -sf -o $(PROFILE_DIR)/cpu.pprof "http://127.0.0.1:3472/debug/pprof/profile?seconds=$$secs" & cpid=$$!; \
	curl -sf -o $(PROFILE_DIR)/allocs-before.pprof http://127.0.0.1:3472/debug/pprof/allocs; \
	ADMIN_KEY=$$key ./bin/octostore-bench --url http://127.0.0.1:3471 --scenario $(BENCH_SCENARIO) \
	  --concurrency $(BENCH_CONCURRENCY) --duration $(BENCH_DURATION) --warmup 0 --quiet; \
	wait $$cpid; \
	curl -sf -o $(PROFILE_DIR)/allocs.pprof http://127.0.0.1:3472/debug/pprof/allocs; \
	curl -sf -o $(PROFILE_DIR)/metrics.txt http://127.0.0.1:3472/metrics; \
	echo "profiles in $(PROFILE_DIR)/: go tool pprof -top bin/octostore-lock $(PROFILE_DIR)/cpu.pprof;"; \
	echo "  allocations of the run: go tool pprof -sample_index=alloc_space -base $(PROFILE_DIR)/allocs-before.pprof bin/octostore-lock $(PROFILE_DIR)/allocs.pprof"

# OctoStore next to etcd and Redis on this machine: installs etcd-server and redis-server
# from Debian's packages when missing (as root), starts every server on loopback (see
# cmd/octostore-bench/compare), runs the scenarios at each client count COMPARE_REPEATS
# times and prints one table of medians. Every server it started is stopped at the end.
COMPARE_CLIENTS   ?= 1,16,64
COMPARE_REPEATS   ?= 3
COMPARE_DURATION  ?= 5s
COMPARE_SCENARIOS ?= cycle,contended,renew,status,tryheld,handoff
COMPARE_SYSTEMS   ?= octostore,etcd,redis-always,redis-none,ceiling
# COMPARE_NODES=3 runs OctoStore and etcd as three-node clusters (bench-compare-cluster).
COMPARE_NODES     ?= 1
COMPARE_JSON      ?= bin/compare.json
# Further octostore-compare flags, e.g. --baseline bin/octostore-lock-before.
COMPARE_FLAGS     ?=
bench-compare: build
	@if ! command -v etcd >/dev/null || ! command -v redis-server >/dev/null; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server redis-server || exit 1; \
	  for s in etcd redis-server; do service $$s stop >/dev/null 2>&1 || true; done; \
	fi
	cd cmd/octostore-bench/compare && $(GO) build -o ../../../bin/octostore-compare .
	./bin/octostore-compare --clients $(COMPARE_CLIENTS) --repeats $(COMPARE_REPEATS) \
	  --duration $(COMPARE_DURATION) --scenarios $(COMPARE_SCENARIOS) --systems $(COMPARE_SYSTEMS) \
	  --nodes $(COMPARE_NODES) --json $(COMPARE_JSON) $(COMPARE_FLAGS)

# Upstream OctoStore (the Rust server, crate octostore 0.14.4 from crates.io, built with
# its own Cargo.lock, about ten minutes on two cores) for the comparison table:
#   make bench-upstream-bin
#   make bench-compare COMPARE_FLAGS="--upstream bin/upstream/bin/octostore"
UPSTREAM_VERSION ?= 0.14.4
bench-upstream-bin:
	cargo install --locked --version $(UPSTREAM_VERSION) --root bin/upstream --bin octostore octostore

# Three-node OctoStore (raft) next to a three-member etcd cluster, every process on
# loopback with its own data directory: cycle, status and handoff, the clients spread
# over the nodes (BENCHMARKS.md, "Three-node clusters").
bench-compare-cluster:
	$(MAKE) bench-compare COMPARE_NODES=3 COMPARE_SYSTEMS=octostore,etcd COMPARE_SCENARIOS=cycle,status,handoff \
	  COMPARE_JSON=bin/compare-cluster.json

# Memory over a long mixed run: a fresh server on loopback, octostore-bench --scenario
# mixed for SOAK_DURATION, the server's resident memory (VmRSS) printed every
# SOAK_EVERY seconds. Stops the server at the end.
SOAK_DURATION ?= 600
SOAK_EVERY    ?= 30
SOAK_CLIENTS  ?= 16
bench-soak: build
	@set -eu; tmp=$$(mktemp -d); \
	key=soak-$$(od -An -N8 -tx8 /dev/urandom | tr -d ' '); \
	ADMIN_KEY=$$key ./bin/octostore-lock --bind-addr 127.0.0.1:3473 --rate-limit-rps 0 --max-waiters-per-account -1 --max-waiters -1 --max-connections 0 --max-connections-per-client 0 --database-url $$tmp/octostore.db --log-level warn >$$tmp/server.log 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; rm -rf $$tmp' EXIT; \
	for i in $$(seq 50); do curl -sf http://127.0.0.1:3473/health >/dev/null && break; sleep 0.1; done; \
	ADMIN_KEY=$$key ./bin/octostore-bench --url http://127.0.0.1:3473 --scenario mixed --concurrency $(SOAK_CLIENTS) \
	  --duration $(SOAK_DURATION) --warmup 0 --quiet > $$tmp/result.txt & bpid=$$!; \
	t=0; while kill -0 $$bpid 2>/dev/null; do \
	  echo "t=$${t}s rss_kib=$$(awk '/^VmRSS/{print $$2}' /proc/$$pid/status)"; sleep $(SOAK_EVERY); t=$$((t+$(SOAK_EVERY))); done; \
	wait $$bpid; echo "end rss_kib=$$(awk '/^VmRSS/{print $$2}' /proc/$$pid/status)"; cat $$tmp/result.txt
