#!/usr/bin/env bash
# bench-e2e.sh: the end-to-end benchmark (`make bench-e2e`). It starts the real otelcol-llt with the
# default pipeline (config.yaml, no load generator) and its launcher's llama-server, then runs
# lltbench against that llama-server directly and through the gateway: interleaved rounds with an
# A/A control, for short and 128-token answers at concurrency 1, 4 and 16, and for streams. The
# collector's CPU per request and per span and its RSS come from /proc and its own metrics.
#   OTELCOL     the collector binary (required)       LLTBENCH  the lltbench binary (required)
#   LLT_MODEL   the model; default DEMO_MODEL (generated with LLTMODEL when absent)
#   BENCH_OUT   where the report and the run's files go; default out/bench-e2e
#   BENCH_THREADS  llama-server --threads (default 1: the collector's CPU is not taken from inference)
#   BENCH_CONC  concurrencies (default 1,4,16)      BENCH_ROUND  round length (default 4s)
#   BENCH_ROUNDS  gateway rounds per concurrency (default 4)  BENCH_SUITES  default "short long stream"
#   BENCH_SUITES=rss  the memory curve instead: lltload sends BENCH_RSS_QPS (10) requests a second
#               through the gateway for BENCH_RSS_FOR (10m), and the collector's VmRSS is sampled
#               every 10 s into BENCH_OUT/rss.csv (needs LLTLOAD, the lltload binary)
#   BENCH_PPROF=1 adds the pprof extension on 127.0.0.1:1777 and writes a 30 s CPU profile of the
#               128-token suite to BENCH_OUT/cpu.pprof
# The report is BENCH_OUT/report.md (markdown, with the date and the machine); it is also printed.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${OTELCOL:?OTELCOL must name the otelcol-llt binary}"
: "${LLTBENCH:?LLTBENCH must name the lltbench binary}"
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
export LLT_MODEL LLT_GPU_DEVICES="${LLT_GPU_DEVICES:-[]}"
BENCH_OUT="${BENCH_OUT:-out/bench-e2e}"
BENCH_OUT="$(mkdir -p "$BENCH_OUT" && cd "$BENCH_OUT" && pwd)"
rm -rf "${BENCH_OUT:?}"/*
conc="${BENCH_CONC:-1,4,16}"
round="${BENCH_ROUND:-4s}"
rounds="${BENCH_ROUNDS:-4}"
suites="${BENCH_SUITES:-short long stream}"
profiler=""

# The default config with the outputs moved into BENCH_OUT, llama-server on BENCH_THREADS threads
# and, with BENCH_PPROF=1, the pprof extension. Nothing else changes.
overlay="$BENCH_OUT/overlay.yaml"
{
	echo "extensions:"
	echo "  llamalauncher: {threads: ${BENCH_THREADS:-1}}"
	if [ "${BENCH_PPROF:-0}" = 1 ]; then
		echo "  pprof: {endpoint: 127.0.0.1:1777}"
	fi
	echo "exporters:"
	echo "  file: {path: $BENCH_OUT/telemetry.jsonl}"
	echo "  graphistry: {file: {path: $BENCH_OUT/graphs}}"
	echo "  plotlyhtml: {path: $BENCH_OUT/dashboard.html}"
	if [ "${BENCH_PPROF:-0}" = 1 ]; then
		echo "service:"
		echo "  extensions: [llamalauncher, health_check, zpages, pprof]"
	fi
} > "$overlay"

"$OTELCOL" --config config.yaml --config "$overlay" > "$BENCH_OUT/collector.log" 2>&1 &
collector_pid=$!
trap 'kill -INT $collector_pid 2>/dev/null || true; wait $collector_pid 2>/dev/null || true' EXIT

common=(--direct http://127.0.0.1:8080 --gateway http://127.0.0.1:8081 --collector-pid "$collector_pid"
	--collector-metrics http://127.0.0.1:8888/metrics --ban-tokens 0-258 --concurrency "$conc"
	--round-duration "$round" --rounds "$rounds" --pause 300ms)
"$LLTBENCH" --wait 120s --concurrency 1 --rounds 3 --round-requests 2 --warmup 0 \
	--direct http://127.0.0.1:8080 --gateway http://127.0.0.1:8081 --ban-tokens 0-258 --max-tokens 8 \
	> /dev/null 2> "$BENCH_OUT/smoke.log" || { cat "$BENCH_OUT/smoke.log" >&2; tail -40 "$BENCH_OUT/collector.log" >&2; exit 1; }

report="$BENCH_OUT/report.md"
{
	echo "# otelcol-llt end-to-end benchmark"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
	echo "- llama-server: $("$LLAMA_SERVER" --version 2>&1 | grep -m1 version), --threads ${BENCH_THREADS:-1}; model $(basename "$LLT_MODEL")"
	echo "- collector: otelcol-llt with config.yaml (gateway with content capture, genaienrich with embeddings and correlation, batch, debug, file, plotlyhtml, graphistry; llamacpp and nvml scrapers every second)"
	echo
} > "$report"
rss_curve() { # the collector's VmRSS every 10 s under lltload's open-loop load
	: "${LLTLOAD:?LLTLOAD must name the lltload binary}"
	local dur="${BENCH_RSS_FOR:-10m}" qps="${BENCH_RSS_QPS:-10}"
	echo "bench-e2e.sh: rss: $qps requests/s for $dur" >&2
	"$LLTLOAD" --url http://127.0.0.1:8081 --qps "$qps" --duration "$dur" --json > "$BENCH_OUT/rss-load.json" 2> "$BENCH_OUT/rss-load.log" &
	local load=$! t0=$SECONDS
	echo "elapsed_s,rss_mib,rss_anon_mib,hwm_mib,cpu_s" > "$BENCH_OUT/rss.csv"
	while kill -0 "$load" 2>/dev/null; do
		awk -v t=$((SECONDS - t0)) -v cpu="$(awk '{print ($14+$15)/100}' /proc/$collector_pid/stat)" \
			'/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} /^VmHWM/ {h=$2} END {printf "%d,%.1f,%.1f,%.1f,%s\n", t, r/1024, a/1024, h/1024, cpu}' \
			/proc/$collector_pid/status >> "$BENCH_OUT/rss.csv"
		sleep 10
	done
	wait "$load" || true
	{
		echo "## memory under steady load"
		echo
		echo "lltload: $qps requests/s (Poisson arrivals, 8-32 tokens, half of them streamed) through the gateway for $dur; VmRSS and RssAnon (VmRSS less the mapped executable) every 10 s (BENCH_OUT/rss.csv)."
		echo
		python3 - "$BENCH_OUT/rss.csv" "$BENCH_OUT/rss-load.json" <<'PY'
import csv, json, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]))]
t = [int(r["elapsed_s"]) for r in rows]; rss = [float(r["rss_mib"]) for r in rows]; anon = [float(r["rss_anon_mib"]) for r in rows]; cpu = [float(r["cpu_s"]) for r in rows]
load = json.load(open(sys.argv[2]))
def at(sec):
    return min(range(len(t)), key=lambda i: abs(t[i] - sec))
print("| minute | RSS MiB, mean / max | anonymous RSS MiB, mean / max |")
print("|---:|---:|---:|")
for m in range(0, (t[-1] // 60) + 1):
    idx = [i for i in range(len(t)) if m * 60 <= t[i] < (m + 1) * 60]
    if idx:
        w, a = [rss[i] for i in idx], [anon[i] for i in idx]
        print(f"| {m} | {sum(w)/len(w):.1f} / {max(w):.1f} | {sum(a)/len(a):.1f} / {max(a):.1f} |")
n = load.get("ok", load.get("succeeded", 0))
print()
print(f"Peak VmHWM {float(rows[-1]['hwm_mib']):.1f} MiB; collector CPU {cpu[-1]-cpu[0]:.1f} s over {t[-1]-t[0]} s; lltload summary: " + json.dumps({k: load[k] for k in list(load)[:8]}))
PY
		echo
	} >> "$report"
}

for s in $suites; do
	if [ "$s" = rss ]; then rss_curve; continue; fi
	case $s in
	short) args=(--max-tokens 8) ;;
	long) args=(--max-tokens 128) ;;
	stream) args=(--max-tokens 200 --stream) ;;
	*) echo "bench-e2e.sh: unknown suite $s" >&2; exit 2 ;;
	esac
	echo "bench-e2e.sh: suite $s" >&2
	if [ "$s" = long ] && [ "${BENCH_PPROF:-0}" = 1 ]; then
		(sleep 10; curl -fsS -o "$BENCH_OUT/cpu.pprof" "http://127.0.0.1:1777/debug/pprof/profile?seconds=30") &
		profiler=$!
	fi
	"$LLTBENCH" "${common[@]}" "${args[@]}" --json "$BENCH_OUT/$s.json" > "$BENCH_OUT/$s.md" 2> "$BENCH_OUT/$s.log"
	sed 's/^## lltbench: .*/## '"$s"' answers/' "$BENCH_OUT/$s.md" >> "$report"
	echo >> "$report"
done
if [ -n "${profiler:-}" ]; then wait "$profiler" || echo "bench-e2e.sh: no CPU profile" >&2; fi
cat "$report"
