#!/usr/bin/env bash
# Load benchmark of key verification (docs/performance.md). One run measures, on this machine:
#   (a) baseline: a minimal Kestrel endpoint that parses the same body, hashes the key, looks it up in a dictionary
#   (b) POST /api/v1/keys/verify with valid keys            (a, b and c alternate: A B C A B C)
#   (c) verify with invalid keys (bad checksum)             (never reaches the database)
#   (d) verify of keys with usage credits                   (one atomic UPDATE each)
#   (e) authenticated GET of a key by id
#   (f) cache misses: the first verify of never-seen keys, one connection
#   (f0) the baseline at one connection: the latency floor of this machine for (f)'s p99
#   (g) cache misses timed one request at a time by the latency probe (no coordinated-omission
#       correction: each first verify is one sample), and (g0) the baseline timed the same way
# Servers run on core SERVER_CPU, wrk on WRK_CPU; each server is warmed up WARMUP seconds first.
# Usage: bench/load/run.sh [keys=100000]      env: DURATION=15 WARMUP=30 PRIME=20 HOT=50000 CONNECTIONS=32
N=${1:-${N:-100000}}
WARMUP=${WARMUP:-30}
PRIME=${PRIME:-20}
PORT=${PORT:-5180}
BASE_PORT=${BASE_PORT:-5190}
WORK_PREFIX=gatehouse-load
. "$(dirname "$0")/common.sh"

master=$(head -c 32 /dev/urandom | base64)
root="gkr_load_$(head -c 32 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9' | head -c 40)"
echo "== seed $N keys"
dotnet "$bench_dll" seed "$work/data" "$master" "$root" "$N" "$work"
caller=$(cat "$work/caller.txt")
# The plain keys are split: a hot set (half the keys, at most HOT — the key cache holds 100 000
# records, so a larger hot set would measure cache misses) is verified hot; the rest only by the
# cache-miss run.
HOT=${HOT:-50000}
half=$((N / 2 < HOT ? N / 2 : HOT))
head -n "$half" "$work/keys.txt" > "$work/hot-keys.txt"
# The cold keys are split again: (f) and (g) each see keys nobody has verified.
cold=$(( (N - half) / 2 ))
sed -n "$((half + 1)),$((half + cold))p" "$work/keys.txt" > "$work/cold-keys.txt"
tail -n +"$((half + cold + 1))" "$work/keys.txt" > "$work/cold-probe-keys.txt"

echo "== start servers (core $SERVER_CPU)"
GATEHOUSE_DATA_DIR="$work/data" GATEHOUSE_MASTER_KEY="$master" Logging__LogLevel__Default=Warning \
  taskset -c "$SERVER_CPU" dotnet "$server_dll" --urls "http://127.0.0.1:$PORT" > "$work/server.log" 2>&1 &
server_pid=$!; pids+=("$server_pid")
taskset -c "$SERVER_CPU" dotnet "$bench_dll" baseline-server --urls "http://127.0.0.1:$BASE_PORT" --keys "$work/hot-keys.txt" > "$work/baseline.log" 2>&1 &
pids+=("$!")
for url in "http://127.0.0.1:$PORT/health" ; do
  for _ in $(seq 1 120); do curl -sf "$url" >/dev/null && break; sleep 0.5; done
done
for _ in $(seq 1 120); do grep -q "listening" "$work/baseline.log" && break; sleep 0.5; done

# run <label> <url> <script> <seconds> <connections> [VAR=value …] → prints "rps p50 p99" (latency in ms)
run() {
  local label=$1 url=$2 script=$3 seconds=$4 conns=$5; shift 5
  env "$@" taskset -c "$WRK_CPU" wrk -t1 -c"$conns" -d"${seconds}s" --timeout 5s --latency -s "bench/load/$script" "$url" > "$work/$label.txt" 2>&1
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/$label.txt")
  p50=$(awk '$1=="50%" {print $2}' "$work/$label.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/$label.txt")
  errors=$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+' "$work/$label.txt" | grep -Eo '[0-9]+$' || echo 0)
  echo "$label $rps $(ms "$p50") $(ms "$p99") $errors"
}
# Server-side figures from /metrics, read before and after a run: the request-duration histogram of
# verify (timed inside the server, so without the machine's wake-up and scheduling delays that wrk
# also sees) and the key cache's lookups.
scrape() { curl -sf "http://127.0.0.1:$PORT/metrics" > "$work/$1.metrics"; }
# ASP.NET Core's own request histogram (labels in the exporter's order: scope, method, status, route, …, le).
verify_buckets='^http_server_request_duration_seconds_bucket[{].*http_request_method="POST",http_response_status_code="200",http_route="/api/v1/keys/verify",.*le="'
# server_p99 <label>: the upper bound (ms) of the bucket holding the 99th percentile of the label's verifies
server_p99() {
  awk -v pattern="$verify_buckets" '
    $0 ~ pattern { le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le) }
    FNR == NR && $0 ~ pattern { before[le] = $2; next }
    $0 ~ pattern { n++; bound[n] = le; count[le] = $2 - before[le] }
    END { for (i = 1; i <= n; i++) if (count[bound[i]] >= 0.99 * count["+Inf"]) { print (bound[i] == "+Inf" ? "inf" : bound[i] * 1000); exit } }' \
    "$work/$1-before.metrics" "$work/$1-after.metrics"
}
# cache_misses <label>: key-cache misses during the label's run
cache_misses() {
  awk 'FNR == NR && /^gatehouse_key_cache_lookups_total[{].*result="miss"[}]/ { before = $2; next }
       /^gatehouse_key_cache_lookups_total[{].*result="miss"[}]/ { print $2 - before }' "$work/$1-before.metrics" "$work/$1-after.metrics"
}
# measured <label> <run arguments…>: run, with /metrics read around it
measured() { local label=$1; scrape "$label-before"; run "$@"; scrape "$label-after"; }
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v/1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v+0 } else if (v ~ /s$/) { sub(/s$/, "", v); print v*1000 } else print v }'; }

verify_url="http://127.0.0.1:$PORT"
base_url="http://127.0.0.1:$BASE_PORT"
echo "== prime: every hot key verified once (${PRIME}s; about 8 000 misses/s), so (b) measures cached keys"
run prime-b "$verify_url" verify-once.lua "$PRIME" "$CONNECTIONS" KEYS_FILE="$work/hot-keys.txt" AUTH_KEY="$caller" >/dev/null
echo "== warm up ${WARMUP}s each server (the cold keys stay unseen for the cache-miss run)"
run warm-a "$base_url" verify.lua "$WARMUP" "$CONNECTIONS" KEYS_FILE="$work/hot-keys.txt" >/dev/null
run warm-b "$verify_url" verify.lua "$WARMUP" "$CONNECTIONS" KEYS_FILE="$work/hot-keys.txt" AUTH_KEY="$caller" >/dev/null
run warm-d "$verify_url" verify.lua 5 "$CONNECTIONS" KEYS_FILE="$work/credit-keys.txt" AUTH_KEY="$caller" >/dev/null
run warm-e "$verify_url" get-key.lua 5 "$CONNECTIONS" IDS_FILE="$work/ids.txt" AUTH_KEY="$caller" >/dev/null

results=()
echo "== (f) cache misses: first verify of unseen keys, 1 connection; (f0) the baseline at 1 connection"
results+=("$(measured f-miss "$verify_url" verify-once.lua 5 1 KEYS_FILE="$work/cold-keys.txt" AUTH_KEY="$caller")")
results+=("$(run f0-baseline-1c "$base_url" verify.lua 5 1 KEYS_FILE="$work/hot-keys.txt")")
echo "== (g) cache misses timed one request at a time (latency probe), 1 connection; (g0) the baseline the same way"
# probe <label> <url> [probe arguments…] → prints "label count p50 p90 p99 p99.9 max non-2xx" (latency in ms)
probe() {
  local label=$1 url=$2; shift 2
  echo "$label $(taskset -c "$WRK_CPU" dotnet "$bench_dll" latency-probe --url "$url" --seconds 5 "$@")"
}
scrape g-probe-before
probes=("$(probe g-miss "$verify_url" --keys "$work/cold-probe-keys.txt" --auth "$caller")")
scrape g-probe-after
probes+=("$(probe g0-baseline "$base_url" --keys "$work/hot-keys.txt" --repeat)")
echo "== measure ${DURATION}s each, $CONNECTIONS connections"
results+=("$(run a1-baseline "$base_url" verify.lua "$DURATION" "$CONNECTIONS" KEYS_FILE="$work/hot-keys.txt")")
results+=("$(measured b1-verify "$verify_url" verify.lua "$DURATION" "$CONNECTIONS" KEYS_FILE="$work/hot-keys.txt" AUTH_KEY="$caller")")
results+=("$(run c1-invalid "$verify_url" verify.lua "$DURATION" "$CONNECTIONS" KEYS_FILE="$work/invalid-keys.txt" AUTH_KEY="$caller")")
results+=("$(run a2-baseline "$base_url" verify.lua "$DURATION" "$CONNECTIONS" KEYS_FILE="$work/hot-keys.txt")")
results+=("$(measured b2-verify "$verify_url" verify.lua "$DURATION" "$CONNECTIONS" KEYS_FILE="$work/hot-keys.txt" AUTH_KEY="$caller")")
results+=("$(run c2-invalid "$verify_url" verify.lua "$DURATION" "$CONNECTIONS" KEYS_FILE="$work/invalid-keys.txt" AUTH_KEY="$caller")")
results+=("$(run d-credits "$verify_url" verify.lua "$DURATION" "$CONNECTIONS" KEYS_FILE="$work/credit-keys.txt" AUTH_KEY="$caller")")
results+=("$(run e-get-by-id "$verify_url" get-key.lua "$DURATION" "$CONNECTIONS" IDS_FILE="$work/ids.txt" AUTH_KEY="$caller")")
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")

echo
echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "keys stored: $N (+1000 with credits), hot set: $half, connections: $CONNECTIONS, ${DURATION}s per run"
printf '%-14s %12s %10s %10s %8s\n' run "req/s" "p50 ms" "p99 ms" non-2xx
for line in "${results[@]}"; do printf '%-14s %12s %10s %10s %8s\n' $line; done
awk -v r="${results[*]}" 'BEGIN {
  n = split(r, f, " ");
  for (i = 1; i <= n; i += 5) v[f[i]] = f[i+1];
  a = (v["a1-baseline"] + v["a2-baseline"]) / 2; b = (v["b1-verify"] + v["b2-verify"]) / 2; c = (v["c1-invalid"] + v["c2-invalid"]) / 2;
  printf "ratio (b)/(a) verify/baseline: %.2f   (c)/(a) invalid/baseline: %.2f   (each the mean of its two runs)\n", b / a, c / a }'
printf '%-14s %8s %8s %8s %8s %8s %8s %8s\n' probe count "p50 ms" "p90 ms" "p99 ms" "p99.9" "max ms" non-2xx
for line in "${probes[@]}"; do printf '%-14s %8s %8s %8s %8s %8s %8s %8s\n' $line; done
echo "(g) misses counted by the key cache: $(cache_misses g-probe)"
echo "server-side p99 (bucket bound, from /metrics): (f) miss <= $(server_p99 f-miss) ms ($(cache_misses f-miss) key-cache misses), (g) miss <= $(server_p99 g-probe) ms, (b) run 1 <= $(server_p99 b1-verify) ms, run 2 <= $(server_p99 b2-verify) ms"
echo "server resident memory: now $((rss_kb / 1024)) MiB, peak $((hwm_kb / 1024)) MiB"
