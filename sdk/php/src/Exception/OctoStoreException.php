<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/**
 * Base class of every exception the helpers throw. getErrorCode() is machine-readable: a
 * problem code from the API (ProblemException) or "held", "timeout", "transport", "protocol".
 */
abstract class OctoStoreException extends \RuntimeException
{
    abstract public function getErrorCode(): string;
}
