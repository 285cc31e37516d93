<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/**
 * A Session ended without close(): the server no longer knows it (getPrevious() is its
 * SessionNotFoundException), or no renewal succeeded before it would have expired. Every
 * lock bound to it is gone. Thrown by an acquire through the session, and by
 * Client::withSession() when the callback returned normally. getErrorCode() and $status
 * are the server's (session_not_found, 404) when the server said so, else "session_lost"
 * and null.
 */
class SessionLostException extends OctoStoreException
{
    /** The HTTP status of the server's answer that ended the session, if one did. */
    public readonly ?int $status;

    public function __construct(public readonly string $sessionId, ?\Throwable $reason = null)
    {
        $this->status = $reason instanceof ProblemException ? $reason->status : null;
        parent::__construct("session {$sessionId} was lost" . ($reason ? ': ' . $reason->getMessage() : ''), 0, $reason);
    }

    public function getErrorCode(): string
    {
        $reason = $this->getPrevious();
        return $reason instanceof ProblemException ? $reason->getErrorCode() : 'session_lost';
    }
}
