#!/usr/bin/env bash
# provision-chromium.sh: make a headless Chromium available and print its path.
#
# Order of preference:
#   1. $CHROMIUM, when it names an executable file;
#   2. `chromium`, `chromium-browser` or `google-chrome` on PATH;
#   3. Debian's `chromium` package, installed with apt-get (through sudo when not
#      root), after which /usr/bin/chromium is printed.
#
# Versions: Debian's chromium package is not pinned (its security updates replace old builds).
# The dashboard tests start it with explicit software GL (--enable-unsafe-swiftshader
# --use-angle=swiftshader, see internal/browsertest) and check once per browser that WebGL works,
# so they do not depend on what a build does by default. Known to work:
#   148.0.7778.167-1~deb12u1 (gives no WebGL with --disable-gpu unless SwiftShader is allowed)
#   156.0.8078.114-1~deb12u1 (falls back to SwiftShader by itself)
# The version in use is logged on stderr at every run, and in each browser test's log.
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

# found PATH: log the browser's version and print its path.
found() {
	log "using $("$1" --version 2>/dev/null | head -n 1 || echo "an unknown version") ($1)"
	printf '%s\n' "$1"
	exit 0
}

if [ -n "${CHROMIUM:-}" ]; then
	if [ -f "$CHROMIUM" ] && [ -x "$CHROMIUM" ]; then
		found "$CHROMIUM"
	fi
	die "CHROMIUM=$CHROMIUM is not an executable file; unset it or point it at a Chromium binary"
fi

for name in chromium chromium-browser google-chrome; do
	if path=$(command -v "$name" 2>/dev/null) && [ -x "$path" ]; then
		found "$path"
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
log "installed the chromium package $(dpkg-query -W -f='${Version}' chromium 2>/dev/null || true)"
found "$chromium"
