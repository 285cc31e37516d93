<?php

declare(strict_types=1);

namespace OctoStore\Tests\Conformance;

/**
 * One octostore-lock process started as the conformance README's harness section says:
 * a fresh temporary directory, only PATH plus the harness's variables in its environment,
 * output to files, the address read from the `msg=listening` line.
 */
final class Server
{
    public readonly string $baseUrl;
    public readonly string $adminKey;
    private string $dir;
    private string $stdout;
    private string $stderr;
    /** @var resource|null */
    private $proc;

    /** @var array<string, Server> servers by their settings, shared by scenarios */
    private static array $servers = [];
    private static ?int $ownerPid = null;

    /** The server for these settings, started on first use and stopped at exit. */
    public static function for(array $env): self
    {
        ksort($env);
        $key = json_encode($env);
        if (self::$ownerPid === null) {
            self::$ownerPid = getmypid();
            register_shutdown_function(static function (): void {
                if (getmypid() === self::$ownerPid) {
                    foreach (self::$servers as $s) {
                        $s->stop();
                    }
                }
            });
        }
        return self::$servers[$key] ??= new self($env);
    }

    /** A server of its own for one scenario (server.dedicated); the caller stops it. */
    public static function dedicated(array $env): self
    {
        return new self($env);
    }

    /** SIGSTOP the server (server_pause). */
    public function pause(): void
    {
        posix_kill(proc_get_status($this->proc)['pid'], SIGSTOP);
    }

    /** SIGCONT it (server_resume). */
    public function resume(): void
    {
        posix_kill(proc_get_status($this->proc)['pid'], SIGCONT);
    }

    private function __construct(array $env)
    {
        $bin = (string) getenv('OCTOSTORE_BIN');
        if ($bin === '' || !is_executable($bin)) {
            throw new \RuntimeException('OCTOSTORE_BIN must name the octostore-lock binary (go build -o bin/ ./cmd/octostore-lock); got ' . var_export($bin, true));
        }
        $this->dir = sys_get_temp_dir() . '/octostore-conformance-' . bin2hex(random_bytes(6));
        mkdir($this->dir, 0700);
        $this->adminKey = bin2hex(random_bytes(16));
        file_put_contents($this->dir . '/empty.env', '');
        $this->stdout = $this->dir . '/stdout.log';
        $this->stderr = $this->dir . '/stderr.log';
        $serverEnv = [
            'PATH' => getenv('PATH') ?: '/usr/bin:/bin',
            'ADMIN_KEY' => $this->adminKey,
            'DATABASE_URL' => $this->dir . '/octostore.db',
            'ENV_FILE' => $this->dir . '/empty.env',
            'LOG_LEVEL' => 'info',
            'LOG_FORMAT' => 'text',
        ] + $env;
        $this->proc = proc_open(
            [$bin, '--bind-addr', '127.0.0.1:0'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', $this->stdout, 'w'], 2 => ['file', $this->stderr, 'w']],
            $pipes,
            $this->dir,
            $serverEnv,
        );
        if ($this->proc === false) {
            throw new \RuntimeException("cannot start {$bin}");
        }
        $this->baseUrl = 'http://' . $this->waitListening();
    }

    /** POST to the admin API; returns the decoded JSON body. */
    public function adminPost(string $path, ?array $body): array
    {
        $http = new \GuzzleHttp\Client(['http_errors' => false, 'timeout' => 10]);
        $options = ['headers' => ['X-Admin-Key' => $this->adminKey]];
        if ($body !== null) {
            $options['json'] = $body;
        }
        $res = $http->post($this->baseUrl . $path, $options);
        if ($res->getStatusCode() !== 201) {
            throw new \RuntimeException("admin {$path}: HTTP {$res->getStatusCode()} {$res->getBody()}");
        }
        return json_decode((string) $res->getBody(), true, 512, JSON_THROW_ON_ERROR);
    }

    public function stop(): void
    {
        if ($this->proc === null) {
            return;
        }
        $status = proc_get_status($this->proc);
        if ($status['running']) {
            posix_kill($status['pid'], SIGCONT);
        }
        proc_terminate($this->proc, 15);
        $deadline = hrtime(true) / 1e9 + 10;
        while (proc_get_status($this->proc)['running']) {
            if (hrtime(true) / 1e9 > $deadline) {
                proc_terminate($this->proc, 9);
                break;
            }
            usleep(20000);
        }
        proc_close($this->proc);
        $this->proc = null;
        foreach (glob($this->dir . '/{,.}*', GLOB_BRACE) ?: [] as $f) {
            if (is_file($f)) {
                unlink($f);
            }
        }
        @rmdir($this->dir);
    }

    private function waitListening(): string
    {
        $deadline = hrtime(true) / 1e9 + 15;
        while (true) {
            $out = is_file($this->stdout) ? (string) file_get_contents($this->stdout) : '';
            if (preg_match('/msg=listening addr=(\S+)/', $out, $m)) {
                return $m[1];
            }
            if (!proc_get_status($this->proc)['running']) {
                throw new \RuntimeException("octostore-lock exited before listening:\n" . $this->logs());
            }
            if (hrtime(true) / 1e9 > $deadline) {
                throw new \RuntimeException("octostore-lock did not report listening within 15 s:\n" . $this->logs());
            }
            usleep(20000);
        }
    }

    private function logs(): string
    {
        return "stdout:\n" . @file_get_contents($this->stdout) . "\nstderr:\n" . @file_get_contents($this->stderr);
    }
}
