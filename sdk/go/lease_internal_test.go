package octostore

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
)

// A renewal the server refuses (lease_not_current) ends the lease at once.
func TestKeeperEndsWhenTheServerNoLongerKnowsTheLease(t *testing.T) {
	c, err := New(os.Getenv("OCTOSTORE_URL"), os.Getenv("OCTOSTORE_TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	k := newKeeper(c, "sdk-unknown-lease", uuid.New(), 1, 10*time.Second, time.Now().Add(10*time.Second))
	k.renewAfter = 0 // renew at once
	k.start()
	select {
	case <-k.done:
	case <-time.After(30 * time.Second):
		t.Fatal("keeper did not notice")
	}
	if !errors.Is(k.err(), ErrLost) {
		t.Fatalf("err %v", k.err())
	}
	k.stop()
}
