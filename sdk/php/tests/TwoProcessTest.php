<?php

declare(strict_types=1);

namespace OctoStore\Tests;

use OctoStore\Tests\Conformance\Server;
use PHPUnit\Framework\TestCase;

/**
 * Two processes sharing ONE token and setting no owner must exclude each other: each
 * increments a shared counter file N times under the lock (then under the election), and
 * the counter ends at exactly 2N. Against helpers that send no owner (with a server that
 * takes token = holder), both would "hold".
 */
final class TwoProcessTest extends TestCase
{
    private const CYCLES = 30;
    private const DEADLINE = 60.0;

    public function testTwoProcessesSharingATokenTakeTurnsOnALock(): void
    {
        self::assertSame(2 * self::CYCLES, $this->runTwo('lock'));
    }

    public function testTwoProcessesSharingATokenTakeTurnsAsLeader(): void
    {
        self::assertSame(2 * self::CYCLES, $this->runTwo('election'));
    }

    private function runTwo(string $mode): int
    {
        $server = Server::for([]);
        $token = $server->adminPost('/admin/accounts', ['name' => 'two-proc-' . bin2hex(random_bytes(6))])['token'];
        $dir = sys_get_temp_dir() . '/octostore-two-proc-' . bin2hex(random_bytes(6));
        mkdir($dir, 0700);
        $counter = "{$dir}/counter";
        file_put_contents($counter, '0');
        $procs = [];
        try {
            for ($i = 0; $i < 2; $i++) {
                $procs[$i] = proc_open(
                    [PHP_BINARY, __DIR__ . '/workers/two_process_worker.php', $mode, $server->baseUrl, $token, "two-proc-{$mode}", $counter, (string) self::CYCLES],
                    [0 => ['file', '/dev/null', 'r'], 1 => ['file', "{$dir}/out{$i}", 'w'], 2 => ['file', "{$dir}/err{$i}", 'w']],
                    $pipes,
                );
                self::assertIsResource($procs[$i]);
            }
            $codes = $this->waitAll($procs);
            foreach ($codes as $i => $code) {
                self::assertSame(0, $code, "worker {$i} failed: " . file_get_contents("{$dir}/out{$i}") . file_get_contents("{$dir}/err{$i}"));
            }
            return (int) file_get_contents($counter);
        } finally {
            foreach (glob("{$dir}/*") ?: [] as $f) {
                unlink($f);
            }
            rmdir($dir);
        }
    }

    /**
     * Waits for every process until DEADLINE; kills (by pid) any still running then.
     *
     * @param array<int, resource> $procs
     * @return array<int, ?int> exit codes (null: killed)
     */
    private function waitAll(array $procs): array
    {
        $deadline = hrtime(true) / 1e9 + self::DEADLINE;
        $codes = [];
        while (count($codes) < count($procs)) {
            foreach ($procs as $i => $p) {
                if (array_key_exists($i, $codes)) {
                    continue;
                }
                $st = proc_get_status($p);
                if (!$st['running']) {
                    $codes[$i] = $st['exitcode'];
                    proc_close($p);
                }
            }
            if (hrtime(true) / 1e9 > $deadline) {
                break;
            }
            if (count($codes) < count($procs)) {
                usleep(20000);
            }
        }
        foreach ($procs as $i => $p) {
            if (!array_key_exists($i, $codes)) {
                posix_kill(proc_get_status($p)['pid'], SIGKILL);
                proc_close($p);
                $codes[$i] = null;
            }
        }
        return $codes;
    }
}
