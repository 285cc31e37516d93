<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 429 rate_limited; see $retryAfter. */
class RateLimitedException extends ProblemException
{
}
