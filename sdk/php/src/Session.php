<?php

declare(strict_types=1);

namespace OctoStore;

use OctoStore\Exception\LockHeldException;
use OctoStore\Exception\LockTimeoutException;
use OctoStore\Exception\OctoStoreException;
use OctoStore\Exception\ProtocolException;
use OctoStore\Exception\RateLimitedException;
use OctoStore\Exception\ServerErrorException;
use OctoStore\Exception\SessionClosedException;
use OctoStore\Exception\SessionExpiredException;
use OctoStore\Exception\SessionLostException;
use OctoStore\Exception\SessionNotFoundException;
use OctoStore\Exception\TransportException;
use OctoStore\Exception\UnavailableException;
use OctoStore\Generated\Model\SessionResult;

/**
 * A lease on this process's liveness that many locks share, modelled on etcd's
 * concurrency.Session. Client::session() creates it on the server; locks taken through it
 * (lock(), tryLock(), withLock(), semaphore()) send its id and no TTL and end exactly
 * when the session ends (ephemeral locks).
 *
 *     $client->withSession(function (Session $session) {
 *         $session->withLock('leader', fn (Lease $lease) => serve($lease->fencingToken), wait: 30);
 *     }, ttl: 10);
 *
 * PHP runs one thing at a time, so a session is kept alive the way a Lease is: call
 * keepAlive() between steps of your work (it renews once the server's renew_after_ms has
 * passed, and returns false once the session ended); waitLost() keeps renewing while you
 * have nothing else to do. While this process waits inside the SDK (a blocking lock of
 * any Client, a prefix watch, a lease's or session's waitLost()) it also keeps every open
 * session of the process alive, waiting in slices no longer than the next renewal (a
 * blocking acquire then rejoins the lock's line after each slice). Keep each step of your
 * own well under the TTL.
 *
 * close() deletes the session, which releases every lock bound to it at once (no
 * lock-delay). A process that dies, or stops calling keepAlive(), stops renewing: the
 * server ends the session, and its locks, one TTL later, and their lock-delays apply
 * then; orphan() does the same on purpose.
 *
 * isLost() turns true (keepAlive() returns false, waitLost() returns true) when the
 * session ended without close(): the server no longer knows it, or no renewal succeeded
 * before it would have expired. Every lock bound to it is gone then, and those leases
 * report the loss too. Closing or orphaning is not a loss. When an acquire through the
 * session is the first to hear that the server forgot it, the session is lost at once and
 * that acquire throws SessionLostException (session_not_found, 404; a blocking lock()
 * does not retry it), as every later acquire through it does.
 */
final class Session
{
    /** Default TTL of a session, in seconds. */
    public const DEFAULT_TTL = 15;

    /** @var ?\WeakMap<Session, true> the open sessions of this process, kept alive while the SDK waits */
    private static ?\WeakMap $open = null;

    public readonly string $id;
    private \DateTimeImmutable $expiresAt;
    private ?int $renewAfterMs;
    /** Monotonic seconds: when keepAlive() renews next. */
    private float $renewDue;
    /** Monotonic seconds: the session surely ends by then unless renewed. */
    private float $deadline;
    /** open, lost, closed or orphaned */
    private string $state = 'open';
    private ?\Throwable $lostReason = null;
    /** The transient failure of the latest renewal, if it failed: the cause when the session runs out. */
    private ?\Throwable $lastError = null;
    /** The process that created it: a forked child does not renew its parent's sessions. */
    private readonly int $pid;

    /**
     * @internal sessions come from Client::session(); $sent is when the creating request
     * left (monotonic seconds)
     */
    public function __construct(private readonly Client $client, public readonly int $ttl, SessionResult $res, float $sent)
    {
        $this->id = (string) $res->getSessionId();
        $this->expiresAt = \DateTimeImmutable::createFromInterface($res->getExpiresAt());
        $this->renewAfterMs = $res->getRenewAfterMs();
        // The session ends, by this process's clock, no later than the server said when it
        // answered: three times renew_after_ms (a third of the TTL) after the request left.
        $this->deadline = $sent + $this->remaining();
        $this->renewDue = Client::now() + $this->renewDelay();
        $this->pid = getmypid();
        self::$open ??= new \WeakMap();
        self::$open[$this] = true;
    }

    /** When the server ends the session unless it is renewed, as of the latest renewal. */
    public function expiresAt(): \DateTimeImmutable
    {
        return $this->expiresAt;
    }

    /** The server's latest hint for the next renewal, in milliseconds. */
    public function renewAfterMs(): ?int
    {
        return $this->renewAfterMs;
    }

    /** Whether the session was lost: it ended without close() or orphan(). */
    public function isLost(): bool
    {
        if ($this->state === 'open' && Client::now() >= $this->deadline) {
            $this->end('lost', new SessionExpiredException("session {$this->id} ran out before it was renewed", 0, $this->lastError));
        }
        return $this->state === 'lost';
    }

    /** Why the session was lost, or null. */
    public function lostReason(): ?\Throwable
    {
        $this->isLost();
        return $this->lostReason;
    }

    /** Whether close() or orphan() ended it. */
    public function isClosed(): bool
    {
        return $this->state === 'closed' || $this->state === 'orphaned';
    }

    /**
     * Renews the session if the server's renew_after_ms has passed since the last renewal
     * (cheap otherwise: no request). Returns true while it is open, false once it is lost,
     * closed or orphaned. Transient failures (network, 429, 5xx) are retried on later calls
     * until the session would have run out; a session the server no longer knows is lost
     * at once.
     */
    public function keepAlive(): bool
    {
        if ($this->isLost() || $this->state !== 'open') {
            return false;
        }
        $now = Client::now();
        if ($now < $this->renewDue) {
            return true;
        }
        try {
            // Bounded by what is left of the session: a stalled server makes it end on
            // time, not after an HTTP timeout.
            $this->renewNow(max(0.05, min($this->deadline - $now, $this->client->timeout)));
            return true;
        } catch (TransportException | UnavailableException | RateLimitedException | ServerErrorException | ProtocolException $e) {
            $this->lastError = $e;
            $left = $this->deadline - Client::now();
            if ($left <= 0) {
                $this->end('lost', $e);
                return false;
            }
            $retry = $e instanceof RateLimitedException || $e instanceof UnavailableException ? ($e->retryAfter ?? 1.0) : 1.0;
            $this->renewDue = Client::now() + max(0.01, min(1.0, $left / 3, $retry));
            return true;
        } catch (OctoStoreException $e) {
            // SessionNotFoundException: the server ended it (deleted, or it expired).
            $this->end('lost', $e);
            return false;
        }
    }

    /**
     * Keeps the session (and every other open session of the process) renewed, sleeping in
     * between, until it is lost (returns true), closed or orphaned (false), or $timeout
     * seconds pass (null: for ever; returns false).
     */
    public function waitLost(?float $timeout = null): bool
    {
        return $this->waitEnded($timeout) && $this->isLost();
    }

    /** Takes the lock through the session if it is free (one attempt): the Lease, or null when someone else holds it. */
    public function tryLock(string $name, ?string $metadata = null, ?int $lockDelay = null): ?Lease
    {
        $got = $this->tryAcquire($name, $metadata, $lockDelay);
        return $got instanceof Lease ? $got : null;
    }

    /**
     * One acquire attempt through the session: the Lease, or a LockHeldException value.
     * $lockDelay: seconds (0..60) nobody gets the lock after the session *expires*.
     *
     * @throws SessionLostException|SessionClosedException when the session already ended,
     *         or (SessionLostException) when the server answers that it no longer knows it
     */
    public function tryAcquire(string $name, ?string $metadata = null, ?int $lockDelay = null): Lease|LockHeldException
    {
        return $this->client->acquireWith($name, 0, new Terms(null, $metadata, $lockDelay, null, $this));
    }

    /**
     * Waits in line for the lock, at most $wait seconds (null: for ever), as Client::lock()
     * does (keeping the session alive meanwhile), and returns the Lease bound to it.
     *
     * @throws LockTimeoutException when the wait ends first
     */
    public function lock(string $name, ?float $wait = null, ?string $metadata = null, ?int $lockDelay = null): Lease
    {
        return $this->client->lockWith($name, $wait, new Terms(null, $metadata, $lockDelay, null, $this));
    }

    /** Client::withLock() through the session. */
    public function withLock(string $name, callable $fn, ?float $wait = null, ?string $metadata = null, ?int $lockDelay = null): mixed
    {
        return $this->client->withLease($name, $this->lock($name, $wait, $metadata, $lockDelay), $fn);
    }

    /** A Semaphore of $n holders on $name whose leases are bound to the session. */
    public function semaphore(string $name, int $n): Semaphore
    {
        return new Semaphore($this->client, $name, $n, $this);
    }

    /**
     * Deletes the session on the server, which releases every lock bound to it at once (no
     * lock-delay). Returns true when the server deleted it (or no longer had it), false when
     * it was already lost, closed or orphaned, or the delete failed (the server then ends it
     * one TTL after its last renewal). Never throws.
     */
    public function close(): bool
    {
        if ($this->isLost() || $this->state !== 'open') {
            return false;
        }
        $this->end('closed', null);
        try {
            $this->client->deleteSession($this->id, max(0.5, min($this->deadline - Client::now(), $this->client->timeout)));
        } catch (SessionNotFoundException) {
        } catch (\Throwable) {
            return false;
        }
        return true;
    }

    /**
     * Stops keeping the session alive without deleting it, as etcd's Session.Orphan does:
     * the server ends the session, and every lock bound to it, one TTL after its last
     * renewal, and their lock-delays apply then. It is what a process that dies does. The
     * leases bound to the session are reported lost at once (nobody keeps them alive).
     */
    public function orphan(): void
    {
        if (!$this->isLost() && $this->state === 'open') {
            $this->end('orphaned', null);
        }
    }

    /** @internal seconds left until the session's own end, by this process's clock */
    public function secondsLeft(): float
    {
        return $this->deadline - Client::now();
    }

    /**
     * @internal throws unless locks may be taken through the session
     *
     * @throws SessionLostException|SessionClosedException
     */
    public function checkOpen(): void
    {
        $reason = $this->endReason();
        if ($reason !== null) {
            throw $reason;
        }
    }

    /** @internal an acquire through the session was answered session_not_found */
    public function forgotten(SessionNotFoundException $e): void
    {
        if ($this->state === 'open') {
            $this->end('lost', $e);
        }
    }

    /** @internal why a lease bound to the session has ended with it, or null while it is open */
    public function endReason(): SessionLostException|SessionClosedException|null
    {
        return match (true) {
            $this->isLost() => new SessionLostException($this->id, $this->lostReason),
            $this->state === 'open' => null,
            default => new SessionClosedException($this->id, $this->state),
        };
    }

    /**
     * @internal keeps alive, until it ends or $timeout seconds pass, this session and every
     * other open session of the process; returns whether it ended
     */
    public function waitEnded(?float $timeout = null): bool
    {
        $end = $timeout === null ? null : Client::now() + $timeout;
        while (true) {
            $next = self::keepOpenSessionsAlive();
            if (!$this->keepAlive()) {
                return true;
            }
            $now = Client::now();
            if ($end !== null && $now >= $end) {
                return false;
            }
            $until = min($this->renewDue, $this->deadline, $end ?? INF, $now + ($next ?? INF));
            usleep((int) max(1000, 1e6 * ($until - $now)));
        }
    }

    /**
     * @internal renews every open session of this process that is due (the SDK calls it
     * while it waits); returns the seconds until the next one is due, or null when none is
     * open
     */
    public static function keepOpenSessionsAlive(): ?float
    {
        if (self::$open === null || count(self::$open) === 0) {
            return null;
        }
        $sessions = [];
        foreach (self::$open as $session => $_) {
            $sessions[] = $session;
        }
        $pid = getmypid();
        $next = null;
        foreach ($sessions as $session) {
            if ($session->pid !== $pid || !$session->keepAlive()) {
                continue;
            }
            $due = max(0.0, $session->renewDue - Client::now());
            $next = $next === null ? $due : min($next, $due);
        }
        return $next;
    }

    private function end(string $state, ?\Throwable $reason): void
    {
        $this->state = $state;
        $this->lostReason = $reason;
        if (self::$open !== null) {
            unset(self::$open[$this]);
        }
        $this->client->forgetSession($this);
    }

    private function remaining(): float
    {
        return $this->renewAfterMs === null ? (float) $this->ttl : min((float) $this->ttl, $this->renewAfterMs * 3 / 1000.0);
    }

    private function renewNow(float $timeout): void
    {
        $sent = Client::now();
        $res = $this->client->renewSession($this->id, $timeout);
        $expires = \DateTimeImmutable::createFromInterface($res->getExpiresAt());
        if ($expires > $this->expiresAt) {
            $this->expiresAt = $expires;
        }
        $this->renewAfterMs = $res->getRenewAfterMs();
        $this->lastError = null;
        $this->deadline = max($this->deadline, $sent + $this->remaining());
        $this->renewDue = Client::now() + $this->renewDelay();
    }

    private function renewDelay(): float
    {
        return max(($this->renewAfterMs ?? $this->ttl * 1000 / 3) / 1000.0, 0.01);
    }
}
