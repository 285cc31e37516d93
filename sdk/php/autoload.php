<?php

// Loads the OctoStore SDK without Composer: `require 'path/to/sdk/php/autoload.php';`.
//
// Guzzle and PSR-7 come from Composer's vendor/ beside this file when there is one, else
// from the include path (Debian/Ubuntu: apt-get install php-guzzlehttp-guzzle puts
// GuzzleHttp/autoload.php there). The SDK's own namespaces are mapped as composer.json
// declares them: OctoStore\Generated\ to generated/, OctoStore\ to src/.

declare(strict_types=1);

if (!class_exists(\GuzzleHttp\Client::class)) {
    if (is_file(__DIR__ . '/vendor/autoload.php')) {
        require_once __DIR__ . '/vendor/autoload.php';
    } elseif (stream_resolve_include_path('GuzzleHttp/autoload.php')) {
        require_once 'GuzzleHttp/autoload.php';
    } else {
        throw new \RuntimeException('OctoStore needs Guzzle 7: install php-guzzlehttp-guzzle (Debian/Ubuntu) or run composer install');
    }
}

spl_autoload_register(static function (string $class): void {
    foreach (['OctoStore\\Generated\\' => __DIR__ . '/generated/', 'OctoStore\\' => __DIR__ . '/src/'] as $prefix => $dir) {
        if (str_starts_with($class, $prefix)) {
            $file = $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
            if (is_file($file)) {
                require $file;
            }
            return;
        }
    }
});
