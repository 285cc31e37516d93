<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** The request did not complete: connection refused or reset, or it timed out. */
class TransportException extends OctoStoreException
{
    public function getErrorCode(): string
    {
        return 'transport';
    }
}
