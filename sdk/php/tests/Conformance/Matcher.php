<?php

declare(strict_types=1);

namespace OctoStore\Tests\Conformance;

/** The suite's matchers. Timestamps compare as instants, numbers numerically. */
final class Matcher
{
    public static function holds(mixed $matcher, mixed $actual): bool
    {
        if (!$matcher instanceof \stdClass) {
            return self::equal($actual, $matcher);
        }
        $ops = get_object_vars($matcher);
        if (count($ops) !== 1) {
            throw new Failure('a matcher object has exactly one operator: ' . json_encode($matcher));
        }
        $want = reset($ops);
        $op = key($ops);
        switch ($op) {
            case 'eq':
                return self::equal($actual, $want);
            case 'ne':
                return !self::equal($actual, $want);
            case 'gt':
            case 'ge':
            case 'lt':
            case 'le':
                [$a, $w] = self::comparable($actual, $want);
                if ($actual === null || $a === null || $w === null) {
                    return false;
                }
                return match ($op) {
                    'gt' => $a > $w,
                    'ge' => $a >= $w,
                    'lt' => $a < $w,
                    'le' => $a <= $w,
                };
            case 'present':
                return $want ? $actual !== null : $actual === null;
            case 'matches':
                return is_string($actual) && preg_match('~' . str_replace('~', '\~', $want) . '~u', $actual) === 1;
        }
        throw new Failure("unknown matcher {$op}");
    }

    private static function equal(mixed $actual, mixed $want): bool
    {
        if ($want === null) {
            return $actual === null;
        }
        if ($actual === null) {
            return false;
        }
        if (is_array($want)) {
            if (!is_array($actual) || count($actual) !== count($want)) {
                return false;
            }
            foreach (array_values($want) as $i => $w) {
                if (!self::equal(array_values($actual)[$i], $w)) {
                    return false;
                }
            }
            return true;
        }
        [$a, $w] = self::comparable($actual, $want);
        if ($a === null || $w === null) {
            return $actual === $want;
        }
        return $a == $w;
    }

    /** Both as instants (microseconds), both as numbers, or both as strings; else [null, null]. */
    private static function comparable(mixed $actual, mixed $want): array
    {
        if ($actual instanceof \DateTimeInterface || $want instanceof \DateTimeInterface) {
            return [self::instant($actual), self::instant($want)];
        }
        if ((is_int($actual) || is_float($actual)) && (is_int($want) || is_float($want))) {
            return [$actual, $want];
        }
        if (is_string($actual) && is_string($want)) {
            return [$actual, $want];
        }
        return [null, null];
    }

    private static function instant(mixed $v): ?int
    {
        if (is_string($v)) {
            try {
                $v = new \DateTimeImmutable($v);
            } catch (\Exception) {
                return null;
            }
        }
        if (!$v instanceof \DateTimeInterface) {
            return null;
        }
        return (int) $v->format('U') * 1000000 + (int) $v->format('u');
    }
}
