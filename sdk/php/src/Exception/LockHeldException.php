<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/**
 * tryAcquire() found the lock held by someone else (returned as a value, not thrown):
 * $holderId, $expiresAt (when that lease ends unless renewed) and $retryAfterMs (when
 * trying again is worthwhile).
 *
 * While a lock-delay keeps the lock (its last lease expired; see the $lockDelay argument)
 * nobody holds it: $holderId is null and $availableAt says when it can be taken again.
 */
class LockHeldException extends OctoStoreException
{
    public function __construct(
        public readonly string $name,
        public readonly ?string $holderId,
        public readonly ?\DateTimeInterface $expiresAt,
        public readonly ?int $retryAfterMs,
        public readonly ?\DateTimeInterface $availableAt = null,
    ) {
        $until = ($holderId === null ? ($availableAt ?? $expiresAt) : $expiresAt)?->format(\DateTimeInterface::RFC3339_EXTENDED) ?? 'unknown';
        parent::__construct($holderId === null
            ? "lock '{$name}' is kept by a lock-delay until {$until}"
            : "lock '{$name}' is held by {$holderId} until {$until}");
    }

    /** Whether a lock-delay, not a holder, keeps the lock. */
    public function isDelayed(): bool
    {
        return $this->holderId === null;
    }

    public function getErrorCode(): string
    {
        return 'held';
    }
}
