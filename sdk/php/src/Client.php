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
 * An OctoStore client for one token (one holder).
 *
 * $owner names this process among others sharing the token (a host or pod name): each
 * owner is a distinct holder. $timeout bounds ordinary requests in seconds; long-polls
 * (blocking lock, watch) get their wait plus a margin.
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
    ];

    private readonly LocksApi $locks;
    private readonly LocksApi $pollLocks;

    /**
     * @param array<string, mixed> $guzzleOptions extra options for the Guzzle clients (proxy, TLS, handler)
     */
    public function __construct(
        string $baseUrl,
        string $token,
        public readonly ?string $owner = null,
        float $timeout = 10.0,
        array $guzzleOptions = [],
    ) {
        $config = (new Configuration())->setHost(rtrim($baseUrl, '/'))->setAccessToken($token);
        $this->locks = new LocksApi(new HttpClient(['timeout' => $timeout] + $guzzleOptions), $config);
        $poll = ['timeout' => self::MAX_WAIT_SECONDS + self::POLL_SLACK_SECONDS, 'connect_timeout' => $timeout];
        $this->pollLocks = new LocksApi(new HttpClient($poll + $guzzleOptions), $config);
    }

    /** The generated locks API, for calls the helpers do not cover. */
    public function locks(): LocksApi
    {
        return $this->locks;
    }

    /**
     * Takes the lock if it is free (one attempt) and returns the Lease. Taking a lock this
     * holder already holds returns the same lease and fencing token.
     *
     * @throws LockHeldException when someone else holds it
     */
    public function tryLock(string $name, int $ttl = 30, ?string $metadata = null): Lease
    {
        $got = $this->acquire($name, $ttl, 0, $metadata);
        if ($got instanceof LockHeldException) {
            throw $got;
        }
        return $got;
    }

    /**
     * Waits in line for the lock, at most $wait seconds in all (null: for ever; 0: one
     * attempt), and returns the Lease.
     *
     * @throws LockTimeoutException when the wait ends first
     */
    public function lock(string $name, int $ttl = 30, ?float $wait = null, ?string $metadata = null): Lease
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
            // Held before the wait was over: a server without blocking acquire, or a wait
            // under a second. Back off as the server suggests and ask again.
            $delay = self::retryDelay($got->retryAfterMs);
            usleep((int) (1e6 * ($left === null ? $delay : min($delay, $left))));
        }
    }

    /**
     * Runs $fn($lease) while holding the lock and releases it afterwards, whatever happens;
     * returns what $fn returns. Waits for the lock as lock() does.
     *
     * PHP has no background thread to renew the lease: call $lease->keepAlive() between
     * steps of long work (it renews when the server's renew_after_ms has passed, and returns
     * false once the lease is lost), and send $lease->fencingToken with every write.
     */
    public function withLock(string $name, callable $fn, int $ttl = 30, ?float $wait = null, ?string $metadata = null): mixed
    {
        $lease = $this->lock($name, $ttl, $wait, $metadata);
        try {
            return $fn($lease);
        } finally {
            $lease->releaseQuietly();
        }
    }

    /** The lock's current state. */
    public function status(string $name): LockState
    {
        return LockState::fromModel($this->call(fn () => $this->locks->getLock($name)));
    }

    /**
     * Waits (at most $wait seconds, up to 60) until the lock's revision exceeds $index and
     * returns the state then; after the wait, the unchanged state. Pass the last revision
     * you saw and no change is ever missed.
     */
    public function watch(string $name, int $index, int $wait = 30): LockState
    {
        return LockState::fromModel($this->call(fn () => $this->pollLocks->getLock($name, $index, $wait)));
    }

    /**
     * The account's active locks, by name.
     *
     * @return list<LockState>
     */
    public function list(): array
    {
        $res = $this->call(fn () => $this->locks->listLocks());
        return array_map(fn ($s) => LockState::fromModel($s), $res->getLocks());
    }

    /** An Election on the lock $name; the leader holds it with a $ttl-second lease. */
    public function election(string $name, int $ttl = 15): Election
    {
        return new Election($this, $name, $ttl);
    }

    /** @internal used by Lease */
    public function renewLease(string $name, string $leaseId, int $ttl): RenewResult
    {
        $body = new RenewRequest(['lease_id' => $leaseId, 'ttl_seconds' => $ttl]);
        return $this->call(fn () => $this->locks->renewLock($name, $body));
    }

    /** @internal used by Lease */
    public function releaseLease(string $name, string $leaseId): ReleaseResult
    {
        $body = new ReleaseRequest(['lease_id' => $leaseId]);
        return $this->call(fn () => $this->locks->releaseLock($name, $body));
    }

    /** @internal monotonic seconds */
    public static function now(): float
    {
        return hrtime(true) / 1e9;
    }

    private function acquire(string $name, int $ttl, int $wait, ?string $metadata): Lease|LockHeldException
    {
        $fields = ['ttl_seconds' => $ttl];
        if ($this->owner !== null) {
            $fields['owner'] = $this->owner;
        }
        if ($wait > 0) {
            $fields['wait_seconds'] = $wait;
        }
        if ($metadata !== null) {
            $fields['metadata'] = $metadata;
        }
        $sent = self::now();
        $api = $wait > 0 ? $this->pollLocks : $this->locks;
        /** @var AcquireResult $res */
        $res = $this->call(fn () => $api->acquireLock($name, new AcquireRequest($fields)));
        return match ($res->getStatus()) {
            'acquired' => Lease::fromAcquire($this, $name, $ttl, $metadata, $sent, $res),
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
     * Runs one generated API call and turns what it throws into the helpers' exceptions.
     *
     * @template T
     * @param callable(): T $fn
     * @return T
     */
    private function call(callable $fn): mixed
    {
        try {
            $res = $fn();
        } catch (ApiException $e) {
            throw self::fromApiException($e);
        } catch (GuzzleException $e) {
            throw new TransportException($e->getMessage(), 0, $e);
        } catch (\InvalidArgumentException | \TypeError $e) {
            throw new ProtocolException('response does not match the API: ' . $e->getMessage(), 0, $e);
        }
        return $res;
    }

    private static function fromApiException(ApiException $e): \Throwable
    {
        $status = (int) $e->getCode();
        if ($status === 0) {
            return new TransportException($e->getMessage(), 0, $e);
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
