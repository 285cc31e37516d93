package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc/status"

	"github.com/octostore/octostore/cmd/octostore-bench/bench"
)

// etcdSystem drives etcd with its own lock recipe, client/v3/concurrency: a session
// (a lease kept alive) per client and a Mutex per lock. The fencing token is the lock
// key's revision, which etcd documents for exactly that use.
type etcdSystem struct {
	endpoints []string // a cluster's members: client i lists them starting at i modulo their number
	ttl       time.Duration
}

func (e *etcdSystem) Name() string { return "etcd" }

func (e *etcdSystem) Clients(ctx context.Context, n int, _ bool) ([]bench.Client, error) {
	out := make([]bench.Client, 0, n)
	for i := range n {
		eps := append(slices.Clone(e.endpoints[i%len(e.endpoints):]), e.endpoints[:i%len(e.endpoints)]...)
		cli, err := clientv3.New(clientv3.Config{
			Endpoints:   eps,
			DialTimeout: 5 * time.Second,
			Logger:      zap.NewNop(),
		})
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("etcd client: %w", err)
		}
		s, err := concurrency.NewSession(cli, concurrency.WithTTL(int(e.ttl.Seconds())), concurrency.WithContext(ctx))
		if err != nil {
			cli.Close()
			closeAll(out)
			return nil, fmt.Errorf("etcd session: %w", err)
		}
		out = append(out, &etcdClient{cli: cli, s: s, held: map[string]*concurrency.Mutex{}})
	}
	return out, nil
}

func closeAll(cs []bench.Client) {
	for _, c := range cs {
		c.Close()
	}
}

type etcdClient struct {
	cli  *clientv3.Client
	s    *concurrency.Session
	held map[string]*concurrency.Mutex
}

func key(name string) string { return "/octostore-bench/" + name }

func (c *etcdClient) grant(name string, m *concurrency.Mutex) bench.Grant {
	c.held[name] = m
	return bench.Grant{Acquired: true, Lease: m.Key(), Token: m.Header().Revision}
}

// Acquire is Mutex.TryLock: it never waits.
func (c *etcdClient) Acquire(ctx context.Context, name string) (bench.Grant, error) {
	m := concurrency.NewMutex(c.s, key(name))
	err := m.TryLock(ctx)
	if errors.Is(err, concurrency.ErrLocked) {
		return bench.Grant{}, nil
	}
	if err != nil {
		return bench.Grant{}, etcdErr(err)
	}
	return c.grant(name, m), nil
}

// AcquireWait is Mutex.Lock bounded by wait: etcd's blocking acquire, which queues
// waiters by key revision (FIFO).
func (c *etcdClient) AcquireWait(ctx context.Context, name string, wait time.Duration) (bench.Grant, error) {
	m := concurrency.NewMutex(c.s, key(name))
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err := m.Lock(wctx)
	if err != nil && wctx.Err() != nil && ctx.Err() == nil {
		return bench.Grant{}, nil // the wait ran out
	}
	if err != nil {
		return bench.Grant{}, etcdErr(err)
	}
	return c.grant(name, m), nil
}

// Renew keeps the session's lease alive once: every lock of the client is renewed.
func (c *etcdClient) Renew(ctx context.Context, _, _ string) error {
	_, err := c.cli.KeepAliveOnce(ctx, c.s.Lease())
	return etcdErr(err)
}

func (c *etcdClient) Release(ctx context.Context, name, _ string) error {
	m, ok := c.held[name]
	if !ok {
		return &bench.CodeError{Code: "lease_not_current"}
	}
	if err := m.Unlock(ctx); err != nil {
		return etcdErr(err)
	}
	delete(c.held, name)
	return nil
}

// Status reads who holds the lock, as Mutex does: the key with the lowest create
// revision under the lock's prefix. The read is linearizable.
func (c *etcdClient) Status(ctx context.Context, name string) error {
	_, err := c.cli.Get(ctx, key(name)+"/", clientv3.WithFirstCreate()...)
	return etcdErr(err)
}

func (c *etcdClient) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.s.Orphan()
	c.cli.Revoke(ctx, c.s.Lease())
	return c.cli.Close()
}

func etcdErr(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &bench.CodeError{Code: "etcd_" + strings.ToLower(status.Code(err).String())}
}
