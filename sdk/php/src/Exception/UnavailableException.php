<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 503 unavailable: shutting down or cannot write; see $retryAfter. */
class UnavailableException extends ProblemException
{
}
