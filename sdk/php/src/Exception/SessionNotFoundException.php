<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 404 session_not_found: the session is unknown, expired or deleted; its locks are gone. */
class SessionNotFoundException extends NotFoundException
{
}
