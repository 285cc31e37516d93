<?php

// Loads the SDK for the tests without Composer's network: Composer's autoloader when
// `composer install` was run, else Debian's packaged Guzzle/PSR-7 (php-guzzlehttp-guzzle
// and friends put their autoloaders on the include path) and a PSR-4 autoloader for this
// package's own namespaces, as composer.json declares them.

declare(strict_types=1);

if (is_file(__DIR__ . '/../vendor/autoload.php')) {
    require __DIR__ . '/../vendor/autoload.php';
    return;
}

if (!stream_resolve_include_path('GuzzleHttp/autoload.php')) {
    fwrite(STDERR, "Guzzle not found: run `composer install`, or install Debian's php-guzzlehttp-guzzle\n");
    exit(1);
}
require_once 'GuzzleHttp/autoload.php';

spl_autoload_register(static function (string $class): void {
    $prefixes = [
        'OctoStore\\Generated\\' => __DIR__ . '/../generated/',
        'OctoStore\\Tests\\' => __DIR__ . '/',
        'OctoStore\\' => __DIR__ . '/../src/',
    ];
    foreach ($prefixes as $prefix => $dir) {
        if (str_starts_with($class, $prefix)) {
            $file = $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
            if (is_file($file)) {
                require $file;
            }
            return;
        }
    }
});
