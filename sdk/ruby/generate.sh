#!/usr/bin/env bash
# Regenerates lib/octostore/generated{,.rb} from the repository's openapi.yaml. Only the
# generated library code is kept; the gem's own files (gemspec, README, helpers, tests)
# are written by hand.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
version="$(sed -n 's/^  version: *//p' "$root/openapi.yaml" | head -n 1)"
# API operations only: see tools/generator-input.rb.
ruby "$here/tools/generator-input.rb" "$root/openapi.yaml" > "$tmp/openapi.json"
"$root/sdk/openapi-generator-cli.sh" generate -i "$tmp/openapi.json" -o "$tmp" \
	-c "$here/openapi-generator.yaml" --additional-properties "gemVersion=$version" >/dev/null
rm -rf "$here/lib/octostore/generated" "$here/lib/octostore/generated.rb"
mkdir -p "$here/lib/octostore"
cp -R "$tmp/lib/octostore/generated" "$tmp/lib/octostore/generated.rb" "$here/lib/octostore/"
