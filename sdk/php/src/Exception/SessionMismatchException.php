<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 409 session_mismatch: this holder holds the lock already, through another session or none; release it first, or acquire it through the same session. */
class SessionMismatchException extends ConflictException
{
}
