#!/usr/bin/env bash
# Runs openapi-generator-cli at the version pinned here, as a jar from the local Maven
# repository; the first run fetches it from Maven Central with mvn. Used by the Ruby and
# PHP SDKs' generate.sh.
set -euo pipefail
VERSION=7.25.0
repo="${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}"
jar="$repo/org/openapitools/openapi-generator-cli/$VERSION/openapi-generator-cli-$VERSION.jar"
if [ ! -f "$jar" ]; then
	mvn -q -B dependency:get -Dmaven.repo.local="$repo" \
		-Dartifact="org.openapitools:openapi-generator-cli:$VERSION" -Dtransitive=false >&2
fi
exec java -jar "$jar" "$@"
