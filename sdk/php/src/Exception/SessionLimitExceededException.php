<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 409 session_limit_exceeded: the account has its maximum of sessions. */
class SessionLimitExceededException extends ConflictException
{
}
