<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 400 invalid_lock_name: names match ^[A-Za-z0-9.-]{1,128}$. */
class InvalidLockNameException extends InvalidRequestException
{
}
