<?php

declare(strict_types=1);

namespace OctoStore;

use OctoStore\Exception\LockHeldException;
use OctoStore\Exception\LockTimeoutException;

/**
 * A lock that up to $n distinct holders hold at once (Consul's semaphore), each with a
 * Lease and fencing token of its own. It behaves like Client::lock() otherwise: the same
 * Lease, the same try/blocking/callback forms and defaults. Every holder of a name must
 * use the same $n (the server refuses another with MaxHoldersMismatchException). Made by
 * Client::semaphore(), or Session::semaphore() for leases bound to a session ($ttl does
 * not apply then: the session keeps them).
 *
 *     $pool = $client->semaphore('renderers', 3);
 *     $lease = $pool->tryLock(30);   // null when all three places are taken
 */
final class Semaphore
{
    /** Most holders a semaphore admits. */
    public const MAX = 64;

    /** @internal use Client::semaphore() or Session::semaphore() */
    public function __construct(
        private readonly Client $client,
        public readonly string $name,
        public readonly int $n,
        public readonly ?Session $session = null,
    ) {
        if ($n < 1 || $n > self::MAX) {
            throw new \InvalidArgumentException("semaphore of {$n} holders: want 1 to " . self::MAX);
        }
    }

    /** Takes a place if one is free (one attempt): the Lease, or null when all $n are taken. */
    public function tryLock(int $ttl = Client::DEFAULT_TTL, ?string $metadata = null, ?int $lockDelay = null): ?Lease
    {
        $got = $this->tryAcquire($ttl, $metadata, $lockDelay);
        return $got instanceof Lease ? $got : null;
    }

    /** One attempt: the Lease, or a LockHeldException value naming the holder with the lowest fencing token. */
    public function tryAcquire(int $ttl = Client::DEFAULT_TTL, ?string $metadata = null, ?int $lockDelay = null): Lease|LockHeldException
    {
        return $this->client->acquireWith($this->name, 0, $this->terms($ttl, $metadata, $lockDelay));
    }

    /**
     * Waits in the lock's line for a place, at most $wait seconds in all (null: for ever),
     * and returns the Lease.
     *
     * @throws LockTimeoutException when the wait ends first
     */
    public function lock(int $ttl = Client::DEFAULT_TTL, ?float $wait = null, ?string $metadata = null, ?int $lockDelay = null): Lease
    {
        return $this->client->lockWith($this->name, $wait, $this->terms($ttl, $metadata, $lockDelay));
    }

    /** Client::withLock() for a place of the semaphore. */
    public function withLock(callable $fn, int $ttl = Client::DEFAULT_TTL, ?float $wait = null, ?string $metadata = null, ?int $lockDelay = null): mixed
    {
        return $this->client->withLease($this->name, $this->lock($ttl, $wait, $metadata, $lockDelay), $fn);
    }

    private function terms(int $ttl, ?string $metadata, ?int $lockDelay): Terms
    {
        return new Terms($this->session === null ? $ttl : null, $metadata, $lockDelay, $this->n, $this->session);
    }
}
