<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 409 lock_limit_exceeded: the account holds its maximum of active locks. */
class LockLimitExceededException extends ConflictException
{
}
