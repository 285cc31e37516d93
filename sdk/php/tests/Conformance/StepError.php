<?php

declare(strict_types=1);

namespace OctoStore\Tests\Conformance;

use OctoStore\Exception\OctoStoreException;

/**
 * A typed outcome the runner itself produces: the client-side timeout of wait_lost and
 * observe, or an error a background step's child process reported. $type is the class
 * the child caught; null when the runner made the outcome, as no SDK type exists then.
 */
final class StepError extends OctoStoreException
{
    public function __construct(
        private readonly string $errorCode,
        public readonly ?int $status,
        string $message,
        public readonly ?string $type = null,
    ) {
        parent::__construct($message);
    }

    public function getErrorCode(): string
    {
        return $this->errorCode;
    }
}
