<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 404 not_found (and the admin API's account_not_found, admin_disabled). */
class NotFoundException extends ProblemException
{
}
