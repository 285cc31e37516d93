<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/**
 * A withLock() callback returned normally, but the lease was lost while it ran
 * (getPrevious() says why): what it did may have overlapped another holder.
 */
class LockLostException extends OctoStoreException
{
    public function __construct(public readonly string $name, ?\Throwable $reason = null)
    {
        parent::__construct("lock '{$name}' was lost while the callback ran" . ($reason ? ': ' . $reason->getMessage() : ''), 0, $reason);
    }

    public function getErrorCode(): string
    {
        return 'lock_lost';
    }
}
