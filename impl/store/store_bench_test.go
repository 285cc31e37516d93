package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/octostore/octostore/impl/lease"
)

func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchLease(i int, token int64) lease.Lease {
	l := testLease("bench-"+strconv.Itoa(i), token)
	l.ID = fmt.Sprintf("6f1c2a4e-8a7b-4d0c-9f5e-%012d", token)
	return l
}

// batchOf returns n revisions that each grant (put) or release (delete) one lock, as a
// run of acquire+release cycles produces them.
func batchOf(n int, put bool, token *int64) []pending {
	batch := make([]pending, n)
	for i := range batch {
		*token++
		kind := lease.DeleteLease
		if put {
			kind = lease.PutLease
		}
		batch[i] = pending{rev: uint64(*token), changes: []lease.Change{{Kind: kind, Lease: benchLease(i, *token)}}}
	}
	return batch
}

// BenchmarkWriteBatch is one group-commit transaction of n revisions (one lease change
// each) with its fsync, alternating grants and releases. sync=off shows how much of it
// is the fsync and how much is building and running the statements.
func BenchmarkWriteBatch(b *testing.B) {
	for _, sync := range []string{"full", "off"} {
		for _, n := range []int{1, 8, 32, 128, 256} {
			b.Run(fmt.Sprintf("sync=%s/revisions=%d", sync, n), func(b *testing.B) {
				s := openBench(b)
				ctx := context.Background()
				if sync == "off" {
					if _, err := s.db.ExecContext(ctx, "PRAGMA synchronous=OFF"); err != nil {
						b.Fatal(err)
					}
				}
				var token int64
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					batch := batchOf(n, i%2 == 0, &token)
					if _, err := s.write(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/change")
			})
		}
	}
}

// BenchmarkGroupCommit measures the committer end to end: n revisions submitted, then a
// wait until the last one is durable.
func BenchmarkGroupCommit(b *testing.B) {
	for _, n := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("revisions=%d", n), func(b *testing.B) {
			s := openBench(b)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					b.Error(err)
				}
			}()
			var token int64
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				for _, p := range batchOf(n, i%2 == 0, &token) {
					if err := s.Submit(p.rev, p.changes); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.WaitDurable(ctx, uint64(token)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/change")
		})
	}
}
