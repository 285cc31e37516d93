<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 409: the request conflicts with the lock's or the account's state. */
class ConflictException extends ProblemException
{
}
