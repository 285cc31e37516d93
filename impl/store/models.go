package store

import (
	"time"

	"github.com/uptrace/bun"

	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/lease"
)

// The rows, unexported: callers see lease and auth types only.

type accountRow struct {
	bun.BaseModel `bun:"table:accounts"`

	ID        string `bun:"id,pk"`
	Name      string `bun:"name"`
	CreatedMs int64  `bun:"created_ms"`
}

type tokenRow struct {
	bun.BaseModel `bun:"table:tokens"`

	ID        string `bun:"id,pk"`
	AccountID string `bun:"account_id"`
	Hash      []byte `bun:"hash"`
	CreatedMs int64  `bun:"created_ms"`
	// Name is the token's label, NULL when none.
	Name string `bun:"name,nullzero"`
	// LastUsedMs is the last use as persisted (coarsely), NULL when never used.
	LastUsedMs int64 `bun:"last_used_ms,nullzero"`
	// RevokedMs marks a revoked token a GitHub link still names; NULL when live.
	RevokedMs int64 `bun:"revoked_ms,nullzero"`
}

type leaseRow struct {
	bun.BaseModel `bun:"table:leases"`

	AccountID    string `bun:"account_id,pk"`
	Name         string `bun:"name,pk"`
	LeaseID      string `bun:"lease_id,pk"`
	TokenID      string `bun:"token_id"`
	Owner        string `bun:"owner"`
	FencingToken int64  `bun:"fencing_token"`
	TTLMs        int64  `bun:"ttl_ms"`
	AcquiredMs   int64  `bun:"acquired_ms"`
	ExpiresMs    int64  `bun:"expires_ms"`
	Metadata     string `bun:"metadata"`
	Revision     int64  `bun:"revision"`
	SessionID    string `bun:"session_id"`
	LockDelayMs  int64  `bun:"lock_delay_ms"`
	MaxHolders   int    `bun:"max_holders"`
}

type lockSessionRow struct {
	bun.BaseModel `bun:"table:lock_sessions"`

	ID        string `bun:"id,pk"`
	AccountID string `bun:"account_id"`
	TokenID   string `bun:"token_id"`
	Owner     string `bun:"owner"`
	TTLMs     int64  `bun:"ttl_ms"`
	CreatedMs int64  `bun:"created_ms"`
	ExpiresMs int64  `bun:"expires_ms"`
}

type lockDelayRow struct {
	bun.BaseModel `bun:"table:lock_delays"`

	AccountID  string `bun:"account_id,pk"`
	Name       string `bun:"name,pk"`
	LeaseID    string `bun:"lease_id,pk"`
	DelayMs    int64  `bun:"delay_ms"`
	UntilMs    int64  `bun:"until_ms"`
	MaxHolders int    `bun:"max_holders"`
}

type metaRow struct {
	bun.BaseModel `bun:"table:meta"`

	Key   string `bun:"key,pk"`
	Value int64  `bun:"value"`
}

const metaFencingReserved = "fencing_reserved"

func toLeaseRow(l lease.Lease) leaseRow {
	return leaseRow{
		AccountID:    l.Account,
		Name:         l.Name,
		LeaseID:      l.ID,
		TokenID:      l.Holder.TokenID,
		Owner:        l.Holder.Owner,
		FencingToken: l.Token,
		TTLMs:        l.TTL.Milliseconds(),
		AcquiredMs:   l.AcquiredAt.UnixMilli(),
		ExpiresMs:    l.ExpiresAt.UnixMilli(),
		Metadata:     l.Metadata,
		Revision:     l.Revision,
		SessionID:    l.SessionID,
		LockDelayMs:  l.LockDelay.Milliseconds(),
		MaxHolders:   l.MaxHolders,
	}
}

func (r leaseRow) lease() lease.Lease {
	return lease.Lease{
		Key:        lease.Key{Account: r.AccountID, Name: r.Name},
		ID:         r.LeaseID,
		Holder:     lease.Holder{TokenID: r.TokenID, Owner: r.Owner},
		Token:      r.FencingToken,
		TTL:        time.Duration(r.TTLMs) * time.Millisecond,
		AcquiredAt: time.UnixMilli(r.AcquiredMs).UTC(),
		ExpiresAt:  time.UnixMilli(r.ExpiresMs).UTC(),
		Metadata:   r.Metadata,
		Revision:   r.Revision,
		SessionID:  r.SessionID,
		LockDelay:  time.Duration(r.LockDelayMs) * time.Millisecond,
		MaxHolders: r.MaxHolders,
	}
}

func toLockSessionRow(s lease.Session) lockSessionRow {
	return lockSessionRow{
		ID:        s.ID,
		AccountID: s.Account,
		TokenID:   s.Holder.TokenID,
		Owner:     s.Holder.Owner,
		TTLMs:     s.TTL.Milliseconds(),
		CreatedMs: s.CreatedAt.UnixMilli(),
		ExpiresMs: s.ExpiresAt.UnixMilli(),
	}
}

func (r lockSessionRow) session() lease.Session {
	return lease.Session{
		ID:        r.ID,
		Account:   r.AccountID,
		Holder:    lease.Holder{TokenID: r.TokenID, Owner: r.Owner},
		TTL:       time.Duration(r.TTLMs) * time.Millisecond,
		CreatedAt: time.UnixMilli(r.CreatedMs).UTC(),
		ExpiresAt: time.UnixMilli(r.ExpiresMs).UTC(),
	}
}

func toLockDelayRow(d lease.Delay) lockDelayRow {
	return lockDelayRow{
		AccountID:  d.Account,
		Name:       d.Name,
		LeaseID:    d.LeaseID,
		DelayMs:    d.Length.Milliseconds(),
		UntilMs:    d.Until.UnixMilli(),
		MaxHolders: d.MaxHolders,
	}
}

func (r lockDelayRow) delay() lease.Delay {
	return lease.Delay{
		Key:        lease.Key{Account: r.AccountID, Name: r.Name},
		LeaseID:    r.LeaseID,
		Length:     time.Duration(r.DelayMs) * time.Millisecond,
		Until:      time.UnixMilli(r.UntilMs).UTC(),
		MaxHolders: r.MaxHolders,
	}
}

func (r accountRow) account() auth.Account {
	return auth.Account{ID: r.ID, Name: r.Name, CreatedAt: time.UnixMilli(r.CreatedMs).UTC()}
}

func (r tokenRow) record() auth.TokenRecord {
	rec := auth.TokenRecord{ID: r.ID, AccountID: r.AccountID, Name: r.Name, Hash: r.Hash, CreatedAt: time.UnixMilli(r.CreatedMs).UTC()}
	if r.LastUsedMs > 0 {
		rec.LastUsed = time.UnixMilli(r.LastUsedMs).UTC()
	}
	return rec
}

func toTokenRow(t auth.TokenRecord) tokenRow {
	return tokenRow{ID: t.ID, AccountID: t.AccountID, Name: t.Name, Hash: t.Hash, CreatedMs: t.CreatedAt.UnixMilli()}
}
