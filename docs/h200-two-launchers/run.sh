#!/bin/bash
# Two launchers on GPU 0 of the H200 machine: build a CUDA llama-server (reused while warm),
# generate two models, run otelcol-llt with out/gpu/two.yaml, send requests through both gateways,
# and sample nvidia-smi's per-process memory beside the nvml receiver.
set -u
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
# out/gpu holds this folder's two files plus llama.tgz and otelcol-llt.xz (carried); out/gpubuild the build.
G=$PWD/out/gpu; B=$PWD/out/gpubuild; mkdir -p "$B/ll" "$OUT"
t0=$(date +%s)
if [ ! -x "$B/ll/build/bin/llama-server" ]; then
  tar xzf "$G/llama.tgz" -C "$B/ll"
  cmake -S "$B/ll" -B "$B/ll/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DBUILD_SHARED_LIBS=OFF \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAMA_BUILD_UI=OFF -DLLAMA_BUILD_WEBUI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_USE_PREBUILT_WEBUI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >"$OUT/cmake.log" 2>&1
  cmake --build "$B/ll/build" -j16 --target llama-server >>"$OUT/cmake.log" 2>&1 || { tail -30 "$OUT/cmake.log"; exit 1; }
fi
echo "build done after $(( $(date +%s) - t0 )) s"
export LLS="$B/ll/build/bin/llama-server" MODELS="$B"
[ -f "$B/big.gguf" ] || bin/lltmodel generate -embd 2048 -ff 5632 -blocks 16 -heads 16 -type f16 -name big -o "$B/big.gguf"
[ -f "$B/small.gguf" ] || bin/lltmodel generate -embd 1024 -ff 2816 -blocks 8 -heads 8 -type f16 -name small -o "$B/small.gguf"
[ -x "$B/otelcol-llt" ] || xz -dc "$G/otelcol-llt.xz" > "$B/otelcol-llt" && chmod +x "$B/otelcol-llt"
nvidia-smi --query-gpu=index,name,memory.used --format=csv > "$OUT/gpu.csv"
"$B/otelcol-llt" --config "$G/two.yaml" > "$OUT/collector.log" 2>&1 &
CPID=$!
python3 - <<'PY'
import json, time, urllib.request, urllib.error, concurrent.futures as cf
def ok(p):
    try: return urllib.request.urlopen(f"http://127.0.0.1:{p}/health", timeout=2).status == 200
    except Exception: return False
t = time.time()
while not (ok(8081) and ok(8082)) and time.time() - t < 240: time.sleep(0.5)
print("both gateways answer after %.1f s" % (time.time() - t), flush=True)
def chat(p):
    # the generated models' byte tokens (0-258) are banned: random bytes make invalid UTF-8, which llama-server refuses (500)
    body = json.dumps({"prompt": "Say something long.", "max_tokens": 64, "ignore_eos": True, "logit_bias": [[i, False] for i in range(259)]}).encode()
    try:
        r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{p}/v1/completions", body, {"Content-Type": "application/json"}), timeout=60)
        return p, r.status, json.load(r)["usage"]["completion_tokens"]
    except urllib.error.HTTPError as e:
        return p, e.code, 0
with cf.ThreadPoolExecutor(4) as ex:
    res = list(ex.map(chat, [8081, 8082] * 10))
print("requests ok per gateway", {p: sum(1 for q, s, _ in res if q == p and s == 200) for p in (8081, 8082)},
      "tokens", {p: sum(n for q, s, n in res if q == p) for p in (8081, 8082)}, flush=True)
PY
for i in 1 2 3 4 5; do
  date +%s.%N >> "$OUT/apps.csv"
  nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv,noheader,nounits >> "$OUT/apps.csv"
  sleep 1
done
ps -eo pid,ppid,args | grep -v grep | grep llama-server > "$OUT/ps.txt"
sleep 2
kill -INT $CPID; wait $CPID; echo "collector exit $?"
gzip -f "$OUT/telemetry.jsonl"
tail -5 "$OUT/collector.log"
ls -la "$OUT"
