#!/usr/bin/env bash
# run.sh: start otelcol-llt with a real llama-server and a model (what `make run` does), and
# optionally a load generator that sends requests through the collector's gateway.
#   OTELCOL     the collector binary (required)
#   LLTMODEL    the lltmodel binary, used to generate DEMO_MODEL when LLT_MODEL is unset
#   LLT_MODEL   a GGUF model to serve; default: DEMO_MODEL, generated on first use
#   LLT_GPU_DEVICES  gpu.devices for the launcher; default "[0]" when nvidia-smi lists GPU 0, else "[]"
#   RUN_FOR     a duration for timeout(1) (e.g. 30s): stop the collector with SIGINT after it, exit 0
#   LLTLOAD     the lltload binary; when set (and LOAD_QPS is not 0), lltload runs beside the
#               collector once LOAD_URL/health answers (polled for up to 120 s), until the
#               collector exits; it is then stopped with SIGINT and prints its summary
#   LOAD_QPS    requests per second that lltload sends (--qps); default 2, 0 disables it
#   LOAD_URL    where lltload sends them; default http://127.0.0.1:8081, the gateway of config.yaml
# Arguments are passed to the collector (e.g. --config config.yaml).
# The exit status is the collector's. Ctrl-C (SIGINT) or SIGTERM stops the collector, then lltload.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${OTELCOL:?OTELCOL must name the otelcol-llt binary}"
LLAMA_SERVER="$(scripts/provision-llama-server.sh)"
export LLAMA_SERVER
if [ -z "${LLT_MODEL:-}" ]; then
	: "${DEMO_MODEL:?DEMO_MODEL or LLT_MODEL must be set}"
	if [ ! -f "$DEMO_MODEL" ]; then
		mkdir -p "$(dirname "$DEMO_MODEL")"
		"${LLTMODEL:?LLTMODEL must name the lltmodel binary}" generate -o "$DEMO_MODEL" >&2
	fi
	LLT_MODEL="$DEMO_MODEL"
fi
export LLT_MODEL
if [ -z "${LLT_GPU_DEVICES:-}" ]; then
	# GPU 0 when an NVIDIA driver sees one; else CPU only.
	if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU 0'; then
		LLT_GPU_DEVICES='[0]'
	else
		LLT_GPU_DEVICES='[]'
	fi
fi
export LLT_GPU_DEVICES
LOAD_QPS="${LOAD_QPS:-2}"
LOAD_URL="${LOAD_URL:-http://127.0.0.1:8081}"
LLTLOAD="${LLTLOAD:-}"
if [ -n "$LLTLOAD" ] && [ ! -x "$LLTLOAD" ]; then
	echo "run.sh: LLTLOAD=$LLTLOAD is not an executable; no load is generated" >&2
	LLTLOAD=""
fi
mkdir -p out
echo "otelcol-llt: llama-server=$LLAMA_SERVER model=$LLT_MODEL gpu.devices=$LLT_GPU_DEVICES${RUN_FOR:+ (stops after $RUN_FOR)}" >&2

# The collector runs in the background so that the script can start lltload beside it, pass
# signals on, and stop lltload after it. The signals are trapped before anything starts.
collector_pid=""
load_pid=""
forward() { # forward SIGNAL: pass a signal to the collector (or to timeout, which passes it on)
	if [ -n "$collector_pid" ]; then
		kill -s "$1" "$collector_pid" 2>/dev/null || true
	fi
}
trap 'forward INT' INT
trap 'forward TERM' TERM

if [ -n "${RUN_FOR:-}" ]; then
	# SIGINT makes the collector shut down gracefully and exit 0; --preserve-status returns that.
	timeout --preserve-status --signal=INT --kill-after=30s "$RUN_FOR" "$OTELCOL" "$@" &
else
	"$OTELCOL" "$@" &
fi
collector_pid=$!

healthy() { # healthy URL: true when GET URL/health answers 200
	if command -v curl >/dev/null 2>&1; then
		curl -fsS -o /dev/null --max-time 2 "$1/health" 2>/dev/null
		return
	fi
	local hostport=${1#http://} line=""
	hostport=${hostport%%/*}
	{ printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' "$hostport" >&3 && IFS= read -r -t 2 line <&3; } \
		2>/dev/null 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}" || true
	[[ $line == "HTTP/1."?" 200"* ]]
}

if [ -n "$LLTLOAD" ] && [ "$LOAD_QPS" != 0 ]; then
	(
		# A background subshell starts with SIGINT ignored; a trap makes it stop on SIGINT.
		trap 'exit 0' INT TERM
		for ((i = 0; i < 120; i++)); do
			kill -0 "$collector_pid" 2>/dev/null || exit 0
			if healthy "$LOAD_URL"; then
				echo "run.sh: $LOAD_URL answers; starting $LLTLOAD --url $LOAD_URL --qps $LOAD_QPS" >&2
				exec "$LLTLOAD" --url "$LOAD_URL" --qps "$LOAD_QPS"
			fi
			sleep 1
		done
		echo "run.sh: $LOAD_URL/health did not answer 200 within 120 s; no load is generated" >&2
	) &
	load_pid=$!
fi

# wait returns early (above 128) when a trapped signal arrives: wait again until the collector
# has exited, then once more for its exit status.
while kill -0 "$collector_pid" 2>/dev/null; do
	wait "$collector_pid" || true
done
status=0
wait "$collector_pid" || status=$?

if [ -n "$load_pid" ]; then
	# lltload waits up to 10 s for its requests in flight, prints its summary and exits.
	kill -INT "$load_pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		kill -0 "$load_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$load_pid" 2>/dev/null; then
		echo "run.sh: lltload still runs 15 s after SIGINT; sending SIGTERM" >&2
		kill -TERM "$load_pid" 2>/dev/null || true
	fi
	wait "$load_pid" || true
fi
exit "$status"
