#!/usr/bin/env bash
# provision-chromium.sh: make a headless Chromium available and print its path.
#
# Order of preference:
#   1. $CHROMIUM, when it names an executable file;
#   2. `chromium`, `chromium-browser` or `google-chrome` on PATH;
#   3. Debian's `chromium` package, installed with apt-get (through sudo when not
#      root), after which /usr/bin/chromium is printed.
#
# The script never hard-codes a package mirror: apt-get uses the machine's own sources.
# Only the final path goes to stdout, so `CHROMIUM=$(scripts/provision-chromium.sh)` works;
# every message goes to stderr.
set -euo pipefail

log() { printf 'provision-chromium: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

if [ -n "${CHROMIUM:-}" ]; then
	if [ -f "$CHROMIUM" ] && [ -x "$CHROMIUM" ]; then
		printf '%s\n' "$CHROMIUM"
		exit 0
	fi
	die "CHROMIUM=$CHROMIUM is not an executable file; unset it or point it at a Chromium binary"
fi

for name in chromium chromium-browser google-chrome; do
	if found=$(command -v "$name" 2>/dev/null) && [ -x "$found" ]; then
		printf '%s\n' "$found"
		exit 0
	fi
done

log "no Chromium found (\$CHROMIUM unset; chromium, chromium-browser, google-chrome not on PATH); installing Debian's chromium package"

command -v apt-get >/dev/null 2>&1 ||
	die "apt-get is not available; install Chromium by hand and set CHROMIUM=/path/to/chromium"

as_root=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		as_root=(sudo)
	else
		die "not root and sudo is not available; install the chromium package as root or set CHROMIUM"
	fi
fi

export DEBIAN_FRONTEND=noninteractive

apt_install() {
	# stdout of apt-get goes to stderr: stdout is reserved for the path.
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends chromium >&2
}

if ! apt_install; then
	log "apt-get install failed; refreshing the package lists with apt-get update and retrying"
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2 ||
		die "apt-get update failed"
	apt_install || die "apt-get install -y --no-install-recommends chromium failed"
fi

chromium=/usr/bin/chromium
[ -x "$chromium" ] || die "the chromium package was installed but $chromium is not executable"
log "installed $("$chromium" --version 2>/dev/null || echo chromium)"
printf '%s\n' "$chromium"
