<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** Any other 5xx answer. */
class ServerErrorException extends ProblemException
{
}
