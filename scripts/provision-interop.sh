#!/usr/bin/env bash
# provision-interop.sh: install the Node.js interop harness (e2e/interop) from its lock file and
# print the harness folder's path.
#
# It runs `npm ci` in e2e/interop, which installs exactly what package-lock.json pins, from the
# registry that npm's own configuration names (the script names none). It is idempotent: after a
# successful install it writes the lock file's sha256 to node_modules/.lock-stamp, and while that
# stamp matches it does nothing. Concurrent runs are serialised on the lock file.
# Everything but the final path goes to stderr, so `INTEROP_DIR=$(scripts/provision-interop.sh)` works.
set -euo pipefail

log() { printf 'provision-interop: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/e2e/interop"
[ -f "$dir/package-lock.json" ] || die "$dir/package-lock.json is missing"

command -v node >/dev/null 2>&1 ||
	die "node is not on PATH: the interop harness needs Node.js 20 or newer with npm (Debian: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 ||
	die "npm is not on PATH: the interop harness installs its packages with npm (Debian: apt-get install npm)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
	die "node $(node --version) is too old: the interop harness needs Node.js 20 or newer"

cd "$dir"
if command -v flock >/dev/null 2>&1; then
	exec 9<package-lock.json
	flock 9
fi

sha256() { node -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync(process.argv[1])).digest("hex"))' "$1"; }

want="$(sha256 package-lock.json)"
stamp=node_modules/.lock-stamp
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	log "node_modules matches package-lock.json (sha256 $want)"
	printf '%s\n' "$dir"
	exit 0
fi

log "npm ci in $dir (node $(node --version), npm $(npm --version))"
start=$SECONDS
npm ci --no-audit --no-fund >&2 || die "npm ci failed in $dir"
printf '%s\n' "$want" >"$stamp"
log "installed in $((SECONDS - start)) s"
printf '%s\n' "$dir"
