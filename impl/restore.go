package impl

import "github.com/octostore/octostore/impl/lease"

// restoreEngine builds the engine from the durable state (a start or a recovery) with the
// server's limits: every lease, session and lock-delay comes back with a fresh full
// length, and the fencing counter continues from floor.
func restoreEngine(cfg Config, st lease.State, floor int64, now lease.Instant) *lease.Engine {
	st.Reserved = floor
	return lease.RestoreState(lease.Config{MaxLocksPerAccount: cfg.MaxLocksPerAccount, MaxSessionsPerAccount: cfg.MaxLockSessionsPerAccount}, st, now)
}
