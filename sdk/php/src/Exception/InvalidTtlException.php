<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 400 invalid_ttl: TTLs are whole seconds from 1 to 3600. */
class InvalidTtlException extends InvalidRequestException
{
}
