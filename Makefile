# OctoStore. `make test` is what CI runs (.ci/run).
GO       ?= go
FUZZTIME ?= 10s

.PHONY: all build run generate check-generated fmt-check vet test test-go test-model test-sdk-go fuzz soak clean

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

# The model-based test at its full CI size: SQLite under -race is too slow for
# thousands of cases, so test-go runs a sample and this runs them all.
test-model:
	$(GO) test -count=1 -run '^TestEngineAndStoreMatchAReferenceModel$$' ./impl/store/

test-sdk-go:
	cd sdk/go && $(GO) test -race -count=1 ./...

# Short fuzz runs; FUZZTIME=5m make fuzz for longer ones.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzLockName$$' -fuzztime=$(FUZZTIME) ./impl/
	$(GO) test -run='^$$' -fuzz='^FuzzAcquireBody$$' -fuzztime=$(FUZZTIME) ./impl/
	$(GO) test -run='^$$' -fuzz='^FuzzRenewReleaseBody$$' -fuzztime=$(FUZZTIME) ./impl/
	$(GO) test -run='^$$' -fuzz='^FuzzAuthorizationHeader$$' -fuzztime=$(FUZZTIME) ./impl/
	$(GO) test -run='^$$' -fuzz='^FuzzLeaseID$$' -fuzztime=$(FUZZTIME) ./impl/
	$(GO) test -run='^$$' -fuzz='^FuzzCreateAccountBody$$' -fuzztime=$(FUZZTIME) ./impl/

test: check-generated fmt-check vet test-go test-model test-sdk-go fuzz

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
	rm -rf bin
