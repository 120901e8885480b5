#!/usr/bin/env bash
# provision-llama-server.sh: make a real, working llama-server available and print its path.
#
# Order of preference:
#   1. $LLAMA_SERVER, when it names a working binary;
#   2. `llama-server` on PATH;
#   3. a cached Debian "forky" root (llama.cpp-tools) built with debootstrap in
#      ${LLT_CACHE_DIR:-$HOME/.cache/otelcol-llt}, with the best ggml CPU backend for this
#      processor. Its llama-server is copied with patchelf so that forky's own loader is its
#      interpreter: it runs as a plain executable (no chroot), named llama-server, and in router
#      mode it can start itself again (/proc/self/exe) for each model.
#
# The script never hard-codes a package mirror: it reads the machine's own apt sources.
# It is idempotent: once the cache exists it only checks the wrapper and prints its path.
# Everything but the final path goes to stderr, so `LLAMA_SERVER=$(scripts/provision-llama-server.sh)` works.
set -euo pipefail

log() { printf 'provision-llama-server: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

works() { # works BINARY: true when BINARY --version exits 0
	[ -n "$1" ] && [ -x "$1" ] && "$1" --version >/dev/null 2>&1
}

# found BINARY: log its version (llama.cpp prints "version: N (commit)" on stderr) and print its path.
# The forky package is not pinned (forky is Debian testing); the versions known to work are listed
# in the README ("Where llama-server comes from"), and the one in use shows in every run's log.
found() {
	log "using llama-server $("$1" --version 2>&1 | grep -m1 '^version:' || echo '(version unknown)') ($1)"
	printf '%s\n' "$1"
	exit 0
}

if [ -n "${LLAMA_SERVER:-}" ]; then
	if works "$LLAMA_SERVER"; then
		found "$LLAMA_SERVER"
	fi
	die "LLAMA_SERVER=$LLAMA_SERVER is not a working llama-server (\`--version\` failed)"
fi
if onpath=$(command -v llama-server 2>/dev/null) && works "$onpath"; then
	found "$onpath"
fi

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] ||
	die "no llama-server on PATH and the forky fallback supports only Linux x86_64; set LLAMA_SERVER"

cache="${LLT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/otelcol-llt}"
root="$cache/forky"
wrapper="$cache/bin/llama-server"
mkdir -p "$cache"

# Serialise concurrent runs (parallel test packages may call this at once).
exec 9>"$cache/.provision.lock"
flock 9

# wrapperVersion marks the wrapper's form; an older form is written again (the first one ran
# llama-server through the loader, which router mode cannot start again).
wrapperVersion="# otelcol-llt wrapper 2"
if works "$wrapper" && grep -qxF "$wrapperVersion" "$wrapper"; then
	found "$wrapper"
fi

# apt_mirror prints the first non-security Debian URI of the machine's own apt sources.
apt_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		uri=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' "$f")
		[ -n "$uri" ] && { printf '%s\n' "$uri"; return 0; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { if ($i !~ /security/) print $i; break } }' "$f" | head -n 1)
		[ -n "$uri" ] && { printf '%s\n' "$uri"; return 0; }
	done
	return 1
}

if [ ! -x "$root/usr/bin/llama-server" ]; then
	if ! command -v debootstrap >/dev/null 2>&1; then
		log "installing debootstrap with apt-get"
		[ "$(id -u)" = 0 ] || die "debootstrap is missing and installing it needs root"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q debootstrap >&2 || { apt-get update -q >&2 && apt-get install -y -q debootstrap >&2; }
	fi
	mirror=$(apt_mirror) || die "cannot find a Debian mirror in the machine's apt sources"
	script=/usr/share/debootstrap/scripts/forky
	[ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid # bookworm's debootstrap has no forky script
	tmp="$cache/forky.tmp"
	rm -rf "$tmp"
	log "building a Debian forky root with llama.cpp-tools in $root (about a minute)"
	debootstrap --variant=minbase --include=llama.cpp-tools forky "$tmp" "$mirror" "$script" >&2 ||
		die "debootstrap failed (see above); nothing was kept"
	rm -rf "$root"
	mv "$tmp" "$root"
fi

# best_variant prints the best ggml CPU backend this processor runs, from /proc/cpuinfo flags.
# Requirements follow ggml's GGML_CPU_ALL_VARIANTS list (ggml/src/CMakeLists.txt).
best_variant() {
	local flags have v req ok
	flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
	have() { case "$flags" in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
	while read -r v req; do
		ok=1
		for f in $req; do have "$f" || { ok=0; break; }; done
		if [ "$ok" = 1 ] && [ -e "$root/usr/lib/x86_64-linux-gnu/ggml/backends0/libggml-cpu-$v.so" ]; then
			printf '%s\n' "$v"
			return 0
		fi
	done <<-'LIST'
		sapphirerapids avx2 fma f16c bmi2 avx512f avx512vbmi avx512_vnni avx512_bf16 amx_tile amx_int8
		zen4 avx2 fma f16c bmi2 avx512f avx512vbmi avx512_vnni avx512_bf16
		cooperlake avx2 fma f16c bmi2 avx512f avx512_vnni avx512_bf16
		icelake avx2 fma f16c bmi2 avx512f avx512vbmi avx512_vnni
		cascadelake avx2 fma f16c bmi2 avx512f avx512_vnni
		cannonlake avx2 fma f16c bmi2 avx512f avx512vbmi
		skylakex avx2 fma f16c bmi2 avx512f
		alderlake avx2 fma f16c bmi2 avx_vnni
		haswell avx2 fma f16c bmi2
		piledriver avx fma f16c sse4_2
		ivybridge avx f16c sse4_2
		sandybridge avx sse4_2
		sse42 sse4_2
		x64
	LIST
	return 1
}

# native: forky's llama-server with forky's loader as its ELF interpreter, so that the kernel runs
# it (and router mode's /proc/self/exe) directly. patchelf comes from the machine's apt.
native="$cache/bin/native/llama-server"
if [ ! -x "$native" ] || [ "$native" -ot "$root/usr/bin/llama-server" ]; then
	if ! command -v patchelf >/dev/null 2>&1; then
		log "installing patchelf with apt-get"
		[ "$(id -u)" = 0 ] || die "patchelf is missing and installing it needs root"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q patchelf >&2 || { apt-get update -q >&2 && apt-get install -y -q patchelf >&2; }
	fi
	mkdir -p "$cache/bin/native"
	patchelf --set-interpreter "$root/lib64/ld-linux-x86-64.so.2" --output "$native.tmp" "$root/usr/bin/llama-server" >&2 ||
		die "patchelf failed (see above)"
	mv "$native.tmp" "$native"
fi

write_wrapper() { # write_wrapper VARIANT
	local lib="$root/usr/lib/x86_64-linux-gnu"
	mkdir -p "$cache/bin"
	cat >"$wrapper.tmp" <<-WRAP
		#!/bin/sh
		$wrapperVersion
		# Generated by scripts/provision-llama-server.sh: Debian forky's llama-server (its interpreter set to
		# forky's loader, no chroot) with forky's libraries and the ggml CPU backend "$1". The variables reach
		# only llama-server and the copies of itself it starts in router mode. exec keeps the PID, so
		# signals reach it.
		GGML_BACKEND_PATH="$lib/ggml/backends0/libggml-cpu-$1.so"
		LD_LIBRARY_PATH="$lib/llama:$lib:$root/lib/x86_64-linux-gnu"
		export GGML_BACKEND_PATH LD_LIBRARY_PATH
		exec "$native" "\$@"
	WRAP
	chmod 0755 "$wrapper.tmp"
	mv "$wrapper.tmp" "$wrapper"
}

variant=$(best_variant) || die "no ggml CPU backend found under $root"
write_wrapper "$variant"
if ! works "$wrapper" && [ "$variant" != x64 ]; then
	log "backend $variant does not start here; falling back to x64"
	variant=x64
	write_wrapper x64
fi
works "$wrapper" || die "$wrapper does not start (\`--version\` failed)"
log "llama-server ready (ggml CPU backend: $variant, forky llama.cpp-tools $(cat "$root/var/lib/dpkg/status" 2>/dev/null | awk '/^Package: llama.cpp-tools$/ {p=1} p && /^Version:/ {print $2; exit}'))"
found "$wrapper"
