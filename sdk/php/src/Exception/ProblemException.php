<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/**
 * The server answered with an RFC 9457 problem document: getErrorCode() is its stable
 * code, $status the HTTP status, $requestId the id to quote when reporting a problem and
 * $retryAfter the Retry-After header in seconds when the server sent one.
 */
class ProblemException extends OctoStoreException
{
    public function __construct(
        public readonly string $problemCode,
        public readonly int $status,
        public readonly ?string $title = null,
        public readonly ?string $detail = null,
        public readonly ?string $requestId = null,
        public readonly ?float $retryAfter = null,
        ?\Throwable $previous = null,
    ) {
        $text = "{$status} {$problemCode}";
        if ($detail !== null && $detail !== '') {
            $text .= ": {$detail}";
        }
        if ($requestId !== null && $requestId !== '') {
            $text .= " (request {$requestId})";
        }
        parent::__construct($text, 0, $previous);
    }

    public function getErrorCode(): string
    {
        return $this->problemCode;
    }
}
