<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 400 invalid_request (and the more specific invalid_lock_name, invalid_ttl). */
class InvalidRequestException extends ProblemException
{
}
