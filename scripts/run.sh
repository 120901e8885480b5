#!/usr/bin/env bash
# run.sh: start otelcol-llt with a real llama-server and a model (what `make run` does).
#   OTELCOL     the collector binary (required)
#   LLTMODEL    the lltmodel binary, used to generate DEMO_MODEL when LLT_MODEL is unset
#   LLT_MODEL   a GGUF model to serve; default: DEMO_MODEL, generated on first use
#   LLT_GPU_DEVICES  gpu.devices for the launcher; default "[0]" when nvidia-smi lists GPU 0, else "[]"
#   RUN_FOR     a duration for timeout(1) (e.g. 30s): stop the collector with SIGINT after it, exit 0
# Arguments are passed to the collector (e.g. --config config.yaml).
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
mkdir -p out
echo "otelcol-llt: llama-server=$LLAMA_SERVER model=$LLT_MODEL gpu.devices=$LLT_GPU_DEVICES${RUN_FOR:+ (stops after $RUN_FOR)}" >&2

if [ -n "${RUN_FOR:-}" ]; then
	# SIGINT makes the collector shut down gracefully and exit 0; --preserve-status returns that.
	exec timeout --preserve-status --signal=INT --kill-after=30s "$RUN_FOR" "$OTELCOL" "$@"
fi
exec "$OTELCOL" "$@"
