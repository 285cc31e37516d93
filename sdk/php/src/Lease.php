<?php

declare(strict_types=1);

namespace OctoStore;

use OctoStore\Exception\LeaseExpiredException;
use OctoStore\Exception\LeaseNotCurrentException;
use OctoStore\Exception\OctoStoreException;
use OctoStore\Exception\ProtocolException;
use OctoStore\Exception\RateLimitedException;
use OctoStore\Exception\ServerErrorException;
use OctoStore\Exception\TransportException;
use OctoStore\Exception\UnavailableException;
use OctoStore\Generated\Model\AcquireResult;

/**
 * A held lock.
 *
 * PHP runs one thing at a time, so a lease does not renew itself in the background:
 * call keepAlive() between steps of your work. It renews once the server's
 * renew_after_ms (about a third of the TTL) has passed and returns false when the lease
 * is lost; waitLost() keeps renewing while you have nothing else to do. Keep each step
 * well under the TTL.
 *
 * A lease is not a guarantee: a process can stall past its TTL and still believe it
 * holds the lock. Send $fencingToken with every write to the resource you protect and
 * have the resource refuse tokens smaller than the largest it has seen.
 *
 * A lease taken through a Session ($session) has no TTL of its own: keepAlive() and
 * waitLost() keep the session alive, and the lease is lost when the session ends (lost,
 * closed or orphaned), with the session's reason.
 */
final class Lease
{
    private \DateTimeImmutable $expiresAt;
    private ?int $renewAfterMs;
    /** Monotonic seconds: when keepAlive() renews next. */
    private float $renewDue;
    /** Monotonic seconds: the lease surely ends by then unless renewed. */
    private float $deadline;
    private bool $released = false;
    private ?\Throwable $lostReason = null;
    private ?\Throwable $releaseError = null;

    private function __construct(
        private readonly Client $client,
        public readonly string $name,
        public readonly int $ttl,
        public readonly string $leaseId,
        public readonly int $fencingToken,
        public readonly ?string $metadata,
        \DateTimeImmutable $expiresAt,
        ?int $renewAfterMs,
        float $granted,
        ?float $deadline = null,
        public readonly ?Session $session = null,
    ) {
        $this->expiresAt = $expiresAt;
        $this->renewAfterMs = $renewAfterMs;
        $this->deadline = $deadline ?? $granted + self::remaining($ttl, $renewAfterMs);
        $this->renewDue = $granted + $this->renewDelay();
    }

    /** Seconds the lease runs after a grant: three times the server's renew_after_ms (a third of it), at most the TTL. */
    private static function remaining(int $ttl, ?int $renewAfterMs): float
    {
        return $renewAfterMs === null ? (float) $ttl : min((float) $ttl, $renewAfterMs * 3 / 1000.0);
    }

    /**
     * @internal leases come from Client::tryLock(), lock(), Semaphore, Session and
     * Election::campaign(); $granted is when the answer arrived (monotonic seconds)
     */
    public static function fromAcquire(Client $client, string $name, int $ttl, ?string $metadata, float $granted, AcquireResult $res, ?Session $session = null): self
    {
        return new self(
            $client,
            $name,
            $ttl,
            (string) $res->getLeaseId(),
            (int) $res->getFencingToken(),
            $metadata,
            \DateTimeImmutable::createFromInterface($res->getExpiresAt()),
            $res->getRenewAfterMs(),
            $granted,
            null,
            $session,
        );
    }

    /**
     * A lease another process acquired, from its toArray(): PHP processes share nothing,
     * so a lease taken in one (a queue worker, a forked child) can be renewed or released
     * in another. The TTL is counted from now, conservatively from the expiry it reports.
     *
     * @param array{name: string, ttl: int, lease_id: string, fencing_token: int, metadata: ?string, expires_at: string, renew_after_ms: ?int} $data
     */
    public static function fromArray(Client $client, array $data): self
    {
        $expires = new \DateTimeImmutable($data['expires_at']);
        $left = max(0.0, (float) $expires->format('U.u') - microtime(true));
        $now = Client::now();
        return new self(
            $client,
            $data['name'],
            $data['ttl'],
            $data['lease_id'],
            $data['fencing_token'],
            $data['metadata'] ?? null,
            $expires,
            $data['renew_after_ms'] ?? null,
            $now,
            $now + min((float) $data['ttl'], $left),
        );
    }

    /** What fromArray() needs to pick the lease up in another process. */
    public function toArray(): array
    {
        return [
            'name' => $this->name,
            'ttl' => $this->ttl,
            'lease_id' => $this->leaseId,
            'fencing_token' => $this->fencingToken,
            'metadata' => $this->metadata,
            'expires_at' => $this->expiresAt->format(\DateTimeInterface::RFC3339_EXTENDED),
            'renew_after_ms' => $this->renewAfterMs,
        ];
    }

    /** When the lease ends unless renewed, as the server last reported. */
    public function expiresAt(): \DateTimeImmutable
    {
        return $this->expiresAt;
    }

    /** The server's latest hint for the next renewal, in milliseconds. */
    public function renewAfterMs(): ?int
    {
        return $this->renewAfterMs;
    }

    /**
     * Whether the lease is lost: a renewal was refused, or it ran out (counted from the
     * grant or the last renewal's answer, as the server reported it) without one.
     */
    public function isLost(): bool
    {
        if ($this->lostReason === null && !$this->released && $this->session !== null) {
            $this->lostReason = $this->session->endReason();
        } elseif ($this->lostReason === null && !$this->released && Client::now() >= $this->deadline) {
            $this->lostReason = new LeaseExpiredException("lease of '{$this->name}' ran out before it was renewed");
        }
        return $this->lostReason !== null;
    }

    /** Why the lease was lost, or null. */
    public function lostReason(): ?\Throwable
    {
        $this->isLost();
        return $this->lostReason;
    }

    /**
     * Renews the lease if the server's renew_after_ms has passed since the last renewal
     * (cheap otherwise: no request). Returns true while the lease is held, false once it
     * is lost or released. Transient failures (network, 429, 5xx) are retried on later
     * calls until the lease would have run out.
     */
    public function keepAlive(): bool
    {
        if ($this->released || $this->isLost()) {
            return false;
        }
        if ($this->session !== null) {
            $this->session->keepAlive();
            return !$this->isLost();
        }
        $now = Client::now();
        if ($now < $this->renewDue) {
            return true;
        }
        try {
            // Bounded by what is left of the lease: a stalled server makes the lease end
            // on time, not after an HTTP timeout.
            $this->renewNow($this->ttl, max(0.05, min($this->deadline - $now, $this->client->timeout)));
            return true;
        } catch (TransportException | UnavailableException | RateLimitedException | ServerErrorException | ProtocolException $e) {
            $left = $this->deadline - Client::now();
            if ($left <= 0) {
                $this->lostReason = $e;
                return false;
            }
            $this->renewDue = Client::now() + min(1.0, $left / 2);
            return true;
        } catch (OctoStoreException $e) {
            $this->lostReason = $e;
            return false;
        }
    }

    /**
     * Keeps the lease renewed, sleeping in between, until it is lost (returns true) or
     * $timeout seconds pass (null: for ever; returns false). For a leader with nothing
     * else to do, or to hold a lock while waiting.
     */
    public function waitLost(?float $timeout = null): bool
    {
        if ($this->session !== null) {
            if ($this->released) {
                return false;
            }
            $this->session->waitEnded($timeout);
            return $this->isLost();
        }
        $end = $timeout === null ? null : Client::now() + $timeout;
        while (true) {
            // The process waits here: its open sessions are kept alive too.
            $next = Session::keepOpenSessionsAlive();
            if (!$this->keepAlive()) {
                return $this->isLost();
            }
            $now = Client::now();
            if ($end !== null && $now >= $end) {
                return false;
            }
            $until = min($end === null ? $this->renewDue : min($this->renewDue, $end), $this->deadline, $now + ($next ?? INF));
            usleep((int) max(1000, 1e6 * ($until - $now)));
        }
    }

    /**
     * Renews now, to $ttl seconds (default the lease's TTL).
     *
     * @throws LeaseNotCurrentException when the lease has already ended (it is then lost)
     */
    public function renew(?int $ttl = null): self
    {
        try {
            $this->renewNow($ttl ?? $this->ttl);
        } catch (LeaseNotCurrentException $e) {
            $this->lostReason ??= $e;
            throw $e;
        }
        return $this;
    }

    /**
     * Gives the lock back; returns the server's answer (lease_id, fencing_token).
     *
     * @return array{lease_id: string, fencing_token: int}
     * @throws LeaseNotCurrentException when the lease had already ended
     */
    public function release(): array
    {
        $this->released = true;
        $this->client->forget($this);
        $res = $this->client->releaseLease($this->name, $this->leaseId);
        return ['lease_id' => (string) $res->getLeaseId(), 'fencing_token' => (int) $res->getFencingToken()];
    }

    /**
     * End of use: releases the lease if it may still be held. Never throws, and returns at
     * once when the lease was already lost or released.
     */
    public function close(): void
    {
        $this->client->forget($this);
        if ($this->released || $this->isLost()) {
            $this->released = true;
            return;
        }
        $this->released = true;
        try {
            $left = $this->session === null ? $this->deadline - Client::now() : $this->session->secondsLeft();
            $this->client->releaseLease($this->name, $this->leaseId, max(0.5, min($left, $this->client->timeout)));
        } catch (\Throwable) {
        }
    }

    /** The failed release withLock() met after its callback threw, or null. */
    public function releaseError(): ?\Throwable
    {
        return $this->releaseError;
    }

    /** @internal */
    public function noteReleaseError(\Throwable $e): void
    {
        $this->releaseError = $e;
    }

    /** release(), ignoring a lease that had already ended (isLost() tells). */
    public function releaseQuietly(): void
    {
        try {
            $this->release();
        } catch (LeaseNotCurrentException) {
        }
    }

    private function renewNow(int $ttl, ?float $timeout = null): void
    {
        $sent = Client::now();
        $res = $this->client->renewLease($this->name, $this->leaseId, $ttl, $timeout);
        $expires = \DateTimeImmutable::createFromInterface($res->getExpiresAt());
        if ($expires > $this->expiresAt) {
            $this->expiresAt = $expires;
        }
        $this->renewAfterMs = $res->getRenewAfterMs();
        $this->deadline = max($this->deadline, $sent + self::remaining($ttl, $this->renewAfterMs));
        $this->renewDue = Client::now() + $this->renewDelay();
    }

    private function renewDelay(): float
    {
        if ($this->renewAfterMs !== null) {
            return max($this->renewAfterMs / 1000.0, 0.05);
        }
        return max($this->ttl / 3.0, 0.05);
    }
}
