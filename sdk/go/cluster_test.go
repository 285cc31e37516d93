package octostore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/octostore/octostore/sdk/go/octostoretest"

	octostore "github.com/octostore/octostore/sdk/go"
)

// TestMutexAcrossALeaderKill: a client made with NewWithEndpoints over the three nodes
// (the leader's URL first, so its current endpoint is the one that dies) holds a Mutex
// while the leader is SIGKILLed. The Mutex either keeps its lease through the survivors
// (its renewals carry on: a later expiry, the same token) or reports the loss (Done, Err
// wrapping ErrLost); then another holder acquires through the survivors with a larger
// fencing token.
func TestMutexAcrossALeaderKill(t *testing.T) {
	nodes, token := octostoretest.StartCluster(t, serverBinary, "sdk-cluster")
	leader := octostoretest.Leader(t, nodes)
	urls := []string{leader.URL}
	var survivors []*octostoretest.Node
	for _, p := range nodes {
		if p != leader {
			urls, survivors = append(urls, p.URL), append(survivors, p)
		}
	}
	c, err := octostore.NewWithEndpoints(urls, token)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := octostore.NewMutex(c, "sdk-cluster-failover", octostore.WithTTL(6*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatalf("Lock through the leader: %v", err)
	}
	first, _ := m.Lease()
	leader.Kill()
	t.Logf("leader %s killed; token %d", leader.ID, first.FencingToken)
	newLeader := octostoretest.Leader(t, survivors)
	t.Logf("%s leads", newLeader.ID)

	// Renewals carry on (the lease's expiry moves past the one granted before the kill)
	// or the loss is reported; either within a bound that only catches a stuck helper.
	kept := false
	deadline := time.After(60 * time.Second)
wait:
	for {
		select {
		case <-m.Done():
			if err := m.Err(); !errors.Is(err, octostore.ErrLost) {
				t.Fatalf("the Mutex ended without reporting a loss: %v", err)
			}
			t.Logf("the Mutex reported the loss: %v", m.Err())
			break wait
		case <-deadline:
			t.Fatal("after 60 s the Mutex neither renewed through the survivors nor reported a loss")
		case <-time.After(100 * time.Millisecond):
			if l, ok := m.Lease(); ok && l.ExpiresAt.After(first.ExpiresAt) {
				if l.FencingToken != first.FencingToken {
					t.Fatalf("a renewal changed the fencing token: %d, was %d", l.FencingToken, first.FencingToken)
				}
				kept = true
				break wait
			}
		}
	}
	if kept {
		t.Log("the Mutex's renewals carried on through the survivors")
		if err := m.Unlock(ctx); err != nil {
			t.Fatalf("Unlock through the survivors: %v", err)
		}
	}
	m2, err := octostore.NewMutex(c, "sdk-cluster-failover", octostore.WithTTL(6*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	lockCtx, lockCancel := context.WithTimeout(ctx, 60*time.Second)
	defer lockCancel()
	if err := m2.Lock(lockCtx); err != nil {
		t.Fatalf("Lock through the survivors after the leader was killed: %v", err)
	}
	if m2.Token() <= first.FencingToken {
		t.Fatalf("fencing token after the failover %d, not above %d", m2.Token(), first.FencingToken)
	}
	t.Logf("new holder's token %d > %d", m2.Token(), first.FencingToken)
	if err := m2.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}
