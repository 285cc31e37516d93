<?php

declare(strict_types=1);

namespace OctoStore\Tests;

use OctoStore\Tests\Conformance\Failure;
use OctoStore\Tests\Conformance\Runner;
use PHPUnit\Framework\TestCase;

/**
 * The shared conformance suite (sdk/conformance, or OCTOSTORE_CONFORMANCE_DIR): one test
 * case per scenario file, named after it, run through the helpers against a live
 * octostore-lock from OCTOSTORE_BIN.
 */
final class ConformanceTest extends TestCase
{
    /** @return iterable<string, array{\stdClass}> */
    public static function scenarios(): iterable
    {
        $dir = getenv('OCTOSTORE_CONFORMANCE_DIR') ?: __DIR__ . '/../../conformance';
        $files = glob($dir . '/scenarios/*.json') ?: [];
        sort($files);
        if ($files === []) {
            throw new \RuntimeException("no scenarios in {$dir}/scenarios (set OCTOSTORE_CONFORMANCE_DIR)");
        }
        foreach ($files as $file) {
            $scenario = json_decode((string) file_get_contents($file), false, 512, JSON_THROW_ON_ERROR);
            yield $scenario->name => [$scenario];
        }
    }

    /** @dataProvider scenarios */
    public function testScenario(\stdClass $scenario): void
    {
        try {
            (new Runner($scenario))->run();
        } catch (Failure $e) {
            self::fail($e->getMessage());
        }
        $this->addToAssertionCount(count($scenario->steps));
    }
}
