<?php

declare(strict_types=1);

namespace OctoStore;

/**
 * @internal what one acquire asks for: $ttl does not apply through a session (null then),
 * $maxHolders makes it a semaphore's.
 */
final class Terms
{
    public function __construct(
        public readonly ?int $ttl,
        public readonly ?string $metadata = null,
        public readonly ?int $lockDelay = null,
        public readonly ?int $maxHolders = null,
        public readonly ?Session $session = null,
    ) {
    }
}
