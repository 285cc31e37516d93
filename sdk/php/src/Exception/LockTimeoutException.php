<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** A blocking lock() or Election::campaign() ran out of its wait before getting the lock. */
class LockTimeoutException extends OctoStoreException
{
    public function __construct(public readonly string $name, public readonly float $waited)
    {
        parent::__construct("lock '{$name}' not acquired within {$waited}s");
    }

    public function getErrorCode(): string
    {
        return 'timeout';
    }
}
