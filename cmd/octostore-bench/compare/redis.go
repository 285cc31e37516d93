package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/octostore/octostore/cmd/octostore-bench/bench"
)

// redisSystem drives Redis with the usual single-node lock recipe, each step one Lua
// script (one round trip): SET NX PX plus an INCR'd fencing counter to acquire, compare-
// and-delete to release, compare-and-PEXPIRE to renew.
type redisSystem struct {
	label string
	addr  string
	ttl   time.Duration
	seq   atomic.Int64
}

func (r *redisSystem) Name() string { return r.label }

var (
	acquireScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0`)
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
	renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	statusScript = redis.NewScript(`
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]), redis.call('GET', KEYS[2])}`)
)

func (r *redisSystem) Clients(ctx context.Context, n int, _ bool) ([]bench.Client, error) {
	out := make([]bench.Client, 0, n)
	for range n {
		// One connection per client, as every other system gets.
		rdb := redis.NewClient(&redis.Options{Addr: r.addr, PoolSize: 1, MinIdleConns: 1, Protocol: 2,
			DialTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})
		if err := rdb.Ping(ctx).Err(); err != nil {
			rdb.Close()
			closeAll(out)
			return nil, fmt.Errorf("redis ping: %w", err)
		}
		for _, s := range []*redis.Script{acquireScript, releaseScript, renewScript, statusScript} {
			if err := s.Load(ctx, rdb).Err(); err != nil {
				rdb.Close()
				closeAll(out)
				return nil, fmt.Errorf("redis script load: %w", err)
			}
		}
		out = append(out, &redisClient{rdb: rdb, sys: r, ttlMs: strconv.FormatInt(r.ttl.Milliseconds(), 10)})
	}
	return out, nil
}

type redisClient struct {
	rdb   *redis.Client
	sys   *redisSystem
	ttlMs string
}

func lockKey(name string) string  { return "lock:" + name }
func fenceKey(name string) string { return "fence:" + name }

func (c *redisClient) Acquire(ctx context.Context, name string) (bench.Grant, error) {
	lease := strconv.FormatInt(c.sys.seq.Add(1), 36)
	tok, err := acquireScript.EvalSha(ctx, c.rdb, []string{lockKey(name), fenceKey(name)}, lease, c.ttlMs).Int64()
	if err != nil {
		return bench.Grant{}, redisErr(err)
	}
	if tok == 0 {
		return bench.Grant{}, nil
	}
	return bench.Grant{Acquired: true, Lease: lease, Token: tok}, nil
}

// AcquireWait is unsupported: Redis has no blocking lock acquire, and a client-side
// polling loop would measure the poll interval, not a hand-off.
func (c *redisClient) AcquireWait(context.Context, string, time.Duration) (bench.Grant, error) {
	return bench.Grant{}, fmt.Errorf("%w: Redis has no blocking lock acquire", bench.ErrUnsupported)
}

func (c *redisClient) Renew(ctx context.Context, name, lease string) error {
	n, err := renewScript.EvalSha(ctx, c.rdb, []string{lockKey(name)}, lease, c.ttlMs).Int64()
	if err != nil {
		return redisErr(err)
	}
	if n == 0 {
		return &bench.CodeError{Code: "lease_not_current"}
	}
	return nil
}

func (c *redisClient) Release(ctx context.Context, name, lease string) error {
	n, err := releaseScript.EvalSha(ctx, c.rdb, []string{lockKey(name)}, lease).Int64()
	if err != nil {
		return redisErr(err)
	}
	if n == 0 {
		return &bench.CodeError{Code: "lease_not_current"}
	}
	return nil
}

func (c *redisClient) Status(ctx context.Context, name string) error {
	return redisErr(statusScript.EvalSha(ctx, c.rdb, []string{lockKey(name), fenceKey(name)}).Err())
}

func (c *redisClient) Close() error { return c.rdb.Close() }

func redisErr(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var re redis.Error
	if errors.As(err, &re) {
		return &bench.CodeError{Code: "redis_error"}
	}
	return err
}
