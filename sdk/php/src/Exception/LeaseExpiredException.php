<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/**
 * The lease's TTL ran out before it was renewed: keepAlive() was not called in time (PHP
 * renews between steps, not in the background), or renewals failed until then.
 */
class LeaseExpiredException extends OctoStoreException
{
    public function getErrorCode(): string
    {
        return 'expired';
    }
}
