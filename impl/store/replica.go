package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/octostore/octostore/impl/lease"
)

// A cluster node's file is the materialised state of the raft log: the log's entries are
// applied here in order, each batch in one transaction that also records the last index
// applied, so that applying an entry again (raft replays its log after a restart) is
// recognised and skipped by the caller.

// Replicated is one committed log entry as the file materialises it. Any field may be
// empty.
type Replicated struct {
	// Changes are the lease changes of one engine revision of the leader.
	Changes []lease.Change
	// Floor raises the fencing reservation to at least this value (a leader's start).
	Floor int64
	// Epoch, when non-zero, starts a new leader epoch (the log index of its start).
	Epoch uint64
	// NodeID and HTTPURL record a node's client URL.
	NodeID, HTTPURL string
}

const (
	metaRaftApplied = "raft_applied"
	metaRaftEpoch   = "raft_epoch"
)

// ReplicaState returns the last raft log index materialised in the file and the epoch
// (the log index of the current leader's start); both 0 for a file never replicated to.
func (s *Store) ReplicaState(ctx context.Context) (applied, epoch uint64, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM meta WHERE key IN (?, ?)`, metaRaftApplied, metaRaftEpoch)
	if err != nil {
		return 0, 0, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k string
			v int64
		)
		if err := rows.Scan(&k, &v); err != nil {
			return 0, 0, translate(err)
		}
		if k == metaRaftApplied {
			applied = uint64(v)
		} else {
			epoch = uint64(v)
		}
	}
	return applied, epoch, translate(rows.Err())
}

// ApplyReplicated materialises entries, the log's entries up to index, in one fsync'd
// transaction that records index as applied.
func (s *Store) ApplyReplicated(ctx context.Context, index uint64, entries []Replicated) error {
	tx, err := s.db.DB.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	w := s.changeWriter(ctx, tx)
	var floor int64
	setMeta := func(key string, v uint64) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, int64(v))
		return err
	}
	for _, e := range entries {
		if err := w.write(e.Changes); err != nil {
			return translate(err)
		}
		floor = max(floor, e.Floor)
		if e.Epoch != 0 {
			if err := setMeta(metaRaftEpoch, e.Epoch); err != nil {
				return translate(err)
			}
		}
		if e.NodeID != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO cluster_nodes (id, http_url) VALUES (?, ?)
			ON CONFLICT (id) DO UPDATE SET http_url = excluded.http_url`, e.NodeID, e.HTTPURL); err != nil {
				return translate(err)
			}
		}
	}
	if err := w.finish(floor); err != nil {
		return translate(err)
	}
	if err := setMeta(metaRaftApplied, index); err != nil {
		return translate(err)
	}
	return translate(tx.Commit())
}

// ClusterNodes returns the client URL of every node recorded, by node id.
func (s *Store) ClusterNodes(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, http_url FROM cluster_nodes`)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, url string
		if err := rows.Scan(&id, &url); err != nil {
			return nil, translate(err)
		}
		out[id] = url
	}
	return out, translate(rows.Err())
}

// tablesNotCopied are bun's migration bookkeeping: they describe this binary's schema,
// not the state.
var tablesNotCopied = []string{"bun_migrations", "bun_migration_locks"}

// RestoreFrom replaces the whole state in the file by the state in the database file at
// path (a copy taken by Backup, from a node of the same version), in one transaction.
// The file stays the same file, so the open store goes on using it.
func (s *Store) RestoreFrom(ctx context.Context, path string) error {
	conn, err := s.db.DB.Conn(ctx)
	if err != nil {
		return translate(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS snap`, path); err != nil {
		return fmt.Errorf("attach snapshot: %w", translate(err))
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE snap`)
	tables, err := tableNames(ctx, conn, "main")
	if err != nil {
		return err
	}
	theirs, err := tableNames(ctx, conn, "snap")
	if err != nil {
		return err
	}
	for _, t := range tables {
		if !slices.Contains(theirs, t) {
			return fmt.Errorf("restore snapshot: it has no table %s (taken by another version?)", t)
		}
	}
	// The copy is a whole consistent database: its rows satisfy the foreign keys once
	// all are in, not table by table.
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return translate(err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	for _, t := range tables {
		// Table names come from sqlite_master of this file, not from the snapshot.
		if _, err := tx.ExecContext(ctx, `DELETE FROM main."`+t+`"`); err != nil {
			return fmt.Errorf("restore %s: %w", t, translate(err))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO main."`+t+`" SELECT * FROM snap."`+t+`"`); err != nil {
			return fmt.Errorf("restore %s: %w", t, translate(err))
		}
	}
	return translate(tx.Commit())
}

func tableNames(ctx context.Context, conn *sql.Conn, schema string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT name FROM `+schema+`.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, translate(err)
		}
		if !slices.Contains(tablesNotCopied, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 && rows.Err() == nil {
		return nil, errors.New("restore snapshot: no tables")
	}
	return out, translate(rows.Err())
}
