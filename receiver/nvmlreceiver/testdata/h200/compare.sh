#!/bin/sh
# compare.sh: check the nvml receiver against nvidia-smi on a real NVIDIA GPU.
#
# Usage: compare.sh OTELCOL_BINARY OUTPUT_DIR
#
# Runs a PyTorch matmul loop on one GPU, and meanwhile, for RUN_SECONDS (30), the collector with
# the nvml receiver (collection_interval 1s) writing to the file exporter, and nvidia-smi sampling
# the same GPU every second. Then compares the medians of memory used, temperature, power and
# utilization, and measures the collector's CPU use. Prints a markdown table (also written to
# OUTPUT_DIR/report.md) and exits 1 if a check fails.
#
# Needs: nvidia-smi, python3 with torch (CUDA), an otelcol-llt built with cgo that includes the
# nvml receiver and the file exporter. Environment: GPU_INDEX (NVML index, default 0),
# RUN_SECONDS (30), LOAD_SECONDS (45), MATMUL_SIZE (8192), LOG_LEVEL (the collector's, info; debug
# shows which NVML queries the GPU does not support).
#
# Thresholds (from the receiver's acceptance criteria): memory used within 1 %, temperature within
# 2 C, power within 10 %, utilization above 50 % under load, collector CPU at most 0.5 % of a core.
set -eu

usage() {
	echo "usage: $0 OTELCOL_BINARY OUTPUT_DIR" >&2
	exit 2
}
[ $# -eq 2 ] || usage
OTELCOL=$1
OUT=$2
GPU_INDEX=${GPU_INDEX:-0}
RUN_SECONDS=${RUN_SECONDS:-30}
LOAD_SECONDS=${LOAD_SECONDS:-45}
MATMUL_SIZE=${MATMUL_SIZE:-8192}
LOG_LEVEL=${LOG_LEVEL:-info}

die() {
	echo "compare.sh: $*" >&2
	exit 1
}
log() { echo "compare.sh: $*" >&2; }

[ -x "$OTELCOL" ] || die "$OTELCOL is not an executable"
command -v nvidia-smi >/dev/null 2>&1 || die "nvidia-smi not found"
command -v python3 >/dev/null 2>&1 || die "python3 not found"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT/metrics.jsonl" "$OUT/nvidia-smi.csv" "$OUT/load-ready" "$OUT/report.md"

LOAD_PID=
COL_PID=
SMI_PID=
cleanup() {
	for p in $SMI_PID $COL_PID $LOAD_PID; do
		kill "$p" 2>/dev/null || true
	done
	for p in $SMI_PID $COL_PID $LOAD_PID; do
		wait "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. The collector's configuration.
cat >"$OUT/config.yaml" <<EOF
receivers:
  nvml:
    collection_interval: 1s
    devices: ["$GPU_INDEX"]
exporters:
  file:
    path: "$OUT/metrics.jsonl"
    format: json
service:
  telemetry:
    logs:
      level: $LOG_LEVEL
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [nvml]
      exporters: [file]
EOF
"$OTELCOL" validate --config "$OUT/config.yaml" || die "the collector rejects $OUT/config.yaml (does it include the nvml receiver?)"

# 2. The GPU load: cuda:0 is NVML's GPU_INDEX once CUDA orders devices by PCI bus id.
log "starting the load on GPU $GPU_INDEX for ${LOAD_SECONDS}s"
CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$GPU_INDEX python3 -c '
import sys, time, torch
ready, seconds, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
assert torch.cuda.is_available(), "CUDA is not available to torch"
a = torch.randn(n, n, device="cuda:0")
b = torch.randn(n, n, device="cuda:0")
c = a @ b
torch.cuda.synchronize()
open(ready, "w").write("ready\n")
end = time.time() + seconds
while time.time() < end:
    for _ in range(8):
        c = a @ b
    torch.cuda.synchronize()
' "$OUT/load-ready" "$LOAD_SECONDS" "$MATMUL_SIZE" >"$OUT/load.log" 2>&1 &
LOAD_PID=$!
i=0
while [ ! -f "$OUT/load-ready" ]; do
	kill -0 "$LOAD_PID" 2>/dev/null || die "the load exited: $(tail -n 5 "$OUT/load.log")"
	i=$((i + 1))
	[ "$i" -le 120 ] || die "the load is not running after 60s"
	sleep 0.5
done
sleep 3 # let clocks and power settle

# 3 and 4. The collector and nvidia-smi, side by side.
log "running the collector and nvidia-smi for ${RUN_SECONDS}s"
nvidia-smi -i "$GPU_INDEX" --query-gpu=timestamp,index,uuid,memory.used,temperature.gpu,power.draw,utilization.gpu \
	--format=csv,noheader,nounits -lms 1000 >"$OUT/nvidia-smi.csv" 2>"$OUT/nvidia-smi.err" &
SMI_PID=$!
"$OTELCOL" --config "$OUT/config.yaml" >"$OUT/collector.log" 2>&1 &
COL_PID=$!
START=$(date +%s.%N)

# 5. CPU time of the collector: /proc/PID/stat utime + stime (fields 14 and 15; counted after the
# ")" that ends the command name, they are the 12th and 13th).
ticks() { sed 's/.*) //' "/proc/$COL_PID/stat" | awk '{ print $12 + $13 }'; }
sleep 5
kill -0 "$COL_PID" 2>/dev/null || die "the collector exited: $(tail -n 20 "$OUT/collector.log")"
T0=$(date +%s.%N)
C0=$(ticks)
sleep $((RUN_SECONDS - 5))
kill -0 "$COL_PID" 2>/dev/null || die "the collector exited: $(tail -n 20 "$OUT/collector.log")"
T1=$(date +%s.%N)
C1=$(ticks)
HZ=$(getconf CLK_TCK)
kill "$SMI_PID" 2>/dev/null || true
kill "$COL_PID"
wait "$COL_PID" || true
wait "$SMI_PID" 2>/dev/null || true
COL_PID=
SMI_PID=
kill -0 "$LOAD_PID" 2>/dev/null || log "warning: the load ended before the collector did (raise LOAD_SECONDS)"

CPU_STEADY=$(awk -v c0="$C0" -v c1="$C1" -v t0="$T0" -v t1="$T1" -v hz="$HZ" 'BEGIN { printf "%.3f", 100 * (c1 - c0) / hz / (t1 - t0) }')
CPU_TOTAL=$(awk -v c1="$C1" -v s="$START" -v t1="$T1" -v hz="$HZ" 'BEGIN { printf "%.3f", 100 * c1 / hz / (t1 - s) }')

# The comparison.
RC=0
python3 - "$OUT/metrics.jsonl" "$OUT/nvidia-smi.csv" "$GPU_INDEX" "$CPU_STEADY" "$CPU_TOTAL" "$RUN_SECONDS" >"$OUT/report.md" <<'PY' || RC=$?
import json, statistics, sys

metrics_path, smi_path, gpu_index, cpu_steady, cpu_total, run_seconds = sys.argv[1:7]
cpu_steady, cpu_total = float(cpu_steady), float(cpu_total)

def attrs(kvs):
    out = {}
    for kv in kvs or []:
        v = kv["value"]
        for k in ("stringValue", "intValue", "doubleValue", "boolValue"):
            if k in v:
                out[kv["key"]] = str(v[k])
    return out

def value(dp):
    return float(dp["asDouble"]) if "asDouble" in dp else float(dp.get("asInt", 0))

ours = {"memory": [], "temperature": [], "power": [], "utilization": []}
uuid = model = ""
with open(metrics_path) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        for rm in json.loads(line).get("resourceMetrics", []):
            res = attrs(rm.get("resource", {}).get("attributes"))
            if res.get("hw.gpu.index") != gpu_index:
                continue
            uuid, model = res.get("hw.id", ""), res.get("hw.model", "")
            for sm in rm.get("scopeMetrics", []):
                for m in sm.get("metrics", []):
                    dps = (m.get("gauge") or m.get("sum") or {}).get("dataPoints", [])
                    for dp in dps:
                        a = attrs(dp.get("attributes"))
                        name = m["name"]
                        if name == "hw.gpu.memory.usage":
                            ours["memory"].append(value(dp) / 1048576)  # MiB, as nvidia-smi
                        elif name == "hw.temperature" and a.get("hw.sensor_location") == "gpu":
                            ours["temperature"].append(value(dp))
                        elif name == "hw.power":
                            ours["power"].append(value(dp))
                        elif name == "hw.gpu.utilization" and a.get("hw.gpu.task") == "general":
                            ours["utilization"].append(100 * value(dp))  # percent, as nvidia-smi

smi = {"memory": [], "temperature": [], "power": [], "utilization": []}
smi_uuid = ""
with open(smi_path) as f:
    for line in f:
        cols = [c.strip() for c in line.split(",")]
        if len(cols) != 7:
            continue
        try:
            mem, temp, power, util = float(cols[3]), float(cols[4]), float(cols[5]), float(cols[6])
        except ValueError:  # [N/A] or a torn line
            continue
        smi_uuid = cols[2]
        smi["memory"].append(mem)
        smi["temperature"].append(temp)
        smi["power"].append(power)
        smi["utilization"].append(util)

def median(xs):
    return statistics.median(xs) if xs else float("nan")

rows, ok = [], True
def check(name, unit, key, rule, passed):
    global ok
    o, s = median(ours[key]), median(smi[key])
    good = bool(ours[key]) and bool(smi[key]) and passed(o, s)
    ok = ok and good
    rows.append(f"| {name} | {o:.2f} {unit} | {s:.2f} {unit} | {len(ours[key])} / {len(smi[key])} | {rule} | {'pass' if good else 'FAIL'} |")

check("memory used", "MiB", "memory", "within 1 %", lambda o, s: abs(o - s) <= 0.01 * s)
check("temperature", "C", "temperature", "within 2 C", lambda o, s: abs(o - s) <= 2)
check("power", "W", "power", "within 10 %", lambda o, s: abs(o - s) <= 0.10 * s)
check("utilization (general)", "%", "utilization", "receiver > 50 %", lambda o, s: o > 50)
cpu_ok = cpu_steady <= 0.5
ok = ok and cpu_ok

print(f"## nvml receiver vs nvidia-smi, GPU {gpu_index} ({model}, {uuid}), {run_seconds} s under a matmul load\n")
if smi_uuid and uuid and smi_uuid != uuid:
    ok = False
    print(f"**GPU mismatch**: nvidia-smi read {smi_uuid}, the receiver {uuid}\n")
print("| signal | receiver (median) | nvidia-smi (median) | samples (receiver / smi) | rule | result |")
print("| --- | --- | --- | --- | --- | --- |")
print("\n".join(rows))
print(f"\nCollector CPU at 1 Hz (steady state, after the first 5 s): **{cpu_steady:.3f} % of a core** "
      f"(whole run including start-up: {cpu_total:.3f} %); rule <= 0.5 %: {'pass' if cpu_ok else 'FAIL'}\n")
print("**PASS**" if ok else "**FAIL**")
sys.exit(0 if ok else 1)
PY
cat "$OUT/report.md"
exit "$RC"
