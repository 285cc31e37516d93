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
