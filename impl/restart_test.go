package impl

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/store"
)

func TestHeldLocksSurviveARestartWithAFullTTL(t *testing.T) {
	ts := newTestServer(t, Config{})
	held := ts.acquire(ts.token, "keep", 60, "w1")
	gone := ts.acquire(ts.token, "gone", 60, "")
	ts.do("POST", "/locks/gone/release", ts.token, map[string]any{"lease_id": gone.str("lease_id")})
	ts.clock.Advance(50 * time.Second)

	ts.restart()
	ts.clock.Advance(59 * time.Second) // 109 s after the grant, 59 s after the restart
	s := ts.do("GET", "/locks/keep", ts.token, nil)
	if s.str("status") != "held" || s.num("fencing_token") != held.num("fencing_token") {
		t.Fatalf("after restart: %s", s.raw)
	}
	if again := ts.acquire(ts.token, "keep", 60, "w1"); again.str("lease_id") != held.str("lease_id") {
		t.Fatalf("holder lost its lease: %s", again.raw)
	}
	if s := ts.do("GET", "/locks/gone", ts.token, nil); s.str("status") != "free" {
		t.Fatalf("released lock came back: %s", s.raw)
	}
	next := ts.acquire(ts.token, "gone", 60, "")
	if next.num("fencing_token") <= gone.num("fencing_token") || next.num("fencing_token") <= held.num("fencing_token") {
		t.Fatalf("token %d after restart, issued before: %d %d", next.num("fencing_token"), held.num("fencing_token"), gone.num("fencing_token"))
	}
}

func TestExpiryIsPersistedSoARestartDoesNotRevive(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.acquire(ts.token, "short", 1, "")
	ts.clock.Advance(2 * time.Second)
	if s := ts.do("GET", "/locks/short", ts.token, nil); s.str("status") != "free" {
		t.Fatalf("%s", s.raw)
	}
	ts.restart()
	if s := ts.do("GET", "/locks/short", ts.token, nil); s.str("status") != "free" {
		t.Fatalf("expired lease revived by restart: %s", s.raw)
	}
}

func TestAcknowledgedGrantIsOnDiskBeforeTheResponse(t *testing.T) {
	ts := newTestServer(t, Config{})
	r := ts.acquire(ts.token, "durable", 60, "")
	// Another connection, outside the server, sees the committed row.
	db, err := sql.Open("sqlite", ts.dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var lease string
	var token int64
	if err := db.QueryRow("SELECT lease_id, fencing_token FROM leases WHERE name = 'durable'").Scan(&lease, &token); err != nil {
		t.Fatalf("grant not committed: %v", err)
	}
	if lease != r.str("lease_id") || token != r.num("fencing_token") {
		t.Fatalf("row %s %d, response %s", lease, token, r.raw)
	}
	ts.do("POST", "/locks/durable/release", ts.token, map[string]any{"lease_id": lease})
	var n int
	db.QueryRow("SELECT count(*) FROM leases WHERE name = 'durable'").Scan(&n)
	if n != 0 {
		t.Fatal("release not committed before its response")
	}
}

func TestSecondProcessOnTheSameDatabaseIsRefused(t *testing.T) {
	ts := newTestServer(t, Config{})
	_, err := store.Open(context.Background(), ts.dbPath, store.Options{})
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
}
