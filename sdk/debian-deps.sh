#!/usr/bin/env bash
# Installs the Debian packages the Ruby, PHP and C# SDKs are generated, built and tested
# with (they use Debian's packages only: no RubyGems, Packagist or NuGet). Does nothing
# when all are installed; otherwise runs apt-get update and installs the missing ones,
# which needs root (CI runs as root).
set -euo pipefail
packages=(
	# openapi-generator-cli runs on Java; mvn fetches it (sdk/openapi-generator-cli.sh)
	openjdk-17-jre-headless maven
	# Ruby SDK
	ruby ruby-typhoeus ruby-minitest
	# PHP SDK (php-yaml: sdk/php/tools/generator-input.php)
	php-cli php-curl php-mbstring php-xml php-yaml php-guzzlehttp-guzzle php-guzzlehttp-psr7 phpunit
	# C# SDK
	mono-mcs mono-devel nunit-console libnunit-framework2.6.3-cil
	# promtool, for TestPrometheusRulesAndDashboard (docs/prometheus-rules.yml); the test
	# skips that step when it is missing
	prometheus
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "missing Debian packages: ${missing[*]}" >&2
	echo "install them as root: $0" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
