<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 401 unauthorized: missing, unknown or rotated-away token. */
class UnauthorizedException extends ProblemException
{
}
