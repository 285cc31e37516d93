// Package octostore is the Go client for OctoStore, leader election and distributed
// locking as a service.
//
// RawClient and ClientWithResponses are generated from openapi.yaml (client.gen.go) and
// mirror the HTTP API one call per endpoint. New builds one that sends a bearer token.
//
// Mutex and Election are hand-written helpers in the style of etcd's
// client/v3/concurrency: Mutex.Lock waits in the server's first-come-first-served line,
// Election.Campaign publishes a leader's value and Election.Observe follows the leader
// with the server's long-poll watch. Both renew their lease in the background at the
// server's renew_after_ms and close Done when it is lost; Lease reports the grant as last
// renewed, and Mutex.Renew renews by hand (WithoutAutoRenew turns the background off).
//
// A lease is not a mutex: a process can pause (GC, swap, a stopped VM) past its TTL and
// still believe it holds the lock. Pass the fencing token to whatever you protect and
// have it refuse writes carrying a token smaller than the largest it has seen.
package octostore
