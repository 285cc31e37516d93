<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 409 lease_not_current: the lease expired, was released, or is another lock's. */
class LeaseNotCurrentException extends ConflictException
{
}
