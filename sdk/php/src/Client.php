<?php

declare(strict_types=1);

namespace OctoStore;

use GuzzleHttp\Client as HttpClient;
use GuzzleHttp\Exception\GuzzleException;
use OctoStore\Exception\ConflictException;
use OctoStore\Exception\InvalidLockNameException;
use OctoStore\Exception\InvalidRequestException;
use OctoStore\Exception\InvalidTtlException;
use OctoStore\Exception\LeaseNotCurrentException;
use OctoStore\Exception\LockHeldException;
use OctoStore\Exception\LockLimitExceededException;
use OctoStore\Exception\MaxHoldersMismatchException;
use OctoStore\Exception\LockLostException;
use OctoStore\Exception\OctoStoreException;
use OctoStore\Exception\LockTimeoutException;
use OctoStore\Exception\NotFoundException;
use OctoStore\Exception\PayloadTooLargeException;
use OctoStore\Exception\ProblemException;
use OctoStore\Exception\ProtocolException;
use OctoStore\Exception\RateLimitedException;
use OctoStore\Exception\ServerErrorException;
use OctoStore\Exception\SessionLimitExceededException;
use OctoStore\Exception\SessionLostException;
use OctoStore\Exception\SessionMismatchException;
use OctoStore\Exception\SessionNotFoundException;
use OctoStore\Exception\TooManyWaitersException;
use OctoStore\Exception\TransportException;
use OctoStore\Exception\UnauthorizedException;
use OctoStore\Exception\UnavailableException;
use OctoStore\Exception\UnsupportedMediaTypeException;
use OctoStore\Generated\Api\LocksApi;
use OctoStore\Generated\Api\SessionsApi;
use OctoStore\Generated\ApiException;
use OctoStore\Generated\Configuration;
use OctoStore\Generated\Model\AcquireRequest;
use OctoStore\Generated\Model\AcquireResult;
use OctoStore\Generated\Model\CreateSessionRequest;
use OctoStore\Generated\Model\ReleaseRequest;
use OctoStore\Generated\Model\ReleaseResult;
use OctoStore\Generated\Model\RenewRequest;
use OctoStore\Generated\Model\RenewResult;
use OctoStore\Generated\Model\SessionResult;

/**
 * An OctoStore client for one token.
 *
 * Every client is its own holder: it sends $owner with every acquire, by default
 * "<host>-<pid>-<8 random hex digits>", so two clients (two processes) sharing one token
 * exclude each other. Pass $owner to choose the name; read $client->owner to log it.
 * $timeout (default 10 s) bounds every ordinary request; long-polls (blocking lock,
 * watch) get their wait plus a margin, and renewals what is left of the lease.
 *
 * Every request goes through the generated client (locks()); request models are built
 * from arrays, so every constraint is left to the server, whose problem answers become
 * typed exceptions (Exception\ProblemException and subclasses).
 */
final class Client
{
    /** Longest wait the server accepts for one blocking request, in seconds. */
    public const MAX_WAIT_SECONDS = 60;
    /** Extra time a long-poll may take on top of its wait. */
    public const POLL_SLACK_SECONDS = 15;
    /** Back-off after an early `held` when the server sends no hint (a server without blocking acquire). */
    public const DEFAULT_RETRY_SECONDS = 0.25;

    private const PROBLEMS = [
        'invalid_request' => InvalidRequestException::class,
        'invalid_lock_name' => InvalidLockNameException::class,
        'invalid_ttl' => InvalidTtlException::class,
        'unauthorized' => UnauthorizedException::class,
        'not_found' => NotFoundException::class,
        'account_not_found' => NotFoundException::class,
        'admin_disabled' => NotFoundException::class,
        'lease_not_current' => LeaseNotCurrentException::class,
        'lock_limit_exceeded' => LockLimitExceededException::class,
        'max_holders_mismatch' => MaxHoldersMismatchException::class,
        'session_not_found' => SessionNotFoundException::class,
        'session_limit_exceeded' => SessionLimitExceededException::class,
        'session_mismatch' => SessionMismatchException::class,
        'too_many_waiters' => TooManyWaitersException::class,
        'account_exists' => ConflictException::class,
        'payload_too_large' => PayloadTooLargeException::class,
        'unsupported_media_type' => UnsupportedMediaTypeException::class,
        'rate_limited' => RateLimitedException::class,
        'unavailable' => UnavailableException::class,
        'no_leader' => UnavailableException::class,
    ];

    /** Default TTL of a lock and of an election's leadership, and the request timeout, in seconds. */
    public const DEFAULT_TTL = 15;
    public const DEFAULT_ELECTION_TTL = 15;
    public const DEFAULT_TIMEOUT = 10.0;

    /** This client's holder name, sent with every acquire. */
    public readonly string $owner;
    /** @var list<string> */
    public readonly array $baseUrls;
    private readonly Configuration $config;
    /** @var array<string, array{locks: LocksApi, sessions: SessionsApi}> per base URL and timeout */
    private array $apis = [];
    /** @var array<int, Lease> leases this client took and has not released (shutdown hook) */
    private array $held = [];
    /** @var array<int, Election> */
    private array $elections = [];
    /** @var array<int, Session> sessions this client opened that are still open (shutdown hook) */
    private array $sessions = [];

    /**
     * @param string|list<string> $baseUrls one base URL, or several: a request that meets a
     *                                       transport error or a 503 moves on to the next
     * @param ?string $owner this client's holder name; default "<host>-<pid>-<8 random hex digits>",
     *                       unique, so two clients sharing one token exclude each other
     * @param float $timeout seconds for every ordinary request (long-polls get their wait plus a margin)
     * @param array<string, mixed> $guzzleOptions extra options for the Guzzle clients (proxy, TLS, handler)
     */
    public function __construct(
        string|array $baseUrls,
        private readonly string $token,
        ?string $owner = null,
        public readonly float $timeout = self::DEFAULT_TIMEOUT,
        private readonly array $guzzleOptions = [],
    ) {
        $urls = array_values(array_map(static fn ($u) => rtrim((string) $u, '/'), (array) $baseUrls));
        if ($urls === []) {
            throw new \InvalidArgumentException('at least one base URL');
        }
        $this->baseUrls = $urls;
        $this->owner = $owner === null || $owner === '' ? self::defaultOwner() : $owner;
        $this->config = (new Configuration())->setAccessToken($token);
    }

    /** A fresh unique owner: "<host>-<pid>-<8 random hex digits>". */
    public static function defaultOwner(): string
    {
        return (gethostname() ?: 'host') . '-' . getmypid() . '-' . bin2hex(random_bytes(4));
    }

    /** The generated locks API on the first base URL, for calls the helpers do not cover. */
    public function locks(): LocksApi
    {
        return $this->api($this->baseUrls[0], $this->timeout)['locks'];
    }

    /**
     * Takes the lock if it is free (one attempt) and returns the Lease, or null when
     * someone else holds it (tryAcquire() says who). Taking a lock this holder already
     * holds returns the same lease and fencing token.
     *
     * $lockDelay (seconds, 0..60; Chubby's lock-delay) keeps the lock from everyone for that
     * long after this lease *expires* (never after a release), so a holder that lost it
     * without noticing has time to stop before anyone else starts.
     */
    public function tryLock(string $name, int $ttl = self::DEFAULT_TTL, ?string $metadata = null, ?int $lockDelay = null): ?Lease
    {
        $got = $this->tryAcquire($name, $ttl, $metadata, $lockDelay);
        return $got instanceof Lease ? $got : null;
    }

    /**
     * One acquire attempt: the Lease, or a LockHeldException value (returned, not thrown)
     * naming the holder, when its lease ends and when trying again is worthwhile (during a
     * lock-delay: no holder, and $availableAt).
     */
    public function tryAcquire(string $name, int $ttl = self::DEFAULT_TTL, ?string $metadata = null, ?int $lockDelay = null): Lease|LockHeldException
    {
        return $this->acquireWith($name, 0, new Terms($ttl, $metadata, $lockDelay));
    }

    /**
     * Waits in line for the lock, at most $wait seconds in all (null: for ever; 0: one
     * attempt), and returns the Lease. Its deadline counts from the grant (the answer),
     * however long the wait was. A lock-delay is waited out like a holder.
     *
     * @throws LockTimeoutException when the wait ends first
     */
    public function lock(string $name, int $ttl = self::DEFAULT_TTL, ?float $wait = null, ?string $metadata = null, ?int $lockDelay = null): Lease
    {
        return $this->lockWith($name, $wait, new Terms($ttl, $metadata, $lockDelay));
    }

    /**
     * Runs $fn($lease) while holding the lock, then releases it; returns what $fn returns.
     * Waits for the lock as lock() does.
     *
     * - An exception from $fn always comes out as it is. If the release on the way out
     *   fails too, that failure is logged (error_log) and kept as $lease->releaseError(),
     *   never thrown in its place.
     * - If the lease was lost while $fn ran (a renewal was refused, or it ran out) and $fn
     *   returned normally, throws LockLostException (previous: the reason).
     *
     * PHP has no background thread to renew the lease: call $lease->keepAlive() between
     * steps of long work (it renews when the server's renew_after_ms has passed, and
     * returns false once the lease is lost), and send $lease->fencingToken with every write.
     */
    public function withLock(string $name, callable $fn, int $ttl = self::DEFAULT_TTL, ?float $wait = null, ?string $metadata = null, ?int $lockDelay = null): mixed
    {
        return $this->withLease($name, $this->lock($name, $ttl, $wait, $metadata, $lockDelay), $fn);
    }

    /**
     * A Semaphore on the lock $name that up to $n (1..64) distinct holders hold at once,
     * each with a lease and fencing token of its own; every holder of the name must ask for
     * the same $n (else MaxHoldersMismatchException).
     *
     *     $pool = $client->semaphore('renderers', 3);
     *     $pool->withLock(fn (Lease $lease) => render($lease->fencingToken), wait: 30);
     */
    public function semaphore(string $name, int $n): Semaphore
    {
        return new Semaphore($this, $name, $n);
    }

    /**
     * Creates a Session of $ttl seconds on the server. Keep it alive with keepAlive()
     * between steps (the SDK's own waits do it too); end it with close() or orphan().
     */
    public function session(int $ttl = Session::DEFAULT_TTL): Session
    {
        $sent = self::now();
        $body = new CreateSessionRequest(['ttl_seconds' => $ttl]);
        /** @var SessionResult $res */
        $res = $this->request($this->timeout, fn (SessionsApi $api) => $api->createSession($body), 'sessions');
        $session = new Session($this, $ttl, $res, $sent);
        $this->sessions[spl_object_id($session)] = $session;
        return $session;
    }

    /**
     * Runs $fn($session) with a new session and closes it afterwards (releasing every lock
     * bound to it); returns what $fn returns. An exception from $fn comes out as it is; if
     * the session was lost while $fn ran and $fn returned normally, throws
     * SessionLostException.
     */
    public function withSession(callable $fn, int $ttl = Session::DEFAULT_TTL): mixed
    {
        $session = $this->session($ttl);
        try {
            $value = $fn($session);
        } catch (\Throwable $e) {
            $session->close();
            throw $e;
        }
        if ($session->isLost()) {
            throw new SessionLostException($session->id, $session->lostReason());
        }
        $session->close();
        return $value;
    }

    /**
     * Opt-in shutdown hook: on SIGTERM or SIGINT (ext-pcntl), releases every lease this
     * client still holds and resigns its elections, then exits with 128 + the signal
     * number. Turns on pcntl_async_signals().
     *
     * @param list<int> $signals
     */
    public function releaseOnShutdown(array $signals = [SIGTERM, SIGINT]): self
    {
        if (!function_exists('pcntl_signal')) {
            throw new \RuntimeException('releaseOnShutdown() needs ext-pcntl');
        }
        pcntl_async_signals(true);
        foreach ($signals as $signal) {
            pcntl_signal($signal, function (int $signo): void {
                $this->shutdown();
                exit(128 + $signo);
            });
        }
        return $this;
    }

    /** Releases every lease still held and resigns every election (the shutdown hook's work); never throws. */
    public function shutdown(): void
    {
        foreach ($this->elections as $election) {
            try {
                $election->resign();
            } catch (\Throwable) {
            }
        }
        foreach ($this->held as $lease) {
            $lease->close();
        }
        $this->held = [];
        foreach ($this->sessions as $session) {
            $session->close();
        }
        $this->sessions = [];
    }

    /** @internal used by Lease */
    public function forget(Lease $lease): void
    {
        unset($this->held[spl_object_id($lease)]);
    }

    /** @internal used by Session once it is no longer open */
    public function forgetSession(Session $session): void
    {
        unset($this->sessions[spl_object_id($session)]);
    }

    /** The lock's current state. */
    public function status(string $name): LockState
    {
        $name = self::checkName($name);
        return LockState::fromModel($this->request($this->timeout, fn (LocksApi $api) => $api->getLock($name)));
    }

    /**
     * Waits (at most $wait seconds, up to 60) until the lock's revision exceeds $index and
     * returns the state then; after the wait, the unchanged state. Pass the last revision
     * you saw and no change is ever missed.
     */
    public function watch(string $name, int $index, int $wait = 30): LockState
    {
        $name = self::checkName($name);
        return LockState::fromModel($this->request($wait + self::POLL_SLACK_SECONDS, fn (LocksApi $api) => $api->getLock($name, $index, $wait)));
    }

    /**
     * The account's active locks, by name.
     *
     * @return list<LockState>
     */
    public function list(): array
    {
        $res = $this->request($this->timeout, fn (LocksApi $api) => $api->listLocks());
        return array_map(fn ($s) => LockState::fromModel($s), $res->getLocks());
    }

    /**
     * The index to watch a prefix from (watchPrefix()): every change of the locks whose
     * names start with $prefix so far is at or below it.
     */
    public function prefixIndex(string $prefix): int
    {
        $res = $this->request($this->timeout, fn (LocksApi $api) => $api->listLocks(null, 1, $prefix));
        if ($res->getIndex() === null) {
            throw new ProtocolException('prefix list without index');
        }
        return (int) $res->getIndex();
    }

    /**
     * Follows every change of the locks under $prefix after $index, in order, yielding a
     * PrefixChanges for each answer that carries changes, until the caller stops iterating
     * or $timeout seconds pass (null: for ever).
     *
     * Index 0 starts with every lock the server knows under the prefix; prefixIndex() gives
     * the current one, to see only what changes from now on. Coming back with each
     * answer's index, it misses no change; a lock that changed several times between two
     * answers is reported once, as it is now. 429 and 503 answers are waited out. While it
     * waits, the process's open sessions are kept alive.
     *
     *     foreach ($client->watchPrefix('jobs.', $client->prefixIndex('jobs.')) as $answer) {
     *         foreach ($answer->changes as $lock) { echo "{$lock->name}: {$lock->status}\n"; }
     *     }
     *
     * @return \Generator<int, PrefixChanges>
     */
    public function watchPrefix(string $prefix, int $index, ?float $timeout = null, int $pollWait = self::MAX_WAIT_SECONDS): \Generator
    {
        $deadline = $timeout === null ? null : self::now() + $timeout;
        while (true) {
            $next = Session::keepOpenSessionsAlive();
            $remaining = $deadline === null ? null : $deadline - self::now();
            if ($remaining !== null && $remaining <= 0) {
                return;
            }
            $bound = self::minOf($remaining, $next);
            $wait = $bound === null ? $pollWait : max(1, min($pollWait, (int) floor($bound)));
            try {
                $res = $this->request($wait + self::POLL_SLACK_SECONDS, fn (LocksApi $api) => $api->listLocks(null, null, $prefix, $index, $wait));
            } catch (RateLimitedException | UnavailableException $e) {
                $pause = max($e->retryAfter ?? self::DEFAULT_RETRY_SECONDS, 0.1);
                usleep((int) (1e6 * ($remaining === null ? $pause : min($pause, $remaining))));
                continue;
            }
            if ($res->getIndex() === null) {
                throw new ProtocolException('prefix watch answer without index');
            }
            $changes = array_values(array_map(fn ($c) => LockState::fromModel($c), $res->getChanges() ?? []));
            $answer = new PrefixChanges((int) $res->getIndex(), $changes, $res->getComplete() !== false);
            if ($changes !== [] || !$answer->complete) {
                yield $answer;
            }
            $index = max($index, $answer->index);
        }
    }

    /** An Election on the lock $name; the leader holds it with a $ttl-second lease. */
    public function election(string $name, int $ttl = self::DEFAULT_ELECTION_TTL): Election
    {
        return $this->elections[] = new Election($this, $name, $ttl);
    }

    /** @internal used by Lease; $timeout bounds the request (a lease passes what is left of it) */
    public function renewLease(string $name, string $leaseId, int $ttl, ?float $timeout = null): RenewResult
    {
        $body = new RenewRequest(['lease_id' => $leaseId, 'ttl_seconds' => $ttl]);
        return $this->request($timeout ?? $this->timeout, fn (LocksApi $api) => $api->renewLock($name, $body));
    }

    /** @internal used by Lease */
    public function releaseLease(string $name, string $leaseId, ?float $timeout = null): ReleaseResult
    {
        $body = new ReleaseRequest(['lease_id' => $leaseId]);
        return $this->request($timeout ?? $this->timeout, fn (LocksApi $api) => $api->releaseLock($name, $body));
    }

    /** @internal used by Session */
    public function renewSession(string $id, ?float $timeout = null): SessionResult
    {
        return $this->request($timeout ?? $this->timeout, fn (SessionsApi $api) => $api->renewSession($id), 'sessions');
    }

    /** @internal used by Session */
    public function deleteSession(string $id, ?float $timeout = null): void
    {
        $this->request($timeout ?? $this->timeout, fn (SessionsApi $api) => $api->deleteSession($id), 'sessions');
    }

    /**
     * @internal one acquire attempt ($wait seconds in line) with $terms; used by Semaphore and Session
     */
    public function acquireWith(string $name, int $wait, Terms $terms): Lease|LockHeldException
    {
        $name = self::checkName($name);
        $session = $terms->session;
        $fields = ['owner' => $this->owner];
        if ($session !== null) {
            $session->checkOpen();
            $fields['session_id'] = $session->id;
        } else {
            $fields['ttl_seconds'] = $terms->ttl;
        }
        if ($wait > 0) {
            $fields['wait_seconds'] = $wait;
        }
        if ($terms->metadata !== null) {
            $fields['metadata'] = $terms->metadata;
        }
        if ($terms->lockDelay !== null && $terms->lockDelay > 0) {
            $fields['lock_delay_seconds'] = $terms->lockDelay;
        }
        if ($terms->maxHolders !== null) {
            $fields['max_holders'] = $terms->maxHolders;
        }
        $timeout = $wait > 0 ? $wait + self::POLL_SLACK_SECONDS : $this->timeout;
        /** @var AcquireResult $res */
        try {
            $res = $this->request($timeout, fn (LocksApi $api) => $api->acquireLock($name, new AcquireRequest($fields)));
        } catch (SessionNotFoundException $e) {
            if ($session === null) {
                throw $e;
            }
            // The server no longer knows the session: it is lost now, not when its next
            // renewal finds out, and so is every lease bound to it.
            $session->forgotten($e);
            throw new SessionLostException($session->id, $e);
        }
        if ($res->getStatus() === 'acquired') {
            // The deadline counts from the grant, i.e. the answer, not from when a blocking
            // request was sent.
            $ttl = $session !== null ? $session->ttl : (int) $terms->ttl;
            $lease = Lease::fromAcquire($this, $name, $ttl, $terms->metadata, self::now(), $res, $session);
            $this->held[spl_object_id($lease)] = $lease;
            return $lease;
        }
        return match ($res->getStatus()) {
            'held' => new LockHeldException(
                $name,
                $res->getHolderId(),
                $res->getExpiresAt() === null ? null : \DateTimeImmutable::createFromInterface($res->getExpiresAt()),
                $res->getRetryAfterMs(),
                $res->getAvailableAt() === null ? null : \DateTimeImmutable::createFromInterface($res->getAvailableAt()),
            ),
            default => throw new ProtocolException('unknown acquire status ' . var_export($res->getStatus(), true)),
        };
    }

    /**
     * @internal lock() with $terms. The process waits here, so it keeps its open sessions
     * alive, waiting in slices no longer than the next renewal.
     */
    public function lockWith(string $name, ?float $wait, Terms $terms): Lease
    {
        $deadline = $wait === null ? null : self::now() + $wait;
        while (true) {
            $next = Session::keepOpenSessionsAlive();
            $remaining = $deadline === null ? null : $deadline - self::now();
            $got = $this->acquireWith($name, self::waitChunk(self::minOf($remaining, $next)), $terms);
            if ($got instanceof Lease) {
                return $got;
            }
            $left = $deadline === null ? null : $deadline - self::now();
            if ($left !== null && $left <= 0) {
                throw new LockTimeoutException($name, (float) $wait);
            }
            $next = Session::keepOpenSessionsAlive();
            $delay = self::minOf(self::retryDelay($got->retryAfterMs), $left, $next === null ? null : max($next, 0.01));
            usleep((int) (1e6 * $delay));
        }
    }

    /** @internal the callback of withLock() around a lease just taken */
    public function withLease(string $name, Lease $lease, callable $fn): mixed
    {
        try {
            $value = $fn($lease);
        } catch (\Throwable $e) {
            if (!$lease->isLost()) {
                try {
                    $lease->release();
                } catch (OctoStoreException $re) {
                    $lease->noteReleaseError($re);
                    error_log('octostore: release after a failed block also failed: ' . get_class($re) . ': ' . $re->getMessage());
                }
            }
            $lease->close();
            throw $e;
        }
        if ($lease->isLost()) {
            $lease->close();
            throw new LockLostException($name, $lease->lostReason());
        }
        try {
            $lease->release();
        } catch (LeaseNotCurrentException $e) {
            throw new LockLostException($name, $e);
        }
        return $value;
    }

    /** @internal monotonic seconds */
    public static function now(): float
    {
        return hrtime(true) / 1e9;
    }

    /**
     * "<url>: <cause>", the cause in plain words ("connection refused") when libcurl's
     * message is vaguer: a failed connect is probed once with a plain socket for its error.
     */
    private static function transportMessage(string $url, string $message): string
    {
        if (stripos($message, "couldn't connect") !== false) {
            $parts = parse_url($url);
            $host = $parts['host'] ?? '127.0.0.1';
            $port = $parts['port'] ?? (($parts['scheme'] ?? 'http') === 'https' ? 443 : 80);
            $sock = @stream_socket_client("tcp://{$host}:{$port}", $errno, $errstr, 1.0);
            if ($sock === false && $errstr !== '') {
                return "{$url}: " . strtolower($errstr) . " ({$message})";
            }
            if ($sock !== false) {
                fclose($sock);
            }
        }
        return "{$url}: {$message}";
    }

    private static function checkName(string $name): string
    {
        if ($name === '') {
            throw new InvalidLockNameException('invalid_lock_name', 400, null, 'a lock name must not be empty');
        }
        return $name;
    }

    /** @return array{locks: LocksApi, sessions: SessionsApi} */
    private function api(string $url, float $timeout): array
    {
        $key = $url . ' ' . round($timeout, 3);
        if (!isset($this->apis[$key])) {
            if (count($this->apis) > 64) {
                array_shift($this->apis);
            }
            $config = (clone $this->config)->setHost($url);
            $http = new HttpClient(['timeout' => $timeout, 'connect_timeout' => min($timeout, $this->timeout)] + $this->guzzleOptions);
            $this->apis[$key] = ['locks' => new LocksApi($http, $config), 'sessions' => new SessionsApi($http, $config)];
        }
        return $this->apis[$key];
    }

    /**
     * Runs one generated API call on each base URL in turn until one answers (a transport
     * error or a 503 moves on to the next; the last error is thrown), turning what it
     * throws into the helpers' exceptions.
     *
     * @template T
     * @param callable(LocksApi|SessionsApi): T $fn
     * @param 'locks'|'sessions' $kind which generated API $fn gets
     * @return T
     */
    private function request(float $timeout, callable $fn, string $kind = 'locks'): mixed
    {
        $last = null;
        foreach ($this->baseUrls as $url) {
            try {
                return $this->call($url, fn () => $fn($this->api($url, $timeout)[$kind]));
            } catch (TransportException | UnavailableException $e) {
                $last = $e;
            }
        }
        throw $last;
    }

    /**
     * @template T
     * @param callable(): T $fn
     * @return T
     */
    private function call(string $url, callable $fn): mixed
    {
        try {
            $res = $fn();
        } catch (ApiException $e) {
            throw self::fromApiException($e, $url);
        } catch (GuzzleException $e) {
            throw new TransportException(self::transportMessage($url, $e->getMessage()), 0, $e);
        } catch (\InvalidArgumentException | \TypeError $e) {
            throw new ProtocolException('response does not match the API: ' . $e->getMessage(), 0, $e);
        }
        return $res;
    }

    private static function fromApiException(ApiException $e, string $url): \Throwable
    {
        $status = (int) $e->getCode();
        if ($status === 0) {
            return new TransportException(self::transportMessage($url, $e->getMessage()), 0, $e);
        }
        $doc = json_decode((string) $e->getResponseBody(), true);
        $doc = is_array($doc) ? $doc : [];
        $code = is_string($doc['code'] ?? null) ? $doc['code'] : ($status >= 500 ? 'internal' : 'error');
        $class = self::PROBLEMS[$code] ?? ($status >= 500 ? ServerErrorException::class : ProblemException::class);
        $retry = null;
        foreach ($e->getResponseHeaders() ?? [] as $header => $values) {
            if (strcasecmp((string) $header, 'Retry-After') === 0) {
                $value = is_array($values) ? ($values[0] ?? '') : $values;
                $retry = is_numeric($value) ? (float) $value : null;
            }
        }
        return new $class(
            $code,
            $status,
            is_string($doc['title'] ?? null) ? $doc['title'] : null,
            is_string($doc['detail'] ?? null) ? $doc['detail'] : null,
            is_string($doc['request_id'] ?? null) ? $doc['request_id'] : null,
            $retry,
            $e,
        );
    }

    private static function waitChunk(?float $remaining): int
    {
        if ($remaining === null) {
            return self::MAX_WAIT_SECONDS;
        }
        return max(0, min(self::MAX_WAIT_SECONDS, (int) floor($remaining)));
    }

    /** The smallest of the bounds given, or null when there is none. */
    private static function minOf(?float ...$bounds): ?float
    {
        $set = array_filter($bounds, static fn ($b) => $b !== null);
        return $set === [] ? null : (float) min($set);
    }

    private static function retryDelay(?int $retryAfterMs): float
    {
        if ($retryAfterMs === null) {
            return self::DEFAULT_RETRY_SECONDS;
        }
        return min(max($retryAfterMs / 1000.0, 0.05), 1.0);
    }
}
