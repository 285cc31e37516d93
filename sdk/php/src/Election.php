<?php

declare(strict_types=1);

namespace OctoStore;

use OctoStore\Exception\LockTimeoutException;

/**
 * Leader election on one lock, modelled on etcd's concurrency.Election.
 *
 * The leader holds the lock and publishes a value (its address, say) as the lock's
 * metadata; everyone else can read it (leader()) or follow it (observe()). The leader
 * keeps leadership by calling keepAlive() (or waitLost()) on the returned Lease, which
 * also tells it when it was deposed.
 *
 *     $election = $client->election('scheduler', 15);
 *     $lease = $election->campaign('10.0.0.7:8080');   // blocks until elected
 *     while ($lease->keepAlive()) { scheduleNextBatch($lease->fencingToken); }
 */
final class Election
{
    /**
     * @param Lease|null $lease leadership this process holds already (for example a lease
     *                          picked up with Lease::fromArray()), so resign() can give it up
     */
    public function __construct(
        private readonly Client $client,
        public readonly string $name,
        public readonly int $ttl = 15,
        private ?Lease $lease = null,
    ) {
    }

    /**
     * Waits (at most $wait seconds; null: for ever) to become leader with $value and
     * returns the leadership Lease.
     *
     * @throws LockTimeoutException when the wait ends first
     */
    public function campaign(string $value, ?float $wait = null): Lease
    {
        return $this->lease = $this->client->lock($this->name, $this->ttl, $wait, $value);
    }

    /** The leadership lease this Election holds, or null. */
    public function lease(): ?Lease
    {
        return $this->lease;
    }

    /** The current leader, or null. */
    public function leader(): ?Leader
    {
        return Leader::fromState($this->client->status($this->name));
    }

    /**
     * Yields the current leader (or null), then each change of leader or value, until
     * $timeout seconds pass (null: for ever). Built on watch: no change between two
     * yields is missed, though several may arrive as one. For followers: the leader's own
     * lease is not renewed while this blocks.
     *
     * @return \Generator<int, Leader|null>
     */
    public function observe(?float $timeout = null, int $pollWait = 30): \Generator
    {
        $deadline = $timeout === null ? null : Client::now() + $timeout;
        $state = $this->client->status($this->name);
        $leader = Leader::fromState($state);
        $last = self::key($leader);
        yield $leader;
        $index = $state->revision;
        while (true) {
            $remaining = $deadline === null ? null : $deadline - Client::now();
            if ($remaining !== null && $remaining <= 0) {
                return;
            }
            $wait = $remaining === null ? $pollWait : max(1, min($pollWait, (int) floor($remaining)));
            $started = Client::now();
            $state = $this->client->watch($this->name, $index, $wait);
            if ($state->revision <= $index && Client::now() - $started < $wait * 0.9) {
                // A server without watch answers at once: poll gently instead of spinning.
                usleep((int) (Client::DEFAULT_RETRY_SECONDS * 1e6));
            }
            $index = max($index, $state->revision);
            $leader = Leader::fromState($state);
            if (self::key($leader) !== $last) {
                $last = self::key($leader);
                yield $leader;
            }
        }
    }

    /** Gives up leadership (releases the lock) if this Election holds it. */
    public function resign(): void
    {
        $lease = $this->lease;
        $this->lease = null;
        $lease?->releaseQuietly();
    }

    /**
     * What an observer compares: null while nobody leads, so a lock-delay that ends (the
     * lock becomes free) is no change and "no leader" is not reported twice.
     *
     * @return array{?int, ?string}|null
     */
    private static function key(?Leader $leader): ?array
    {
        return $leader === null ? null : [$leader->fencingToken, $leader->value];
    }
}
