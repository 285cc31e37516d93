<?php

declare(strict_types=1);

namespace OctoStore\Exception;

/** 415 unsupported_media_type. */
class UnsupportedMediaTypeException extends ProblemException
{
}
