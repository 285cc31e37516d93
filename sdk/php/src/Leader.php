<?php

declare(strict_types=1);

namespace OctoStore;

/** The current leader of an Election: its published value and its lease's fencing token. */
final class Leader
{
    public function __construct(
        public readonly ?string $value,
        public readonly ?string $holderId,
        public readonly ?int $fencingToken,
        public readonly int $revision,
    ) {
    }

    /** The election's view of a lock state: null when nobody leads (also while a lock-delay keeps the lock). */
    public static function fromState(LockState $s): ?self
    {
        if (!$s->isHeld() || $s->isDelayed()) {
            return null;
        }
        return new self($s->metadata, $s->holderId, $s->fencingToken, $s->revision);
    }
}
