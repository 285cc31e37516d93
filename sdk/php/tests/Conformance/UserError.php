<?php

declare(strict_types=1);

namespace OctoStore\Tests\Conformance;

/** The error a with_lock body throws (bodies "raise" and "release_behind_then_raise"). */
final class UserError extends \RuntimeException
{
}
