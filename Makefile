# OctoStore. `make test` is what CI runs (.ci/run).
GO       ?= go
FUZZTIME ?= 10s

.PHONY: all build run generate check-generated fmt-check vet test test-go test-sdk-go fuzz clean \
	bench-go profile bench-compare bench-soak

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

test: check-generated fmt-check vet test-go test-sdk-go fuzz

clean:
	rm -rf bin

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
	ADMIN_KEY=$$key ./bin/octostore-lock --bind-addr 127.0.0.1:3471 --metrics-addr 127.0.0.1:3472 --pprof \
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
bench-compare: build
	@if ! command -v etcd >/dev/null || ! command -v redis-server >/dev/null; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server redis-server || exit 1; \
	  for s in etcd redis-server; do service $$s stop >/dev/null 2>&1 || true; done; \
	fi
	cd cmd/octostore-bench/compare && $(GO) build -o ../../../bin/octostore-compare .
	./bin/octostore-compare --clients $(COMPARE_CLIENTS) --repeats $(COMPARE_REPEATS) \
	  --duration $(COMPARE_DURATION) --scenarios $(COMPARE_SCENARIOS) --json bin/compare.json

# Memory over a long mixed run: a fresh server on loopback, octostore-bench --scenario
# mixed for SOAK_DURATION, the server's resident memory (VmRSS) printed every
# SOAK_EVERY seconds. Stops the server at the end.
SOAK_DURATION ?= 600
SOAK_EVERY    ?= 30
SOAK_CLIENTS  ?= 16
bench-soak: build
	@set -eu; tmp=$$(mktemp -d); \
	key=soak-$$(od -An -N8 -tx8 /dev/urandom | tr -d ' '); \
	ADMIN_KEY=$$key ./bin/octostore-lock --bind-addr 127.0.0.1:3473 --database-url $$tmp/octostore.db --log-level warn >$$tmp/server.log 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; rm -rf $$tmp' EXIT; \
	for i in $$(seq 50); do curl -sf http://127.0.0.1:3473/health >/dev/null && break; sleep 0.1; done; \
	ADMIN_KEY=$$key ./bin/octostore-bench --url http://127.0.0.1:3473 --scenario mixed --concurrency $(SOAK_CLIENTS) \
	  --duration $(SOAK_DURATION) --warmup 0 --quiet > $$tmp/result.txt & bpid=$$!; \
	t=0; while kill -0 $$bpid 2>/dev/null; do \
	  echo "t=$${t}s rss_kib=$$(awk '/^VmRSS/{print $$2}' /proc/$$pid/status)"; sleep $(SOAK_EVERY); t=$$((t+$(SOAK_EVERY))); done; \
	wait $$bpid; echo "end rss_kib=$$(awk '/^VmRSS/{print $$2}' /proc/$$pid/status)"; cat $$tmp/result.txt
