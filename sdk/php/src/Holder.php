<?php

declare(strict_types=1);

namespace OctoStore;

use OctoStore\Generated\Model\LockHolder;

/** One holder of a lock (a semaphore has up to maxHolders of them). */
final class Holder
{
    public function __construct(
        public readonly string $holderId,
        public readonly int $fencingToken,
        public readonly \DateTimeImmutable $expiresAt,
        public readonly ?string $metadata = null,
    ) {
    }

    /** @internal converts the generated model */
    public static function fromModel(LockHolder $h): self
    {
        return new self((string) $h->getHolderId(), (int) $h->getFencingToken(),
            \DateTimeImmutable::createFromInterface($h->getExpiresAt()), $h->getMetadata());
    }
}
