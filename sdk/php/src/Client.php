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
use OctoStore\Exception\LockLostException;
use OctoStore\Exception\OctoStoreException;
use OctoStore\Exception\LockTimeoutException;
use OctoStore\Exception\NotFoundException;
use OctoStore\Exception\PayloadTooLargeException;
use OctoStore\Exception\ProblemException;
use OctoStore\Exception\ProtocolException;
use OctoStore\Exception\RateLimitedException;
use OctoStore\Exception\ServerErrorException;
use OctoStore\Exception\TransportException;
use OctoStore\Exception\UnauthorizedException;
use OctoStore\Exception\UnavailableException;
use OctoStore\Exception\UnsupportedMediaTypeException;
use OctoStore\Generated\Api\LocksApi;
use OctoStore\Generated\ApiException;
use OctoStore\Generated\Configuration;
use OctoStore\Generated\Model\AcquireRequest;
use OctoStore\Generated\Model\AcquireResult;
use OctoStore\Generated\Model\ReleaseRequest;
use OctoStore\Generated\Model\ReleaseResult;
use OctoStore\Generated\Model\RenewRequest;
use OctoStore\Generated\Model\RenewResult;

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
    /** @var array<string, LocksApi> per base URL and timeout */
    private array $apis = [];
    /** @var array<int, Lease> leases this client took and has not released (shutdown hook) */
    private array $held = [];
    /** @var array<int, Election> */
    private array $elections = [];

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
        return $this->api($this->baseUrls[0], $this->timeout);
    }

    /**
     * Takes the lock if it is free (one attempt) and returns the Lease, or null when
     * someone else holds it (tryAcquire() says who). Taking a lock this holder already
     * holds returns the same lease and fencing token.
     */
    public function tryLock(string $name, int $ttl = self::DEFAULT_TTL, ?string $metadata = null): ?Lease
    {
        $got = $this->tryAcquire($name, $ttl, $metadata);
        return $got instanceof Lease ? $got : null;
    }

    /**
     * One acquire attempt: the Lease, or a LockHeldException value (returned, not thrown)
     * naming the holder, when its lease ends and when trying again is worthwhile.
     */
    public function tryAcquire(string $name, int $ttl = self::DEFAULT_TTL, ?string $metadata = null): Lease|LockHeldException
    {
        return $this->acquire($name, $ttl, 0, $metadata);
    }

    /**
     * Waits in line for the lock, at most $wait seconds in all (null: for ever; 0: one
     * attempt), and returns the Lease. Its deadline counts from the grant (the answer),
     * however long the wait was.
     *
     * @throws LockTimeoutException when the wait ends first
     */
    public function lock(string $name, int $ttl = self::DEFAULT_TTL, ?float $wait = null, ?string $metadata = null): Lease
    {
        $deadline = $wait === null ? null : self::now() + $wait;
        while (true) {
            $remaining = $deadline === null ? null : $deadline - self::now();
            $got = $this->acquire($name, $ttl, self::waitChunk($remaining), $metadata);
            if ($got instanceof Lease) {
                return $got;
            }
            $left = $deadline === null ? null : $deadline - self::now();
            if ($left !== null && $left <= 0) {
                throw new LockTimeoutException($name, (float) $wait);
            }
            $delay = self::retryDelay($got->retryAfterMs);
            usleep((int) (1e6 * ($left === null ? $delay : min($delay, $left))));
        }
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
    public function withLock(string $name, callable $fn, int $ttl = self::DEFAULT_TTL, ?float $wait = null, ?string $metadata = null): mixed
    {
        $lease = $this->lock($name, $ttl, $wait, $metadata);
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
    }

    /** @internal used by Lease */
    public function forget(Lease $lease): void
    {
        unset($this->held[spl_object_id($lease)]);
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

    /** @internal monotonic seconds */
    public static function now(): float
    {
        return hrtime(true) / 1e9;
    }

    private function acquire(string $name, int $ttl, int $wait, ?string $metadata): Lease|LockHeldException
    {
        $name = self::checkName($name);
        $fields = ['ttl_seconds' => $ttl, 'owner' => $this->owner];
        if ($wait > 0) {
            $fields['wait_seconds'] = $wait;
        }
        if ($metadata !== null) {
            $fields['metadata'] = $metadata;
        }
        $timeout = $wait > 0 ? $wait + self::POLL_SLACK_SECONDS : $this->timeout;
        /** @var AcquireResult $res */
        $res = $this->request($timeout, fn (LocksApi $api) => $api->acquireLock($name, new AcquireRequest($fields)));
        if ($res->getStatus() === 'acquired') {
            // The deadline counts from the grant, i.e. the answer, not from when a blocking
            // request was sent.
            $lease = Lease::fromAcquire($this, $name, $ttl, $metadata, self::now(), $res);
            $this->held[spl_object_id($lease)] = $lease;
            return $lease;
        }
        return match ($res->getStatus()) {
            'held' => new LockHeldException(
                $name,
                $res->getHolderId(),
                $res->getExpiresAt() === null ? null : \DateTimeImmutable::createFromInterface($res->getExpiresAt()),
                $res->getRetryAfterMs(),
            ),
            default => throw new ProtocolException('unknown acquire status ' . var_export($res->getStatus(), true)),
        };
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

    private function api(string $url, float $timeout): LocksApi
    {
        $key = $url . ' ' . round($timeout, 3);
        if (!isset($this->apis[$key])) {
            if (count($this->apis) > 64) {
                array_shift($this->apis);
            }
            $config = (clone $this->config)->setHost($url);
            $http = new HttpClient(['timeout' => $timeout, 'connect_timeout' => min($timeout, $this->timeout)] + $this->guzzleOptions);
            $this->apis[$key] = new LocksApi($http, $config);
        }
        return $this->apis[$key];
    }

    /**
     * Runs one generated API call on each base URL in turn until one answers (a transport
     * error or a 503 moves on to the next; the last error is thrown), turning what it
     * throws into the helpers' exceptions.
     *
     * @template T
     * @param callable(LocksApi): T $fn
     * @return T
     */
    private function request(float $timeout, callable $fn): mixed
    {
        $last = null;
        foreach ($this->baseUrls as $url) {
            try {
                return $this->call($url, fn () => $fn($this->api($url, $timeout)));
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

    private static function retryDelay(?int $retryAfterMs): float
    {
        if ($retryAfterMs === null) {
            return self::DEFAULT_RETRY_SECONDS;
        }
        return min(max($retryAfterMs / 1000.0, 0.05), 1.0);
    }
}
