// Package contract holds the Schemathesis run of `make test-contract`: the contract of
// openapi.yaml fuzzed by an independent tool against the real octostore-lock binary.
// See contract_test.go.
package contract
