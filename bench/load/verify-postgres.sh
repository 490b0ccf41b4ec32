#!/usr/bin/env bash
# Verify throughput of one node on PostgreSQL (or SQLite when no URL is given), as a ratio to the bare-Kestrel baseline taken in the
# same run (docs/performance.md). The keys are made through the API (bench/load/run.sh seeds a
# SQLite file directly and so measures SQLite only). Cached keys make verify CPU-bound on both
# databases; what PostgreSQL adds on this path is the shared rate-limit flush and the change feed.
# Usage: GATEHOUSE_DATABASE_URL=… bench/load/verify-postgres.sh    env: KEYS=2000 DURATION=10 WARMUP=10 CONNECTIONS=32
# The database must be empty (a fresh one): the run creates an organization and its keys in it.
# Without GATEHOUSE_DATABASE_URL the node runs on SQLite in a temp dir: the same run, for comparison.
KEYS=${KEYS:-2000}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-10}
PORT=${PORT:-5181}
BASE_PORT=${BASE_PORT:-5191}
WORK_PREFIX=gatehouse-load-pg
. "$(dirname "$0")/common.sh"

root="gkr_load_$(head -c 32 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9' | head -c 40)"
env "${unlimited[@]}" GATEHOUSE_DATA_DIR="$work/data" GATEHOUSE_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" GATEHOUSE_ROOT_KEY="$root" \
  Logging__LogLevel__Default=Warning taskset -c "$SERVER_CPU" dotnet "$server_dll" \
  --urls "http://127.0.0.1:$PORT" > "$work/server.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.5; done

api() { curl -sf -X POST "http://127.0.0.1:$PORT$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' -d "$3"; }
org=$(api /api/v1/orgs "$root" '{"name":"load"}' | jq -r .data.id)
caller=$(api "/api/v1/orgs/$org/api-keys" "$root" '{"name":"caller","permissions":["api_keys:verify"]}' | jq -r .data.key)
echo "== create $KEYS keys through the API"
seq 1 "$KEYS" | xargs -P 4 -I{} curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/orgs/$org/api-keys" \
  -H "Authorization: Bearer $root" -H 'Content-Type: application/json' -d '{"name":"k{}"}' | jq -r .data.key > "$work/keys.txt"
taskset -c "$SERVER_CPU" dotnet "$bench_dll" baseline-server \
  --urls "http://127.0.0.1:$BASE_PORT" --keys "$work/keys.txt" > "$work/baseline.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 120); do grep -q "listening" "$work/baseline.log" && break; sleep 0.5; done

run() { # url seconds [auth] → requests per second
  KEYS_FILE="$work/keys.txt" AUTH_KEY="${3:-}" taskset -c "$WRK_CPU" wrk -t1 -c"$CONNECTIONS" -d"${2}s" --latency \
    -s bench/load/verify.lua "$1" > "$work/run.txt" 2>&1
  grep -q "Non-2xx" "$work/run.txt" && { echo "non-2xx answers:"; cat "$work/run.txt"; exit 1; }
  awk '/^Requests\/sec:/ {print $2}' "$work/run.txt"
}
echo "== warm up ${WARMUP}s each"
run "http://127.0.0.1:$BASE_PORT" "$WARMUP" >/dev/null
run "http://127.0.0.1:$PORT" "$WARMUP" "$caller" >/dev/null
a1=$(run "http://127.0.0.1:$BASE_PORT" "$DURATION"); b1=$(run "http://127.0.0.1:$PORT" "$DURATION" "$caller")
a2=$(run "http://127.0.0.1:$BASE_PORT" "$DURATION"); b2=$(run "http://127.0.0.1:$PORT" "$DURATION" "$caller")
echo "baseline: $a1 / $a2 req/s; verify: $b1 / $b2 req/s"
awk -v a1="$a1" -v a2="$a2" -v b1="$b1" -v b2="$b2" 'BEGIN { printf "verify / baseline: %.2f\n", (b1 + b2) / (a1 + a2) }'
