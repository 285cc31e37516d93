<?php

declare(strict_types=1);

namespace OctoStore\Tests\Conformance;

/** A step did not do what the scenario says. */
final class Failure extends \RuntimeException
{
}
