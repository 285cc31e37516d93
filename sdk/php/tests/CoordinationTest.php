<?php

declare(strict_types=1);

namespace OctoStore\Tests;

use GuzzleHttp\Exception\ConnectException;
use GuzzleHttp\HandlerStack;
use GuzzleHttp\Promise\Create;
use GuzzleHttp\Psr7\Response;
use OctoStore\Client;
use OctoStore\Exception\LockHeldException;
use OctoStore\Exception\LockTimeoutException;
use OctoStore\Exception\MaxHoldersMismatchException;
use OctoStore\Exception\SessionClosedException;
use OctoStore\Exception\SessionExpiredException;
use OctoStore\Exception\SessionLostException;
use OctoStore\Exception\SessionNotFoundException;
use OctoStore\Exception\TransportException;
use OctoStore\Generated\ApiException;
use OctoStore\Generated\Api\SessionsApi;
use OctoStore\Generated\Configuration;
use OctoStore\Lease;
use OctoStore\PrefixChanges;
use OctoStore\Session;
use OctoStore\Tests\Conformance\Server;
use PHPUnit\Framework\TestCase;

/**
 * Sessions, semaphores, lock-delay and prefix watches: the helpers' promises beyond the
 * shared scenarios, faults included, against a live octostore-lock.
 */
final class CoordinationTest extends TestCase
{
    private Server $server;
    private string $token;
    private Client $client;
    private Client $other;
    private SessionsApi $sessions;

    protected function setUp(): void
    {
        $this->server = Server::for([]);
        $issued = $this->server->adminPost('/admin/accounts', ['name' => 'coord-' . bin2hex(random_bytes(6))]);
        $this->token = $issued['token'];
        $this->client = new Client($this->server->baseUrl, $this->token);
        $second = $this->server->adminPost("/admin/accounts/{$issued['account_id']}/tokens", null);
        $this->other = new Client($this->server->baseUrl, $second['token']);
        $this->sessions = new SessionsApi(new \GuzzleHttp\Client(['timeout' => 10]),
            (new Configuration())->setAccessToken($this->token)->setHost($this->server->baseUrl));
    }

    protected function tearDown(): void
    {
        $this->client->shutdown();
        $this->other->shutdown();
    }

    public function testASessionDeletedBehindItsBackIsLostAndSoAreItsLeases(): void
    {
        $session = $this->client->session(1);
        $lease = $session->lock('job', 0.0);
        $this->sessions->deleteSession($session->id);

        self::assertTrue($session->waitLost(10), 'session not reported lost');
        self::assertInstanceOf(SessionNotFoundException::class, $session->lostReason());
        self::assertFalse($session->keepAlive());
        self::assertFalse($session->isClosed());
        self::assertTrue($lease->isLost(), 'its lease not reported lost');
        self::assertInstanceOf(SessionLostException::class, $lease->lostReason());
        self::assertFalse($lease->keepAlive());
        try {
            $session->tryLock('job');
            self::fail('an acquire through a lost session went through');
        } catch (SessionLostException $e) {
            self::assertSame(['session_not_found', 404], [$e->getErrorCode(), $e->status]);
        }
        self::assertFalse($session->close(), 'close of a lost session reports a delete');
        $lease->close();
    }

    public function testASessionWhoseRenewalsKeepFailingEndsAtItsLocalDeadline(): void
    {
        $stack = HandlerStack::create();
        $stack->push(static fn (callable $next) => static function ($request, array $options) use ($next) {
            if (str_ends_with($request->getUri()->getPath(), '/renew')) {
                return Create::rejectionFor(new ConnectException('connection refused', $request));
            }
            return $next($request, $options);
        });
        $client = new Client($this->server->baseUrl, $this->token, guzzleOptions: ['handler' => $stack]);
        $session = $client->session(1);
        $lease = $session->tryLock('job');
        $started = Client::now();
        self::assertTrue($lease->waitLost(10), 'lease not reported lost');
        self::assertLessThan(2.0, Client::now() - $started, 'the loss came after the session would have expired');
        self::assertInstanceOf(SessionExpiredException::class, $session->lostReason());
        self::assertInstanceOf(TransportException::class, $session->lostReason()->getPrevious(), 'the last renewal failure is the cause');
        self::assertInstanceOf(SessionLostException::class, $lease->lostReason());
    }

    public function testASessionNotKeptAliveExpiresAndItsLockWithIt(): void
    {
        $session = $this->client->session(1);
        $session->tryLock('job');
        $this->waitFor(10, fn () => $this->other->status('job')->status === 'free');
        self::assertTrue($session->isLost());
        self::assertInstanceOf(SessionExpiredException::class, $session->lostReason());
    }

    public function testAnotherClientsBlockingLockKeepsTheProcesssSessionsAlive(): void
    {
        $session = $this->client->session(1);
        $lease = $session->tryLock('job', lockDelay: 30);
        $first = $session->expiresAt();
        try {
            $this->other->lock('job', 30, 2.5);
            self::fail('got a lock held through a live session');
        } catch (LockTimeoutException) {
        }
        self::assertTrue($lease->keepAlive());
        self::assertGreaterThan($first, $session->expiresAt(), 'session not renewed while the other client waited');
        self::assertTrue($session->close());
        self::assertTrue($session->isClosed());
        self::assertFalse($session->isLost(), 'closing is not a loss');
        self::assertInstanceOf(SessionClosedException::class, $lease->lostReason());
        self::assertSame('free', $this->other->status('job')->status, 'a closed session starts no lock-delay');
        $this->expectException(SessionClosedException::class);
        $session->tryLock('job');
    }

    public function testWithSessionClosesAndReturnsTheCallbacksValue(): void
    {
        $id = null;
        $value = $this->client->withSession(function (Session $s) use (&$id): string {
            $id = $s->id;
            self::assertNotNull($s->tryLock('job'));
            self::assertNull($this->other->tryLock('job'));
            return 'done';
        }, 5);
        self::assertSame('done', $value);
        self::assertSame('free', $this->other->status('job')->status);
        $this->assertSessionGone($id);
    }

    public function testWithSessionThrowsSessionLostWhenTheSessionWasLost(): void
    {
        try {
            $this->client->withSession(function (Session $s): string {
                $this->sessions->deleteSession($s->id);
                self::assertTrue($s->waitLost(10));
                return 'returned normally';
            }, 1);
            self::fail('the loss was swallowed');
        } catch (SessionLostException $e) {
            self::assertSame('session_not_found', $e->getErrorCode());
        }
    }

    public function testWithSessionKeepsTheUsersException(): void
    {
        $id = null;
        try {
            $this->client->withSession(function (Session $s) use (&$id): void {
                $id = $s->id;
                throw new \DomainException('mine');
            }, 5);
            self::fail('the exception was swallowed');
        } catch (\DomainException $e) {
            self::assertSame('mine', $e->getMessage());
        }
        $this->assertSessionGone($id);
    }

    public function testOrphanStopsTheKeepAliveAndLeavesTheSessionToExpire(): void
    {
        $session = $this->client->session(1);
        $lease = $session->lock('job', 0.0);
        $session->orphan();
        self::assertTrue($lease->isLost(), 'nobody keeps an orphaned session\'s lease alive');
        self::assertFalse($session->isLost());
        self::assertFalse($session->keepAlive());
        self::assertSame($session->id, $this->sessions->getSession($session->id)->getSessionId());
        $this->waitFor(10, fn () => $this->other->status('job')->status === 'free');
        self::assertFalse($session->close());
    }

    public function testASemaphoreAdmitsNHoldersAndRefusesAnotherN(): void
    {
        foreach ([0, 65] as $n) {
            try {
                $this->client->semaphore('pool', $n);
                self::fail("a semaphore of {$n}");
            } catch (\InvalidArgumentException) {
            }
        }
        $a = $this->client->semaphore('pool', 2)->tryLock(30);
        $b = $this->other->semaphore('pool', 2)->tryLock(30);
        self::assertNotNull($a);
        self::assertNotNull($b);
        self::assertGreaterThan($a->fencingToken, $b->fencingToken);
        $third = new Client($this->server->baseUrl, $this->token);
        self::assertInstanceOf(LockHeldException::class, $third->semaphore('pool', 2)->tryAcquire(30));
        $state = $this->client->status('pool');
        self::assertSame([2, 2], [$state->maxHolders, $state->holderCount()]);
        self::assertSame([$a->fencingToken, $b->fencingToken], array_map(fn ($h) => $h->fencingToken, $state->holders));
        try {
            $third->semaphore('pool', 3)->tryLock(30);
            self::fail('another N was accepted');
        } catch (MaxHoldersMismatchException $e) {
            self::assertSame(409, $e->status);
        }
        $b->release();
        self::assertSame('ran', $third->semaphore('pool', 2)->withLock(fn (Lease $l) => 'ran', 30, 10.0));
    }

    public function testASessionsSemaphoreBindsItsLeasesToTheSession(): void
    {
        $session = $this->client->session(5);
        $lease = $session->semaphore('pool', 3)->tryLock();
        self::assertSame($session, $lease->session);
        self::assertSame(3, $this->other->status('pool')->maxHolders);
        self::assertTrue($session->close());
        self::assertSame('free', $this->other->status('pool')->status);
    }

    public function testLockDelayKeepsAnExpiredLockFromEveryoneAndNobodyLeads(): void
    {
        $this->client->tryLock('leader', 1, 'me', lockDelay: 3);
        $state = $this->waitFor(5, function () {
            $s = $this->other->status('leader');
            return $s->isDelayed() ? $s : null;
        });
        self::assertNull($state->holderId);
        self::assertNotNull($state->availableAt);
        self::assertNull($this->other->election('leader')->leader(), 'a lock-delay is not a leader');
        $held = $this->other->tryAcquire('leader', 30);
        self::assertInstanceOf(LockHeldException::class, $held);
        self::assertTrue($held->isDelayed());
        self::assertNull($held->holderId);
        self::assertNotNull($held->availableAt);
        self::assertStringContainsString('lock-delay', $held->getMessage());
    }

    public function testThePrefixWatchYieldsTheChangesAfterTheIndex(): void
    {
        $index = $this->other->prefixIndex('jobs.');
        $lease = $this->client->tryLock('jobs.a', 30);
        $this->client->tryLock('elsewhere', 30);
        $first = $this->other->watchPrefix('jobs.', $index, 10.0)->current();
        self::assertInstanceOf(PrefixChanges::class, $first);
        self::assertSame(['jobs.a:held'], array_map(fn ($c) => "{$c->name}:{$c->status}", $first->changes));
        self::assertTrue($first->complete);
        self::assertGreaterThan($index, $first->index);
        $lease->release();
        $second = $this->other->watchPrefix('jobs.', $first->index, 10.0)->current();
        self::assertSame(['jobs.a:free'], array_map(fn ($c) => "{$c->name}:{$c->status}", $second->changes));
        self::assertNull($this->other->watchPrefix('jobs.', $second->index, 1.0)->current(), 'no change: the timeout ends it');
    }

    public function testThePrefixWatchWaitsOutRateLimits(): void
    {
        $calls = 0;
        $stack = HandlerStack::create();
        $stack->push(static function (callable $next) use (&$calls) {
            return static function ($request, array $options) use ($next, &$calls) {
                if (str_contains($request->getUri()->getQuery(), 'wait_seconds') && $calls++ === 0) {
                    return Create::promiseFor(new Response(429, ['Content-Type' => 'application/problem+json', 'Retry-After' => '0'],
                        '{"code":"too_many_waiters","status":429,"title":"Too many waiters"}'));
                }
                return $next($request, $options);
            };
        });
        $watcher = new Client($this->server->baseUrl, $this->token, guzzleOptions: ['handler' => $stack]);
        $this->client->tryLock('jobs.b', 30);
        $got = $watcher->watchPrefix('jobs.', 0, 10.0)->current();
        self::assertSame(['jobs.b'], array_map(fn ($c) => $c->name, $got->changes));
        self::assertGreaterThanOrEqual(2, $calls);
    }

    private function assertSessionGone(?string $id): void
    {
        self::assertNotNull($id);
        try {
            $this->sessions->getSession($id);
            self::fail("session {$id} still exists");
        } catch (ApiException $e) {
            self::assertSame(404, $e->getCode());
        }
    }

    /** Polls $fn every 50 ms until it returns a truthy value (returned) or $seconds pass. */
    private function waitFor(float $seconds, callable $fn): mixed
    {
        $deadline = Client::now() + $seconds;
        while (true) {
            $got = $fn();
            if ($got) {
                return $got;
            }
            if (Client::now() > $deadline) {
                self::fail("condition not met within {$seconds}s");
            }
            usleep(50000);
        }
    }
}
