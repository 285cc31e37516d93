<?php
// Prints openapi.yaml (path given as the first argument) as JSON for the php-nextgen
// generator, with one change: path parameters lose their pattern and length constraints.
//
// php-nextgen checks those constraints in the client, unconditionally (it has no switch
// like the Ruby generator's client_side_validation), so a bad lock name would become a
// client-side InvalidArgumentException instead of the server's documented 400
// invalid_lock_name problem with its request id. The server enforces every constraint of
// the spec; the PHP SDK lets it, like the SDKs in the other languages. Response `links`
// are dropped as well: they generate no client code, and openapi-generator's validator
// refuses a link's object `requestBody`, which OpenAPI 3.0 allows. Nothing else in the
// document is changed. Needs the yaml extension (Debian: php-yaml).

declare(strict_types=1);

if ($argc !== 2) {
    fwrite(STDERR, "usage: php generator-input.php openapi.yaml > openapi.json\n");
    exit(2);
}
$spec = yaml_parse_file($argv[1]);
if (!is_array($spec)) {
    fwrite(STDERR, "cannot parse {$argv[1]}\n");
    exit(1);
}

$schemaType = function (array $schema) use ($spec): ?string {
    while (isset($schema['$ref'])) {
        $name = substr($schema['$ref'], strlen('#/components/schemas/'));
        $schema = $spec['components']['schemas'][$name];
    }
    return $schema['type'] ?? null;
};

$loosen = function (array $param) use ($schemaType): array {
    if (($param['in'] ?? '') !== 'path' || !isset($param['schema'])) {
        return $param;
    }
    $type = $schemaType($param['schema']);
    if ($type !== 'string') {
        fwrite(STDERR, "path parameter {$param['name']} is not a string\n");
        exit(1);
    }
    $param['schema'] = ['type' => 'string'];
    return $param;
};

// Browser-only operations (GitHub sign-in, the dashboard: pages and calls authenticated by
// a session cookie) are not part of an API client; nor is the cookie scheme only they use.
foreach ($spec['paths'] as $path => $item) {
    foreach ($item as $method => $op) {
        if (is_array($op) && ($op['x-browser-only'] ?? false) === true) {
            unset($spec['paths'][$path][$method]);
        }
    }
    if (!array_intersect(array_keys($spec['paths'][$path]), ['get', 'put', 'post', 'delete', 'patch'])) {
        unset($spec['paths'][$path]);
    }
}
foreach ($spec['components']['securitySchemes'] ?? [] as $name => $scheme) {
    if (($scheme['in'] ?? '') === 'cookie') {
        unset($spec['components']['securitySchemes'][$name]);
    }
}

foreach ($spec['paths'] as $path => $item) {
    foreach ($item as $method => $op) {
        if (!is_array($op) || !isset($op['responses'])) {
            continue;
        }
        foreach ($op['responses'] as $code => $response) {
            unset($spec['paths'][$path][$method]['responses'][$code]['links']);
        }
    }
}

foreach ($spec['components']['parameters'] ?? [] as $name => $param) {
    $spec['components']['parameters'][$name] = $loosen($param);
}
foreach ($spec['paths'] as $path => $item) {
    foreach ($item['parameters'] ?? [] as $i => $param) {
        $spec['paths'][$path]['parameters'][$i] = $loosen($param);
    }
    foreach ($item as $method => $op) {
        if (!is_array($op) || !isset($op['parameters'])) {
            continue;
        }
        foreach ($op['parameters'] as $i => $param) {
            $spec['paths'][$path][$method]['parameters'][$i] = $loosen($param);
        }
    }
}

echo json_encode($spec, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR), "\n";
