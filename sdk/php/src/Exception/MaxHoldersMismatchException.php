<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 409 max_holders_mismatch: the lock's holders (or its line, or its lock-delay) agreed on another number of holders; every holder of a semaphore must ask for the same N. */
class MaxHoldersMismatchException extends ConflictException
{
}
