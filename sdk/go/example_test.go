package octostore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	octostore "github.com/octostore/octostore/sdk/go"
)

// A job that must not run twice at once: take the lock, do the work while the lease
// lasts, pass the fencing token to what the work writes.
func ExampleMutex() {
	ctx := context.Background()
	c, err := octostore.New(os.Getenv("OCTOSTORE_URL"), os.Getenv("OCTOSTORE_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	m, err := octostore.NewMutex(c, "nightly-report", octostore.WithTTL(15*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := m.Lock(waitCtx); err != nil {
		log.Fatal(err)
	}
	defer m.Unlock(ctx)

	select {
	case <-m.Done():
		fmt.Println("lost the lock; stop writing")
	default:
		fmt.Println("holding the lock with a fencing token:", m.Token() > 0)
	}
	// Output: holding the lock with a fencing token: true
}

// Leader election: every instance campaigns with its address; the leader serves while
// Done is open, everyone else can ask who leads.
func ExampleElection() {
	ctx := context.Background()
	c, err := octostore.New(os.Getenv("OCTOSTORE_URL"), os.Getenv("OCTOSTORE_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	e, err := octostore.NewElection(c, "my-service-leader")
	if err != nil {
		log.Fatal(err)
	}
	if err := e.Campaign(ctx, "10.0.0.7:8080"); err != nil {
		log.Fatal(err)
	}
	leader, err := e.Leader(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("leader:", leader.Value)
	if err := e.Resign(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: leader: 10.0.0.7:8080
}

// Observe follows the leader: the current one first, then every change.
func ExampleElection_Observe() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := octostore.New(os.Getenv("OCTOSTORE_URL"), os.Getenv("OCTOSTORE_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	candidate, _ := octostore.NewElection(c, "observed-service")
	observer, _ := octostore.NewElection(c, "observed-service")
	if err := candidate.Campaign(ctx, "first"); err != nil {
		log.Fatal(err)
	}
	leaders := observer.Observe(ctx)
	fmt.Println((<-leaders).Value)
	candidate.Proclaim(ctx, "second")
	fmt.Println((<-leaders).Value)
	candidate.Resign(ctx)
	// Output:
	// first
	// second
}
