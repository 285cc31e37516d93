<?php

declare(strict_types=1);

namespace OctoStore;

use OctoStore\Generated\Model\LockStatus;

/**
 * A lock as status(), watch(), list() and watchPrefix() report it. A free lock has only
 * name, status and revision.
 *
 * holderId, fencingToken, expiresAt and metadata are the holder's (a semaphore's: the
 * holder with the lowest fencing token); $holders lists every holder and $maxHolders says
 * how many the lock admits. A lock kept only by a lock-delay is held with holderId null
 * and $availableAt set (when it can be taken again).
 */
final class LockState
{
    /**
     * @param list<Holder> $holders
     */
    public function __construct(
        public readonly string $name,
        public readonly string $status,
        public readonly int $revision,
        public readonly ?string $holderId = null,
        public readonly ?int $fencingToken = null,
        public readonly ?\DateTimeImmutable $expiresAt = null,
        public readonly ?string $metadata = null,
        public readonly ?int $maxHolders = null,
        public readonly array $holders = [],
        public readonly ?\DateTimeImmutable $availableAt = null,
    ) {
    }

    /** Whether someone holds the lock (or a lock-delay keeps it). */
    public function isHeld(): bool
    {
        return $this->status === 'held';
    }

    /** Whether a lock-delay, not a holder, keeps the lock. */
    public function isDelayed(): bool
    {
        return $this->isHeld() && $this->holderId === null;
    }

    /** How many hold the lock now (0 when free or kept by a lock-delay). */
    public function holderCount(): int
    {
        return count($this->holders);
    }

    /** @internal converts the generated model */
    public static function fromModel(LockStatus $s): self
    {
        $expires = $s->getExpiresAt();
        $available = $s->getAvailableAt();
        return new self(
            (string) $s->getName(),
            (string) $s->getStatus(),
            (int) $s->getRevision(),
            $s->getHolderId(),
            $s->getFencingToken(),
            $expires === null ? null : \DateTimeImmutable::createFromInterface($expires),
            $s->getMetadata(),
            $s->getMaxHolders(),
            array_values(array_map(static fn ($h) => Holder::fromModel($h), $s->getHolders() ?? [])),
            $available === null ? null : \DateTimeImmutable::createFromInterface($available),
        );
    }
}
