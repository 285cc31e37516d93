<?php

declare(strict_types=1);

namespace OctoStore;

/**
 * One answer of Client::watchPrefix(): the locks under the prefix that changed past the
 * index sent, by name (a released or expired one has status "free"), and the index to
 * watch from next. When $complete is false the server no longer remembered every lock
 * freed since that index: $changes then holds every held lock under the prefix, and any
 * other lock the caller knew of is free.
 */
final class PrefixChanges
{
    /**
     * @param list<LockState> $changes
     */
    public function __construct(
        public readonly int $index,
        public readonly array $changes,
        public readonly bool $complete,
    ) {
    }
}
