<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** A response that does not match the API (a server of another version?). */
class ProtocolException extends OctoStoreException
{
    public function getErrorCode(): string
    {
        return 'protocol';
    }
}
