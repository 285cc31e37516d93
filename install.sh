#!/bin/sh
# Install OctoStore (octostore-lock, octostore, octostore-bench) from a release:
#
#   curl -fsSL https://github.com/octostore/octostore/releases/latest/download/install.sh | sh
#
# It picks the archive for this OS and CPU, downloads it with SHA256SUMS, checks the
# archive's SHA-256 against it (and refuses to install anything on a mismatch), and puts
# the binaries in OCTOSTORE_INSTALL_DIR: /usr/local/bin when run as root, ~/.local/bin
# otherwise.
#
# Settings (environment):
#   OCTOSTORE_VERSION       a release such as 0.2.0 (default: the latest release)
#   OCTOSTORE_DOWNLOAD_URL  where the archives and SHA256SUMS are (default: the project's
#                           GitHub releases, the latest or OCTOSTORE_VERSION's)
#   OCTOSTORE_INSTALL_DIR   where the binaries go
#   OCTOSTORE_OS / OCTOSTORE_ARCH  override what uname says (linux|darwin, amd64|arm64)
set -eu

project="https://github.com/octostore/octostore"

say() { printf '%s\n' "$*"; }
fail() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

detect_os() {
	case "$(uname -s)" in
	Linux) echo linux ;;
	Darwin) echo darwin ;;
	MINGW* | MSYS* | CYGWIN* | Windows_NT) fail "on Windows, download octostore_*_windows_amd64.zip from $project/releases and check it against SHA256SUMS" ;;
	*) fail "no release for this OS ($(uname -s)): build from source with Go (go install $project/cmd/...@latest)" ;;
	esac
}

detect_arch() {
	case "$(uname -m)" in
	x86_64 | amd64) echo amd64 ;;
	aarch64 | arm64) echo arm64 ;;
	*) fail "no release for this CPU ($(uname -m)): build from source with Go" ;;
	esac
}

# fetch URL FILE: download URL to FILE, failing on an HTTP error.
fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --proto '=https,http' --retry 2 -o "$2" "$1" || fail "download failed: $1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -O "$2" "$1" || fail "download failed: $1"
	else
		fail "needs curl or wget"
	fi
}

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d ' ' -f 1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d ' ' -f 1
	else
		fail "needs sha256sum or shasum to check the download"
	fi
}

os="${OCTOSTORE_OS:-$(detect_os)}"
arch="${OCTOSTORE_ARCH:-$(detect_arch)}"
version="${OCTOSTORE_VERSION:-}"
version="${version#v}"
if [ -n "${OCTOSTORE_DOWNLOAD_URL:-}" ]; then
	base="${OCTOSTORE_DOWNLOAD_URL%/}"
elif [ -n "$version" ]; then
	base="$project/releases/download/v$version"
else
	base="$project/releases/latest/download"
fi
if [ -n "${OCTOSTORE_INSTALL_DIR:-}" ]; then
	dir="$OCTOSTORE_INSTALL_DIR"
elif [ "$(id -u)" = 0 ]; then
	dir=/usr/local/bin
else
	[ -n "${HOME:-}" ] || fail "HOME is not set: set OCTOSTORE_INSTALL_DIR"
	dir="$HOME/.local/bin"
fi

tmp="$(mktemp -d 2>/dev/null || mktemp -d -t octostore)"
trap 'rm -rf "$tmp"' EXIT INT TERM

say "Looking for OctoStore ${version:-(latest)} for $os/$arch at $base"
fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS"
# SHA256SUMS lines are "<sha256>  <file>"; the archive is octostore_<version>_<os>_<arch>.tar.gz.
line="$(grep -E "^[0-9a-f]{64}  octostore_[0-9A-Za-z.+-]+_${os}_${arch}\.tar\.gz\$" "$tmp/SHA256SUMS" | head -n 1 || true)"
[ -n "$line" ] || fail "SHA256SUMS at $base lists no archive for $os/$arch"
want="${line%% *}"
archive="${line##* }"
if [ -n "$version" ] && [ "$archive" != "octostore_${version}_${os}_${arch}.tar.gz" ]; then
	fail "SHA256SUMS at $base is not version $version's (it lists $archive)"
fi

fetch "$base/$archive" "$tmp/$archive"
got="$(sha256 "$tmp/$archive")"
if [ "$got" != "$want" ]; then
	fail "checksum mismatch for $archive: SHA256SUMS says $want, the download is $got. Nothing was installed."
fi
say "Checked $archive (sha256 $got)"

mkdir "$tmp/x"
tar -xzf "$tmp/$archive" -C "$tmp/x"
bins="octostore-lock octostore octostore-bench"
for b in $bins; do
	[ -f "$tmp/x/$b" ] || fail "$archive has no $b"
done
mkdir -p "$dir" || fail "cannot create $dir (set OCTOSTORE_INSTALL_DIR, or run as root for /usr/local/bin)"
# Each binary is copied beside its final name and renamed over it, so a running server
# keeps its file and nothing is left half-written.
for b in $bins; do
	cp "$tmp/x/$b" "$dir/.$b.new" || fail "cannot write to $dir (set OCTOSTORE_INSTALL_DIR, or run as root for /usr/local/bin)"
	chmod 0755 "$dir/.$b.new"
	mv -f "$dir/.$b.new" "$dir/$b"
done

say "Installed $("$dir/octostore-lock" --version 2>/dev/null || echo "octostore-lock") into $dir:"
for b in $bins; do say "  $dir/$b"; done
case ":${PATH:-}:" in
*":$dir:"*) run="octostore-lock" ;;
*)
	run="$dir/octostore-lock"
	say ""
	say "$dir is not on your PATH; add it, e.g.: export PATH=\"$dir:\$PATH\""
	;;
esac
say ""
say "Next steps:"
say "  $run                # start a server on 127.0.0.1:3000 (data in ./octostore.db);"
say "                      # the first start prints: export OCTOSTORE_TOKEN=..."
say "  curl -X POST http://127.0.0.1:3000/locks/my-service/acquire \\"
say "    -H \"Authorization: Bearer \$OCTOSTORE_TOKEN\" -d '{\"ttl_seconds\": 60}'"
say "  $run --help         # every setting; production: TLS, systemd and container in"
say "                      # $project#install-from-a-release"
