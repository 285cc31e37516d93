<?php

declare(strict_types=1);

namespace OctoStore\Tests\Conformance;

use OctoStore\Client;
use OctoStore\Election;
use OctoStore\Exception\InvalidLockNameException;
use OctoStore\Exception\InvalidRequestException;
use OctoStore\Exception\InvalidTtlException;
use OctoStore\Exception\LeaseNotCurrentException;
use OctoStore\Exception\LockHeldException;
use OctoStore\Exception\LockLimitExceededException;
use OctoStore\Exception\LockLostException;
use OctoStore\Exception\LockTimeoutException;
use OctoStore\Exception\MaxHoldersMismatchException;
use OctoStore\Exception\OctoStoreException;
use OctoStore\Exception\PayloadTooLargeException;
use OctoStore\Exception\SessionLostException;
use OctoStore\Exception\TransportException;
use OctoStore\Exception\UnauthorizedException;
use OctoStore\Leader;
use OctoStore\Lease;
use OctoStore\LockState;
use OctoStore\Session;

/**
 * Runs one scenario through the PHP helpers. The translation table of the suite's
 * operations to the helper is execute(); the rest is the harness.
 *
 * PHP's model: leases renew between steps. Before every step, and while the runner waits
 * (wait_until, await), it calls keepAlive() on every lease taken with auto_renew, as an
 * application calls it between steps of its work. Background steps run in a forked
 * child with fresh clients (PHP has no threads); a lease or leadership a child took comes
 * back through Lease::toArray()/fromArray(). Sessions are kept alive the same way
 * (keepAlive() between steps; the SDK's own waits keep them alive while a step blocks).
 */
final class Runner
{
    private const COMMON = ['op', 'comment', 'save', 'expect', 'expect_error', 'background'];
    private const FIELDS = [
        'try_lock' => ['actor', 'lock', 'ttl', 'metadata', 'auto_renew', 'session', 'lock_delay', 'max_holders'],
        'lock' => ['actor', 'lock', 'ttl', 'wait', 'metadata', 'auto_renew', 'session', 'lock_delay', 'max_holders'],
        'session_open' => ['actor', 'ttl'],
        'session_state' => ['session'],
        'session_close' => ['session'],
        'session_orphan' => ['session'],
        'prefix_index' => ['actor', 'prefix'],
        'watch_prefix' => ['actor', 'prefix', 'index', 'wait'],
        'renew' => ['lease', 'ttl'],
        'release' => ['lease'],
        'lease_state' => ['lease'],
        'wait_lost' => ['lease', 'session', 'timeout_ms'],
        'status' => ['actor', 'lock'],
        'wait_until' => ['actor', 'lock', 'until', 'timeout_ms'],
        'watch' => ['actor', 'lock', 'index', 'wait'],
        'list' => ['actor'],
        'campaign' => ['actor', 'election', 'value', 'ttl', 'wait'],
        'leader' => ['actor', 'election'],
        'observe' => ['actor', 'election', 'until_value', 'timeout_ms'],
        'resign' => ['campaign'],
        'await' => ['task', 'timeout_ms'],
        'raw' => ['actor', 'method', 'path', 'query', 'body', 'body_text', 'content_type'],
        'with_lock' => ['actor', 'lock', 'ttl', 'wait', 'body'],
        'close' => ['lease', 'timeout_ms'],
        'server_pause' => [],
        'server_resume' => [],
    ];

    /**
     * The class a user catches for each expect_error code: the SDK's most specific one, so
     * an error with the right code but a more general class fails the step.
     */
    private const ERROR_TYPES = [
        'invalid_lock_name' => InvalidLockNameException::class,
        'invalid_request' => InvalidRequestException::class,
        'invalid_ttl' => InvalidTtlException::class,
        'lease_not_current' => LeaseNotCurrentException::class,
        'lock_limit_exceeded' => LockLimitExceededException::class,
        'lock_lost' => LockLostException::class,
        'max_holders_mismatch' => MaxHoldersMismatchException::class,
        'payload_too_large' => PayloadTooLargeException::class,
        // An acquire through a session the server forgot; a call outside a session would
        // throw its SessionNotFoundException.
        'session_not_found' => SessionLostException::class,
        'timeout' => LockTimeoutException::class,
        'transport' => TransportException::class,
        'unauthorized' => UnauthorizedException::class,
        'user_error' => UserError::class,
    ];

    private Server $server;
    /** @var array<string, array{client: ?Client, token: ?string, owner: ?string, fields: array}> */
    private array $actors = [];
    /** @var array<string, string> account label => account id */
    private array $accounts = [];
    /** @var array<string, array{result: array, handle: mixed}> */
    private array $saved = [];
    /** @var array<string, array{pid: int, file: string, step: array}> */
    private array $tasks = [];
    /** @var list<Lease> every lease taken, released at the end */
    private array $leases = [];
    /** @var list<Lease> the ones the runner keeps alive between steps */
    private array $renewing = [];
    /** @var list<Session> every session opened, kept alive between steps and closed at the end */
    private array $sessions = [];
    private bool $inChild = false;
    private bool $dedicated;

    public function __construct(private readonly \stdClass $scenario)
    {
        $env = isset($scenario->server->env) ? get_object_vars($scenario->server->env) : [];
        $this->dedicated = ($scenario->server->dedicated ?? false) === true;
        $this->server = $this->dedicated ? Server::dedicated($env) : Server::for($env);
    }

    public function run(): void
    {
        try {
            foreach (get_object_vars($this->scenario->actors) as $label => $spec) {
                $this->actors[$label] = $this->makeActor($spec);
            }
            foreach ($this->scenario->steps as $i => $step) {
                try {
                    $this->runStep(get_object_vars($step));
                } catch (Failure $e) {
                    throw new Failure("{$this->scenario->name} step {$i} " . substr(json_encode($step), 0, 300) . ': ' . $e->getMessage(), 0, $e);
                }
            }
        } finally {
            $this->cleanup();
            if ($this->dedicated) {
                $this->server->stop();
            }
        }
    }

    // --- actors --------------------------------------------------------------------

    private function makeActor(\stdClass $spec): array
    {
        if (isset($spec->account)) {
            $label = $spec->account;
            $issued = isset($this->accounts[$label])
                ? $this->server->adminPost("/admin/accounts/{$this->accounts[$label]}/tokens", null)
                : $this->server->adminPost('/admin/accounts', ['name' => $label . '-' . bin2hex(random_bytes(6))]);
            $this->accounts[$label] ??= $issued['account_id'];
            return $this->actor($issued['token'], $issued['token_id'], $issued['account_id'], $spec->owner ?? null, $spec->urls ?? null);
        }
        if (isset($spec->same_token_as)) {
            $base = $this->actors[$spec->same_token_as] ?? throw new Failure("unknown actor {$spec->same_token_as}");
            return $this->actor($base['token'], $base['fields']['token_id'], $base['fields']['account_id'], $spec->owner ?? null, $spec->urls ?? null);
        }
        if (isset($spec->token)) {
            return ['client' => new Client($this->server->baseUrl, $spec->token), 'token' => $spec->token, 'owner' => null,
                'fields' => ['token_id' => null, 'account_id' => null, 'holder_id' => null]];
        }
        if (isset($spec->anonymous)) {
            return ['client' => null, 'token' => null, 'owner' => null,
                'fields' => ['token_id' => null, 'account_id' => null, 'holder_id' => null]];
        }
        throw new Failure('unknown actor form ' . json_encode($spec));
    }

    private function actor(string $token, string $tokenId, string $accountId, ?string $owner, ?string $urls): array
    {
        $base = match ($urls) {
            null => [$this->server->baseUrl],
            'dead_first' => [self::deadUrl(), $this->server->baseUrl],
            'dead_only' => [self::deadUrl()],
            default => throw new Failure("unknown urls {$urls}"),
        };
        $client = new Client($base, $token, $owner);
        return [
            'client' => $client,
            'urls' => $base,
            'token' => $token,
            'owner' => $client->owner,
            'fields' => ['token_id' => $tokenId, 'account_id' => $accountId, 'owner' => $client->owner,
                'holder_id' => "{$tokenId}/{$client->owner}"],
        ];
    }

    /** A base URL nobody listens on: a port bound on 127.0.0.1 and closed again. */
    private static function deadUrl(): string
    {
        $sock = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr);
        if ($sock === false) {
            throw new Failure("bind: {$errstr}");
        }
        $name = stream_socket_get_name($sock, false);
        fclose($sock);
        return 'http://' . $name;
    }

    // --- steps ---------------------------------------------------------------------

    private function runStep(array $raw): void
    {
        $op = $raw['op'];
        $allowed = self::FIELDS[$op] ?? throw new Failure("unknown op {$op}");
        $unknown = array_diff(array_keys($raw), self::COMMON, $allowed);
        if ($unknown !== []) {
            throw new Failure('unknown fields ' . implode(', ', $unknown));
        }
        $this->tick();
        $step = $this->resolve($raw);
        if (isset($step['background'])) {
            $this->startTask($step);
            return;
        }
        $outcome = $op === 'await' ? $this->await($step) : $this->capture(fn () => $this->execute($step));
        $this->check($step, $outcome);
    }

    /** @return array{0: 'ok'|'error', 1: mixed} */
    private function capture(callable $fn): array
    {
        try {
            return ['ok', $fn()];
        } catch (OctoStoreException | UserError $e) {
            return ['error', $e];
        }
    }

    private static function codeOf(\Throwable $e): string
    {
        return $e instanceof UserError ? 'user_error' : $e->getErrorCode();
    }

    /** The class the SDK threw; null for an outcome the runner made itself. */
    private static function typeOf(\Throwable $e): ?string
    {
        return $e instanceof StepError ? $e->type : get_class($e);
    }

    private function check(array $step, array $outcome): void
    {
        [$kind, $value] = $outcome;
        $want = $step['expect_error'] ?? null;
        $type = $want === null ? null
            : (self::ERROR_TYPES[$want->code] ?? throw new Failure("no error type for code {$want->code}: add it to Runner::ERROR_TYPES"));
        if ($kind === 'error') {
            if ($want === null) {
                throw new Failure('threw ' . get_class($value) . ': ' . $value->getMessage());
            }
            if (self::codeOf($value) !== $want->code) {
                throw new Failure('error code ' . self::codeOf($value) . ", want {$want->code} (" . get_class($value) . ": {$value->getMessage()})");
            }
            $actual = self::typeOf($value);
            if ($actual !== null && !is_a($actual, $type, true)) {
                throw new Failure("error type {$actual}, want {$type} (code {$want->code}: {$value->getMessage()})");
            }
            if (isset($want->message_matches) && !preg_match('/' . str_replace('/', '\\/', $want->message_matches) . '/', $value->getMessage())) {
                throw new Failure("error message '{$value->getMessage()}' does not match {$want->message_matches}");
            }
            $status = property_exists($value, 'status') ? $value->status : null;
            if (isset($want->status) && $status !== $want->status) {
                throw new Failure('error status ' . var_export($status, true) . ", want {$want->status}");
            }
            return;
        }
        if ($want !== null) {
            throw new Failure('succeeded with ' . self::describe($value['result']) . ", want error {$want->code}");
        }
        foreach (get_object_vars($step['expect'] ?? new \stdClass()) as $field => $matcher) {
            $actual = $value['result'][$field] ?? null;
            if (!Matcher::holds($matcher, $actual)) {
                throw new Failure("{$field}: " . self::describe($actual) . ' does not match ' . json_encode($matcher) . '; result ' . self::describe($value['result']));
            }
        }
        if (isset($step['save'])) {
            $this->saved[$step['save']] = $value;
        }
    }

    /** The suite's operations, each through the helper (raw: plain Guzzle). */
    private function execute(array $s): array
    {
        switch ($s['op']) {
            case 'try_lock': // tryAcquire() on the client, the session, or a semaphore of either
                $lease = $this->acquire($s, null);
                if ($lease instanceof LockHeldException) {
                    return ['result' => ['acquired' => false, 'holder_id' => $lease->holderId, 'expires_at' => $lease->expiresAt,
                        'retry_after_ms' => $lease->retryAfterMs, 'available_at' => $lease->availableAt], 'handle' => null];
                }
                $this->track($lease, $s['auto_renew'] ?? true);
                return ['result' => $this->acquired($lease, $s), 'handle' => $lease];
            case 'lock':
                $lease = $this->acquire($s, (float) $s['wait']);
                $this->track($lease, $s['auto_renew'] ?? true);
                return ['result' => $this->acquired($lease, $s), 'handle' => $lease];
            case 'session_open': // Client::session(), kept alive between steps
                $session = $this->client($s)->session($s['ttl']);
                $this->sessions[] = $session;
                return ['result' => ['session_id' => $session->id, 'expires_at' => $session->expiresAt()], 'handle' => $session];
            case 'session_state':
                $session = $this->session($s);
                return ['result' => ['lost' => $session->isLost(), 'session_id' => $session->id], 'handle' => null];
            case 'session_close':
                if (!$this->session($s)->close()) {
                    throw new Failure('Session::close() did not delete the session');
                }
                return ['result' => [], 'handle' => null];
            case 'session_orphan':
                $this->session($s)->orphan();
                return ['result' => [], 'handle' => null];
            case 'prefix_index':
                return ['result' => ['index' => $this->client($s)->prefixIndex($s['prefix'])], 'handle' => null];
            case 'watch_prefix': // watchPrefix() until its first answer, or the wait ends
                $index = (int) $s['index'];
                foreach ($this->client($s)->watchPrefix($s['prefix'], $index, (float) $s['wait']) as $answer) {
                    $changes = array_map(fn (LockState $c) => "{$c->name}:{$c->status}", $answer->changes);
                    return ['result' => ['index' => $answer->index, 'changes' => $changes, 'count' => count($changes),
                        'complete' => $answer->complete], 'handle' => null];
                }
                return ['result' => ['index' => $index, 'changes' => [], 'count' => 0, 'complete' => true], 'handle' => null];
            case 'renew':
                $lease = $this->lease($s)->renew($s['ttl'] ?? null);
                return ['result' => ['lease_id' => $lease->leaseId, 'fencing_token' => $lease->fencingToken,
                    'expires_at' => $lease->expiresAt(), 'renew_after_ms' => $lease->renewAfterMs()], 'handle' => null];
            case 'release':
                return ['result' => $this->lease($s)->release(), 'handle' => null];
            case 'lease_state':
                $lease = $this->lease($s);
                return ['result' => ['lost' => $lease->isLost(), 'lease_id' => $lease->leaseId,
                    'fencing_token' => $lease->fencingToken, 'expires_at' => $lease->expiresAt()], 'handle' => null];
            case 'wait_lost':
                // waitLost() runs in this process (renewing as it waits): its answer only
                // counts if it came by the step's deadline.
                $start = Client::now();
                $lost = (isset($s['session']) ? $this->session($s) : $this->lease($s))->waitLost($s['timeout_ms'] / 1000);
                $took = Client::now() - $start;
                if (!$lost || $took > $s['timeout_ms'] / 1000 + 0.25) {
                    throw new StepError('timeout', null, sprintf('%s not lost in time (%s after %.2f s)', isset($s['session']) ? 'session' : 'lease', $lost ? 'lost' : 'not lost', $took));
                }
                return ['result' => ['lost' => true], 'handle' => null];
            case 'status':
                return ['result' => self::state($this->client($s)->status($s['lock'])), 'handle' => null];
            case 'wait_until':
                return $this->waitUntil($s);
            case 'watch':
                $state = $this->client($s)->watch($s['lock'], (int) $s['index'], $s['wait']);
                return ['result' => self::state($state), 'handle' => null];
            case 'list':
                $names = array_map(fn (LockState $l) => $l->name, $this->client($s)->list());
                return ['result' => ['names' => $names, 'count' => count($names)], 'handle' => null];
            case 'campaign':
                $election = $this->client($s)->election($s['election'], $s['ttl']);
                $lease = $election->campaign($s['value'], (float) $s['wait']);
                $this->track($lease, true);
                return ['result' => ['lease_id' => $lease->leaseId, 'fencing_token' => $lease->fencingToken,
                    'expires_at' => $lease->expiresAt(), 'value' => $lease->metadata], 'handle' => $election];
            case 'leader':
                return ['result' => self::leader($this->client($s)->election($s['election'])->leader()), 'handle' => null];
            case 'observe':
                return $this->observe($s);
            case 'resign':
                $saved = $this->saved[$s['campaign']] ?? throw new Failure("unknown campaign {$s['campaign']}");
                $saved['handle']->resign();
                return ['result' => [], 'handle' => null];
            case 'raw':
                return ['result' => $this->raw($s), 'handle' => null];
            case 'with_lock':
                return $this->withLock($s);
            case 'close':
                // PHP's end of scope for a lease is close(); it runs in this process, so
                // the bound is checked on the clock around it.
                $start = Client::now();
                $this->lease($s)->close();
                if (Client::now() - $start > $s['timeout_ms'] / 1000) {
                    throw new StepError('timeout', null, "close did not return within {$s['timeout_ms']} ms");
                }
                return ['result' => [], 'handle' => null];
            case 'server_pause':
                $this->server->pause();
                return ['result' => [], 'handle' => null];
            case 'server_resume':
                $this->server->resume();
                return ['result' => [], 'handle' => null];
        }
        throw new Failure("unknown op {$s['op']}");
    }

    /**
     * A try_lock ($wait null) or lock step through the actor's client, the saved session,
     * or a semaphore of either (max_holders); $ttl does not apply through a session.
     */
    private function acquire(array $s, ?float $wait): Lease|LockHeldException
    {
        $metadata = $s['metadata'] ?? null;
        $delay = $s['lock_delay'] ?? null;
        $session = isset($s['session']) ? $this->session($s) : null;
        if (isset($s['max_holders'])) {
            $sem = ($session ?? $this->client($s))->semaphore($s['lock'], $s['max_holders']);
            return $wait === null ? $sem->tryAcquire($s['ttl'], $metadata, $delay) : $sem->lock($s['ttl'], $wait, $metadata, $delay);
        }
        if ($session !== null) {
            return $wait === null ? $session->tryAcquire($s['lock'], $metadata, $delay) : $session->lock($s['lock'], $wait, $metadata, $delay);
        }
        $client = $this->client($s);
        return $wait === null ? $client->tryAcquire($s['lock'], $s['ttl'], $metadata, $delay)
            : $client->lock($s['lock'], $s['ttl'], $wait, $metadata, $delay);
    }

    private function acquired(Lease $l, array $s): array
    {
        $a = $this->actorOf($s);
        return ['acquired' => true, 'lease_id' => $l->leaseId, 'fencing_token' => $l->fencingToken,
            'expires_at' => $l->expiresAt(), 'renew_after_ms' => $l->renewAfterMs(),
            'holder_id' => "{$a['fields']['token_id']}/{$a['owner']}"];
    }

    /** with_lock: the helper's callback form around the body the step names. */
    private function withLock(array $s): array
    {
        $held = null;
        $this->client($s)->withLock($s['lock'], function (Lease $lease) use ($s, &$held): void {
            $held = $lease;
            switch ($s['body']) {
                case 'return':
                    return;
                case 'raise':
                    throw new UserError('the callback failed');
                case 'release_behind_then_raise':
                    $this->releaseBehind($s, $lease);
                    throw new UserError('the callback failed after its lease was released behind its back');
                case 'release_behind_then_wait_lost':
                    $this->releaseBehind($s, $lease);
                    if (!$lease->waitLost(10)) {
                        throw new Failure('lease not reported lost within 10 s');
                    }
                    return;
            }
            throw new Failure("unknown body {$s['body']}");
        }, $s['ttl'], (float) ($s['wait'] ?? 0));
        return ['result' => ['ran' => true, 'lease_id' => $held->leaseId, 'fencing_token' => $held->fencingToken], 'handle' => $held];
    }

    private function releaseBehind(array $s, Lease $lease): void
    {
        $out = $this->raw(['actor' => $s['actor'], 'method' => 'POST', 'path' => '/locks/' . rawurlencode($s['lock']) . '/release',
            'body' => ['lease_id' => $lease->leaseId]]);
        if ($out['http_status'] !== 200) {
            throw new Failure('release behind the helper\'s back: ' . self::describe($out));
        }
    }

    private static function state(LockState $s): array
    {
        return ['name' => $s->name, 'status' => $s->status, 'revision' => $s->revision, 'holder_id' => $s->holderId,
            'fencing_token' => $s->fencingToken, 'expires_at' => $s->expiresAt, 'metadata' => $s->metadata,
            'max_holders' => $s->maxHolders, 'holder_count' => $s->holderCount(), 'available_at' => $s->availableAt];
    }

    private static function leader(?Leader $l): array
    {
        if ($l === null) {
            return ['elected' => false, 'value' => null, 'holder_id' => null, 'fencing_token' => null, 'revision' => null];
        }
        return ['elected' => true, 'value' => $l->value, 'holder_id' => $l->holderId, 'fencing_token' => $l->fencingToken,
            'revision' => $l->revision];
    }

    private function waitUntil(array $s): array
    {
        $client = $this->client($s);
        $deadline = Client::now() + $s['timeout_ms'] / 1000;
        while (true) {
            $last = self::state($client->status($s['lock']));
            $ok = true;
            foreach (get_object_vars($s['until']) as $field => $matcher) {
                $ok = $ok && Matcher::holds($matcher, $last[$field] ?? null);
            }
            if ($ok) {
                return ['result' => $last, 'handle' => null];
            }
            if (Client::now() > $deadline) {
                throw new Failure('wait_until: deadline passed; last status ' . self::describe($last));
            }
            usleep(100000);
            $this->tick();
        }
    }

    private function observe(array $s): array
    {
        $want = $s['until_value'];
        $election = $this->client($s)->election($s['election']);
        foreach ($election->observe($s['timeout_ms'] / 1000) as $leader) {
            if ($want === null ? $leader === null : ($leader !== null && $leader->value === $want)) {
                return ['result' => self::leader($leader), 'handle' => null];
            }
        }
        throw new StepError('timeout', null, 'observe: no leader with value ' . var_export($want, true) . ' in time');
    }

    private function raw(array $s): array
    {
        $http = new \GuzzleHttp\Client(['http_errors' => false, 'timeout' => 30]);
        $options = ['headers' => []];
        $token = isset($s['actor']) ? $this->actorOf($s)['token'] : null;
        if ($token !== null) {
            $options['headers']['Authorization'] = "Bearer {$token}";
        }
        if (isset($s['query'])) {
            $options['query'] = get_object_vars($s['query']);
        }
        if (array_key_exists('body', $s) || isset($s['body_text'])) {
            $options['body'] = array_key_exists('body', $s) ? json_encode($s['body'], JSON_UNESCAPED_SLASHES) : $s['body_text'];
            $options['headers']['Content-Type'] = $s['content_type'] ?? 'application/json';
        }
        $res = $http->request($s['method'], $this->server->baseUrl . $s['path'], $options);
        $out = [
            'http_status' => $res->getStatusCode(),
            'content_type' => $res->hasHeader('Content-Type') ? trim(explode(';', $res->getHeaderLine('Content-Type'))[0]) : null,
            'www_authenticate' => $res->hasHeader('WWW-Authenticate') ? $res->getHeaderLine('WWW-Authenticate') : null,
            'x_request_id' => $res->hasHeader('X-Request-Id') ? $res->getHeaderLine('X-Request-Id') : null,
        ];
        $doc = json_decode((string) $res->getBody());
        return $doc instanceof \stdClass ? get_object_vars($doc) + $out : $out;
    }

    // --- background steps: a forked child each ----------------------------------------

    private function startTask(array $step): void
    {
        $file = tempnam(sys_get_temp_dir(), 'octostore-task-');
        $pid = pcntl_fork();
        if ($pid === -1) {
            throw new Failure('fork failed');
        }
        if ($pid === 0) {
            $this->inChild = true;
            try {
                $out = $this->execute($step);
                $handle = $out['handle'];
                $ship = ['ok', $out['result'], match (true) {
                    $handle instanceof Lease => ['lease', $handle->toArray()],
                    $handle instanceof Election => ['election', $handle->name, $handle->ttl, $handle->lease()?->toArray()],
                    default => null,
                }];
            } catch (OctoStoreException $e) {
                $ship = ['error', $e->getErrorCode(), property_exists($e, 'status') ? $e->status : null, $e->getMessage(), self::typeOf($e)];
            } catch (\Throwable $e) {
                $ship = ['fatal', get_class($e) . ': ' . $e->getMessage()];
            }
            file_put_contents($file, serialize($ship));
            // Leave without the parent's shutdown functions and destructors (PHPUnit's, the
            // server harness's): they belong to the parent.
            posix_kill(posix_getpid(), SIGKILL);
        }
        $this->tasks[$step['background']] = ['pid' => $pid, 'file' => $file, 'step' => $step];
    }

    private function await(array $s): array
    {
        $task = $this->tasks[$s['task']] ?? throw new Failure("unknown task {$s['task']}");
        $deadline = Client::now() + $s['timeout_ms'] / 1000;
        while (pcntl_waitpid($task['pid'], $status, WNOHANG) === 0) {
            if (Client::now() > $deadline) {
                throw new Failure("task {$s['task']} still running after {$s['timeout_ms']} ms");
            }
            $this->tick();
            usleep(20000);
        }
        unset($this->tasks[$s['task']]);
        $ship = @unserialize((string) file_get_contents($task['file']));
        unlink($task['file']);
        if (!is_array($ship)) {
            throw new Failure("task {$s['task']} died without a result");
        }
        return match ($ship[0]) {
            'ok' => ['ok', ['result' => $ship[1], 'handle' => $this->adopt($task['step'], $ship[2])]],
            'error' => ['error', new StepError($ship[1], $ship[2], $ship[3], $ship[4])],
            default => throw new Failure("task {$s['task']}: {$ship[1]}"),
        };
    }

    /** Turns what a child shipped back into a handle of this process. */
    private function adopt(array $step, ?array $handle): mixed
    {
        if ($handle === null) {
            return null;
        }
        $client = $this->actorOf($step)['client'];
        if ($handle[0] === 'lease') {
            $lease = Lease::fromArray($client, $handle[1]);
            $this->track($lease, $step['auto_renew'] ?? true);
            return $lease;
        }
        $lease = $handle[3] === null ? null : Lease::fromArray($client, $handle[3]);
        if ($lease !== null) {
            $this->track($lease, true);
        }
        return new Election($client, $handle[1], $handle[2], $lease);
    }

    // --- references ------------------------------------------------------------------

    private const REF = '/\$\{([a-z][a-z0-9_]*)\.([a-z_]+)\}/';

    private function resolve(mixed $v): mixed
    {
        if (is_array($v)) {
            return array_map(fn ($x) => $this->resolve($x), $v);
        }
        if ($v instanceof \stdClass) {
            $out = new \stdClass();
            foreach (get_object_vars($v) as $k => $x) {
                $out->{$k} = $this->resolve($x);
            }
            return $out;
        }
        if (!is_string($v)) {
            return $v;
        }
        if (preg_match('/^' . substr(self::REF, 1, -1) . '$/', $v, $m)) {
            return $this->lookup($m[1], $m[2]);
        }
        return preg_replace_callback(self::REF, function (array $m): string {
            $x = $this->lookup($m[1], $m[2]);
            return $x instanceof \DateTimeInterface ? $x->format(\DateTimeInterface::RFC3339_EXTENDED) : (string) $x;
        }, $v);
    }

    private function lookup(string $name, string $field): mixed
    {
        $source = match (true) {
            isset($this->saved[$name]) => $this->saved[$name]['result'],
            isset($this->actors[$name]) => $this->actors[$name]['fields'],
            default => throw new Failure("unknown reference \${{$name}.{$field}}"),
        };
        if (!array_key_exists($field, $source)) {
            throw new Failure("unknown reference \${{$name}.{$field}}");
        }
        return $source[$field];
    }

    // --- handles and cleanup ------------------------------------------------------------

    private function actorOf(array $s): array
    {
        return $this->actors[$s['actor']] ?? throw new Failure("unknown actor {$s['actor']}");
    }

    private function client(array $s): Client
    {
        $a = $this->actorOf($s);
        if ($a['client'] === null) {
            throw new Failure("actor {$s['actor']} has no client");
        }
        if ($this->inChild) {
            // A forked child must not share the parent's open connections.
            return new Client($a['urls'] ?? $this->server->baseUrl, $a['token'], $a['owner']);
        }
        return $a['client'];
    }

    private function lease(array $s): Lease
    {
        $h = $this->saved[$s['lease']]['handle'] ?? null;
        if (!$h instanceof Lease) {
            throw new Failure("{$s['lease']} is not a saved lease");
        }
        return $h;
    }

    private function session(array $s): Session
    {
        $h = $this->saved[$s['session']]['handle'] ?? null;
        if (!$h instanceof Session) {
            throw new Failure("{$s['session']} is not a saved session");
        }
        return $h;
    }

    private function track(Lease $lease, bool $autoRenew): void
    {
        $this->leases[] = $lease;
        if ($autoRenew) {
            $this->renewing[] = $lease;
        }
    }

    /** Renewal between steps: what an application's loop does with keepAlive(). */
    private function tick(): void
    {
        foreach ($this->sessions as $session) {
            $session->keepAlive();
        }
        foreach ($this->renewing as $lease) {
            $lease->keepAlive();
        }
    }

    private function cleanup(): void
    {
        foreach ($this->tasks as $task) {
            posix_kill($task['pid'], SIGKILL);
            pcntl_waitpid($task['pid'], $status);
            @unlink($task['file']);
        }
        $this->tasks = [];
        foreach ($this->leases as $lease) {
            $lease->close();
        }
        foreach ($this->sessions as $session) {
            $session->close();
        }
    }

    private static function describe(mixed $v): string
    {
        $plain = static function (mixed $x) use (&$plain): mixed {
            if ($x instanceof \DateTimeInterface) {
                return $x->format(\DateTimeInterface::RFC3339_EXTENDED);
            }
            return is_array($x) ? array_map($plain, $x) : $x;
        };
        return (string) json_encode($plain($v), JSON_UNESCAPED_SLASHES);
    }
}
