#!/usr/bin/env bash
# Regenerates generated/ (namespace OctoStore\Generated) from the repository's
# openapi.yaml with php-nextgen (version pinned in ../openapi-generator-cli.sh). Only the
# generated library code is kept; composer.json, the helpers and the tests are hand-written.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
version="$(sed -n 's/^  version: *//p' "$root/openapi.yaml" | head -n 1)"
# The server, not the client, enforces path parameters' constraints: see tools/generator-input.php.
php "$here/tools/generator-input.php" "$root/openapi.yaml" > "$tmp/openapi.json"
"$root/sdk/openapi-generator-cli.sh" generate -i "$tmp/openapi.json" -o "$tmp/out" \
	-c "$here/openapi-generator.yaml" --additional-properties "artifactVersion=$version" >/dev/null
rm -rf "$here/generated"
cp -R "$tmp/out/src" "$here/generated"
