<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/**
 * tryLock() found the lock held by someone else: $holderId, $expiresAt (when that lease
 * ends unless renewed) and $retryAfterMs (when trying again is worthwhile).
 */
class LockHeldException extends OctoStoreException
{
    public function __construct(
        public readonly string $name,
        public readonly ?string $holderId,
        public readonly ?\DateTimeInterface $expiresAt,
        public readonly ?int $retryAfterMs,
    ) {
        $until = $expiresAt?->format(\DateTimeInterface::RFC3339_EXTENDED) ?? 'unknown';
        parent::__construct("lock '{$name}' is held by {$holderId} until {$until}");
    }

    public function getErrorCode(): string
    {
        return 'held';
    }
}
