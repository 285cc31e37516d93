<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 429 too_many_waiters: the bound on waiting requests (blocking acquires, watches) is reached; see $retryAfter. */
class TooManyWaitersException extends RateLimitedException
{
}
