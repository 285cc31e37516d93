<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/**
 * The session's TTL ran out before it was renewed: keepAlive() was not called in time
 * (PHP renews between steps and while the SDK waits, not in the background), or renewals
 * failed until then.
 */
class SessionExpiredException extends OctoStoreException
{
    public function getErrorCode(): string
    {
        return 'expired';
    }
}
