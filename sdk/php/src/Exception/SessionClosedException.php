<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** An acquire through a Session that was closed or orphaned; also the lost reason of its leases then. */
class SessionClosedException extends OctoStoreException
{
    public function __construct(public readonly string $sessionId, string $how = 'closed')
    {
        parent::__construct("session {$sessionId} was {$how}");
    }

    public function getErrorCode(): string
    {
        return 'session_closed';
    }
}
