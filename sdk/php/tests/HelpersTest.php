<?php

declare(strict_types=1);

namespace OctoStore\Tests;

use OctoStore\Client;
use OctoStore\Exception\InvalidLockNameException;
use OctoStore\Exception\LeaseExpiredException;
use OctoStore\Exception\LeaseNotCurrentException;
use OctoStore\Exception\LockHeldException;
use OctoStore\Exception\LockTimeoutException;
use OctoStore\Lease;
use OctoStore\Tests\Conformance\Server;
use PHPUnit\Framework\TestCase;

/**
 * The helper's own promises beyond the shared scenarios (withLock, keepAlive between
 * steps, handing a lease to another process), against a live octostore-lock.
 */
final class HelpersTest extends TestCase
{
    private Client $client;
    private Client $other;

    protected function setUp(): void
    {
        $server = Server::for([]);
        $issued = $server->adminPost('/admin/accounts', ['name' => 'helpers-' . bin2hex(random_bytes(6))]);
        $this->client = new Client($server->baseUrl, $issued['token']);
        $second = $server->adminPost("/admin/accounts/{$issued['account_id']}/tokens", null);
        $this->other = new Client($server->baseUrl, $second['token']);
    }

    public function testWithLockHoldsTheLockForTheCallbackAndReturnsItsValue(): void
    {
        $value = $this->client->withLock('report', function (Lease $lease): string {
            self::assertGreaterThanOrEqual(1, $lease->fencingToken);
            self::assertNull($this->other->tryLock('report'), 'a second holder got the lock');
            $held = $this->other->tryAcquire('report');
            self::assertInstanceOf(LockHeldException::class, $held);
            self::assertNotNull($held->holderId);
            self::assertTrue($lease->keepAlive());
            return 'done';
        }, 30);
        self::assertSame('done', $value);
        self::assertSame('free', $this->client->status('report')->status);
    }

    public function testWithLockKeepsTheUsersExceptionWhenTheReleaseFailsToo(): void
    {
        $stack = \GuzzleHttp\HandlerStack::create();
        $stack->push(static fn (callable $next) => static function ($request, array $options) use ($next) {
            if (str_ends_with($request->getUri()->getPath(), '/release')) {
                return \GuzzleHttp\Promise\Create::rejectionFor(new \GuzzleHttp\Exception\ConnectException('connection refused', $request));
            }
            return $next($request, $options);
        });
        $server = Server::for([]);
        $issued = $server->adminPost('/admin/accounts', ['name' => 'release-fails-' . bin2hex(random_bytes(6))]);
        $client = new Client($server->baseUrl, $issued['token'], guzzleOptions: ['handler' => $stack]);
        $seen = null;
        try {
            $client->withLock('report', function (Lease $lease) use (&$seen): void {
                $seen = $lease;
                throw new \DomainException('mine');
            });
            self::fail('the exception was swallowed');
        } catch (\DomainException $e) {
            self::assertSame('mine', $e->getMessage());
        }
        self::assertInstanceOf(\OctoStore\Exception\TransportException::class, $seen->releaseError());
    }

    public function testObserveReportsNobodyLeadingOnceWhenALockDelayEnds(): void
    {
        // The server's answers in turn: alice leads; her lease ended and a lock-delay
        // keeps the lock (held, no holder); the delay ends (free); bob leads.
        $alice = ['name' => 'leader', 'status' => 'held', 'revision' => 1, 'holder_id' => 'tok_a/alice',
            'fencing_token' => 5, 'expires_at' => '2026-02-12T01:00:00Z', 'metadata' => 'alice:8080'];
        $states = [
            $alice,
            ['name' => 'leader', 'status' => 'held', 'revision' => 2, 'holder_id' => null, 'max_holders' => 1,
                'holders' => [], 'available_at' => '2026-02-12T01:00:00Z'],
            ['name' => 'leader', 'status' => 'free', 'revision' => 3],
            ['revision' => 4, 'holder_id' => 'tok_b/bob', 'fencing_token' => 9, 'metadata' => 'bob:8080'] + $alice,
        ];
        $handler = static function () use (&$states) {
            return \GuzzleHttp\Promise\Create::promiseFor(new \GuzzleHttp\Psr7\Response(
                200,
                ['Content-Type' => 'application/json'],
                json_encode(array_shift($states), JSON_THROW_ON_ERROR),
            ));
        };
        $client = new Client('http://octostore.invalid', 'tok', guzzleOptions: ['handler' => \GuzzleHttp\HandlerStack::create($handler)]);
        $seen = [];
        foreach ($client->election('leader')->observe(10, 1) as $leader) {
            $seen[] = $leader?->value;
            if ($leader?->value === 'bob:8080') {
                break;
            }
        }
        self::assertSame(['alice:8080', null, 'bob:8080'], $seen);
        self::assertSame([], $states, 'every state was read');
    }

    public function testDefaultsOwnerAndEmptyName(): void
    {
        self::assertMatchesRegularExpression('/^.+-' . getmypid() . '-[0-9a-f]{8}$/', $this->client->owner);
        self::assertNotSame($this->client->owner, $this->other->owner);
        $lease = $this->client->tryLock('defaults');
        self::assertSame(15, $lease->ttl);
        $lease->release();
        self::assertSame(15, $this->client->election('e')->ttl);
        $this->expectException(InvalidLockNameException::class);
        $this->client->tryLock('');
    }

    public function testReleaseOnShutdownReleasesHeldLocksOnSigterm(): void
    {
        $server = Server::for([]);
        $token = $server->adminPost('/admin/accounts', ['name' => 'shutdown-' . bin2hex(random_bytes(6))])['token'];
        $script = 'require $argv[1] . "/autoload.php";'
            . '$c = (new OctoStore\Client($argv[2], $argv[3]))->releaseOnShutdown();'
            . '$c->lock("svc", 60, 5.0); echo "held\n"; fflush(STDOUT);'
            . 'for ($i = 0; $i < 300; $i++) { usleep(100000); } exit(3);';
        $proc = proc_open([PHP_BINARY, '-r', $script, dirname(__DIR__), $server->baseUrl, $token],
            [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
        try {
            self::assertSame("held\n", fgets($pipes[1]));
            $watcher = new Client($server->baseUrl, $token);
            self::assertSame('held', $watcher->status('svc')->status);
            posix_kill(proc_get_status($proc)['pid'], SIGTERM);
            $deadline = hrtime(true) / 1e9 + 10;
            while (($st = proc_get_status($proc))['running'] && hrtime(true) / 1e9 < $deadline) {
                usleep(20000);
            }
            self::assertFalse($st['running'], 'still running 10 s after SIGTERM');
            self::assertSame(128 + SIGTERM, $st['exitcode']);
            self::assertSame('free', $watcher->status('svc')->status);
        } finally {
            fclose($pipes[1]);
            $st = proc_get_status($proc);
            if ($st['running']) {
                posix_kill($st['pid'], SIGKILL);
            }
            proc_close($proc);
        }
    }

    public function testWithLockReleasesWhenTheCallbackThrows(): void
    {
        try {
            $this->client->withLock('report', fn () => throw new \DomainException('boom'));
            self::fail('the exception was swallowed');
        } catch (\DomainException $e) {
            self::assertSame('boom', $e->getMessage());
        }
        self::assertSame('free', $this->client->status('report')->status);
    }

    public function testLockTimesOutWhileAnotherHolds(): void
    {
        $held = $this->other->tryLock('report', 30);
        try {
            $this->client->withLock('report', fn () => self::fail('ran without the lock'), 30, 1.0);
            self::fail('no timeout');
        } catch (LockTimeoutException $e) {
            self::assertSame('timeout', $e->getErrorCode());
        }
        $held->release();
    }

    public function testKeepAliveRenewsOnceDueAndReportsLoss(): void
    {
        $lease = $this->client->lock('job', 2, 0.0);
        $first = $lease->expiresAt();
        $deadline = Client::now() + 10;
        while ($lease->expiresAt() <= $first && Client::now() < $deadline) {
            self::assertTrue($lease->keepAlive(), 'lost while renewing');
            usleep(50000);
        }
        self::assertGreaterThan($first, $lease->expiresAt(), 'keepAlive did not renew');
        $this->client->locks()->releaseLock('job', new \OctoStore\Generated\Model\ReleaseRequest(['lease_id' => $lease->leaseId]));
        self::assertTrue($lease->waitLost(10));
        self::assertInstanceOf(LeaseNotCurrentException::class, $lease->lostReason());
        self::assertFalse($lease->keepAlive());
    }

    public function testALeaseNotKeptAliveIsLostWhenItsTtlPasses(): void
    {
        $lease = $this->client->lock('job', 1, 0.0);
        $deadline = Client::now() + 5;
        while (!$lease->isLost() && Client::now() < $deadline) {
            usleep(50000);
        }
        self::assertInstanceOf(LeaseExpiredException::class, $lease->lostReason());
        self::assertFalse($lease->keepAlive());
    }

    public function testALeaseMovesToAnotherProcessAsAnArray(): void
    {
        $lease = $this->client->tryLock('job', 30);
        $copy = Lease::fromArray($this->client, json_decode(json_encode($lease->toArray()), true));
        self::assertSame([$lease->leaseId, $lease->fencingToken], [$copy->leaseId, $copy->fencingToken]);
        self::assertSame($lease->fencingToken, $copy->renew()->fencingToken);
        $copy->release();
        $this->expectException(LeaseNotCurrentException::class);
        $lease->release();
    }

    public function testProblemsCarryCodeStatusAndRequestId(): void
    {
        try {
            $this->client->status('bad name');
            self::fail('no error');
        } catch (InvalidLockNameException $e) {
            self::assertSame(['invalid_lock_name', 400], [$e->getErrorCode(), $e->status]);
            self::assertNotEmpty($e->requestId);
        }
    }
}
