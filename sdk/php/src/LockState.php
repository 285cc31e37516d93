<?php

declare(strict_types=1);

namespace OctoStore;

use OctoStore\Generated\Model\LockStatus;

/** A lock as status(), watch() and list() report it. A free lock has only name, status and revision. */
final class LockState
{
    public function __construct(
        public readonly string $name,
        public readonly string $status,
        public readonly int $revision,
        public readonly ?string $holderId = null,
        public readonly ?int $fencingToken = null,
        public readonly ?\DateTimeImmutable $expiresAt = null,
        public readonly ?string $metadata = null,
    ) {
    }

    /** Whether someone holds the lock. */
    public function isHeld(): bool
    {
        return $this->status === 'held';
    }

    /** @internal converts the generated model */
    public static function fromModel(LockStatus $s): self
    {
        $expires = $s->getExpiresAt();
        return new self(
            (string) $s->getName(),
            (string) $s->getStatus(),
            (int) $s->getRevision(),
            $s->getHolderId(),
            $s->getFencingToken(),
            $expires === null ? null : \DateTimeImmutable::createFromInterface($expires),
            $s->getMetadata(),
        );
    }
}
