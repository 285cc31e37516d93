<?php

// One of the two processes of TwoProcessTest: N cycles of take the lock (or win the
// election) -> read the counter file -> short pause -> write counter + 1 -> release (or
// resign). No owner is set: the helper's default must keep the two processes apart.
//
//   php tests/workers/two_process_worker.php lock|election BASE_URL TOKEN NAME COUNTER_FILE N

declare(strict_types=1);

require __DIR__ . '/../bootstrap.php';

[, $mode, $url, $token, $name, $file, $n] = $argv;
$client = new OctoStore\Client($url, $token);
$election = $client->election($name, 15);

$bump = static function () use ($file): void {
    $value = (int) file_get_contents($file);
    usleep(5000); // widen the window in which a second holder would interleave
    file_put_contents($file, (string) ($value + 1));
};

for ($i = 0; $i < (int) $n; $i++) {
    if ($mode === 'lock') {
        $client->withLock($name, $bump, 15, 30.0);
    } else {
        $election->campaign(getmypid() . ":{$i}", 30.0);
        try {
            $bump();
        } finally {
            $election->resign();
        }
    }
}
