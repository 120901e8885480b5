#!/usr/bin/env bash
# fetch-plotlyjs.sh: put plotly.js (npm package plotly.js-dist-min, pinned) where the plotlyhtml
# exporter embeds it: exporter/plotlyhtmlexporter/internal/plotlyjs/dist/{plotly.min.js,LICENSE}.
# The package tarball is checked against a pinned SHA-256, so a changed or corrupted download fails
# the build. Nothing here is committed to git.
#   PLOTLYJS_CACHE  where the tarball is kept between runs (default ~/.cache/otelcol-llt/npm)
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.1.2
# sha256sum of plotly.js-dist-min-4.1.2.tgz as `npm pack` writes it (the registry's published
# sha512 integrity for it is sha512-VSmS9KVN...PoQ==, the same bytes).
SHA256=4d4a67f627e33fa3b5296134210d5ba51e5312d7d287436fcc29eb533018e1b8
DEST=exporter/plotlyhtmlexporter/internal/plotlyjs/dist
CACHE="${PLOTLYJS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/otelcol-llt/npm}"
TGZ="$CACHE/plotly.js-dist-min-$VERSION.tgz"

if [ -f "$DEST/plotly.min.js" ] && head -c 64 "$DEST/plotly.min.js" | grep -q "plotly.js v$VERSION"; then
	exit 0
fi
command -v npm >/dev/null || { echo "fetch-plotlyjs: npm is needed to fetch plotly.js-dist-min@$VERSION" >&2; exit 1; }

sum() { sha256sum "$1" | cut -d' ' -f1; }
if [ ! -f "$TGZ" ] || [ "$(sum "$TGZ")" != "$SHA256" ]; then
	mkdir -p "$CACHE"
	rm -f "$TGZ"
	(cd "$CACHE" && npm pack --silent "plotly.js-dist-min@$VERSION" >/dev/null)
fi
got="$(sum "$TGZ")"
if [ "$got" != "$SHA256" ]; then
	echo "fetch-plotlyjs: $TGZ has sha256 $got, want $SHA256" >&2
	exit 1
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$TGZ" -C "$tmp" package/plotly.min.js package/LICENSE
mkdir -p "$DEST"
cp "$tmp/package/LICENSE" "$DEST/LICENSE"
cp "$tmp/package/plotly.min.js" "$DEST/plotly.min.js.tmp"
mv "$DEST/plotly.min.js.tmp" "$DEST/plotly.min.js"
echo "fetch-plotlyjs: plotly.js $VERSION -> $DEST" >&2
