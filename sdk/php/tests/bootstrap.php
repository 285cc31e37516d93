<?php

// Loads the SDK for the tests without Composer's network: Composer's autoloader when
// `composer install` was run, else the SDK's own autoload.php (Debian's packaged
// Guzzle/PSR-7 and a PSR-4 autoloader for this package's namespaces) plus one for the
// tests' namespace.

declare(strict_types=1);

if (is_file(__DIR__ . '/../vendor/autoload.php')) {
    require __DIR__ . '/../vendor/autoload.php';
    return;
}

try {
    require_once __DIR__ . '/../autoload.php';
} catch (\RuntimeException $e) {
    fwrite(STDERR, $e->getMessage() . "\n");
    exit(1);
}

spl_autoload_register(static function (string $class): void {
    $prefix = 'OctoStore\\Tests\\';
    if (str_starts_with($class, $prefix)) {
        $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
