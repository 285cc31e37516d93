// Package octostore is the Go client for OctoStore, leader election and distributed
// locking as a service.
//
// RawClient and ClientWithResponses are generated from openapi.yaml (client.gen.go) and
// mirror the HTTP API one call per endpoint. New builds one that sends a bearer token.
//
// A lease is not a mutex: a process can pause (GC, swap, a stopped VM) past its TTL and
// still believe it holds the lock. Pass the fencing token to whatever you protect and
// have it refuse writes carrying a token smaller than the largest it has seen.
package octostore
