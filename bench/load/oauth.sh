#!/usr/bin/env bash
# Load benchmark of OAuth client credentials (docs/performance.md "OAuth", docs/decisions/0013).
# Three servers, each pinned to core SERVER_CPU and measured by wrk on core WRK_CPU:
#   (A) baseline:   bare Kestrel (Gatehouse.Benchmarks oauth-baseline-server): form, Basic auth against a
#                   frozen dictionary of keyed secret hashes, a hand-made ES256 JWT
#   (B) OpenIddict: Gatehouse.Benchmarks openiddict-server, degraded mode, the same client check
#   (C) Gatehouse:  the real server's /oauth/token and /oauth/introspect (skipped while it has none)
# Measured in alternation A B C A B C: token issuance (client_credentials, client_secret_basic, ES256),
# then introspection of tokens issued beforehand (one per client, introspected by its own client).
# Ratios use the mean of each server's two runs.
# Every wrk run lasts at most 15 s (warm-ups longer than that are split into several runs).
# Usage: bench/load/oauth.sh [clients=1000]     env: DURATION=15 WARMUP=20 CONNECTIONS=32
N=${1:-${N:-1000}}
WARMUP=${WARMUP:-20}
BASE_PORT=${BASE_PORT:-5281}
OPENIDDICT_PORT=${OPENIDDICT_PORT:-5282}
GATEHOUSE_PORT=${GATEHOUSE_PORT:-5280}
WORK_PREFIX=gatehouse-oauth-load
. "$(dirname "$0")/common.sh"

base_url="http://127.0.0.1:$BASE_PORT"
openiddict_url="http://127.0.0.1:$OPENIDDICT_PORT"
gatehouse_url="http://127.0.0.1:$GATEHOUSE_PORT"

# The two comparison servers read their clients from a file of lines "clientId secret".
od -An -tx1 -N $((32 * N)) -v /dev/urandom | tr -d ' \n' | fold -w64 | awk '{ print "ocl_bench" NR " gcs_" $0 }' > "$work/bench-clients.txt"

echo "== start servers (core $SERVER_CPU)"
taskset -c "$SERVER_CPU" dotnet "$bench_dll" oauth-baseline-server --urls "$base_url" --clients "$work/bench-clients.txt" > "$work/baseline.log" 2>&1 &
pids+=("$!")
taskset -c "$SERVER_CPU" dotnet "$bench_dll" openiddict-server --urls "$openiddict_url" --clients "$work/bench-clients.txt" > "$work/openiddict.log" 2>&1 &
pids+=("$!")
master=$(head -c 32 /dev/urandom | base64)
root="gkr_load_$(head -c 32 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9' | head -c 40)"
# Every rate-limit window stays in force but far above what one core can serve: all requests come
# from one address, and seeding creates N clients with the root key. The token endpoint's own limit
# per client (OAuth:TokenRequestsPerClientPerMinute, 6 000 by default) is left as it is: with the
# default 1 000 clients taken in turn it allows 100 000 tokens a second.
env "${unlimited[@]}" GATEHOUSE_DATA_DIR="$work/data" GATEHOUSE_MASTER_KEY="$master" GATEHOUSE_ROOT_KEY="$root" Logging__LogLevel__Default=Warning \
  taskset -c "$SERVER_CPU" dotnet "$server_dll" --urls "$gatehouse_url" > "$work/gatehouse.log" 2>&1 &
gatehouse_pid=$!; pids+=("$gatehouse_pid")
for _ in $(seq 1 120); do grep -q "listening" "$work/baseline.log" && grep -q "listening" "$work/openiddict.log" && break; sleep 0.5; done
for _ in $(seq 1 120); do curl -sf "$gatehouse_url/health" >/dev/null && break; sleep 0.5; done

# Gatehouse takes part only once it serves /oauth/token (an unknown route answers 404).
gatehouse=yes
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d grant_type=client_credentials "$gatehouse_url/oauth/token")
if [ "$status" = 404 ]; then
  gatehouse=no
  echo "== Gatehouse answers 404 on POST /oauth/token: it has no token endpoint yet; measuring the baseline and OpenIddict only"
  kill "$gatehouse_pid" 2>/dev/null || true
fi

if [ "$gatehouse" = yes ]; then
  echo "== seed Gatehouse over HTTP: one organization, $N clients with scopes [\"api_keys:read\"]"
  api() { curl -sf -X POST -H "Authorization: Bearer $root" -H "Content-Type: application/json" -d "$2" "$gatehouse_url$1"; }
  org_id=$(api /api/v1/orgs '{"name":"OAuth load test"}' | grep -o '"id":"org_[^"]*"' | head -1 | cut -d'"' -f4)
  [ -n "$org_id" ] || { echo "could not create the organization"; exit 1; }
  : > "$work/gatehouse-clients.txt"
  for i in $(seq 1 "$N"); do
    created=$(api "/api/v1/orgs/$org_id/oauth-clients" "{\"name\":\"load-$i\",\"scopes\":[\"api_keys:read\"]}")
    client_id=$(grep -o '"clientId":"[^"]*"' <<<"$created" | cut -d'"' -f4)
    secret=$(grep -o '"clientSecret":"[^"]*"' <<<"$created" | cut -d'"' -f4)
    [ -n "$client_id" ] && [ -n "$secret" ] || { echo "could not create OAuth client $i: $created"; exit 1; }
    echo "$client_id $secret" >> "$work/gatehouse-clients.txt"
  done
fi

# issue_tokens <url> <clients file> <out file>: one token per client, written as "clientId secret token"
issue_tokens() {
  local url=$1 clients=$2 out=$3 id secret token
  : > "$out"
  while read -r id secret; do
    token=$(curl -sf -u "$id:$secret" -d grant_type=client_credentials "$url/oauth/token" | grep -o '"access_token": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/')
    [ -n "$token" ] || { echo "no token from $url for $id"; exit 1; }
    echo "$id $secret $token" >> "$out"
  done < "$clients"
  # The first token must introspect as active, or the introspection runs would measure rejections.
  read -r id secret token < "$out"
  curl -sf -u "$id:$secret" --data-urlencode "token=$token" "$url/oauth/introspect" | grep -Eq '"active": *true' \
    || { echo "introspection at $url does not find its own token active"; exit 1; }
}
echo "== issue one token per client for the introspection runs"
issue_tokens "$base_url" "$work/bench-clients.txt" "$work/baseline-tokens.txt"
issue_tokens "$openiddict_url" "$work/bench-clients.txt" "$work/openiddict-tokens.txt"
[ "$gatehouse" = no ] || issue_tokens "$gatehouse_url" "$work/gatehouse-clients.txt" "$work/gatehouse-tokens.txt"

# run <label> <url> <mode> <clients file> <seconds> → prints "label rps p50 p99 non-2xx" (latency in ms)
run() {
  local label=$1 url=$2 mode=$3 clients=$4 seconds=$5
  MODE="$mode" CLIENTS_FILE="$clients" taskset -c "$WRK_CPU" wrk -t1 -c"$CONNECTIONS" -d"${seconds}s" --timeout 5s --latency -s bench/load/oauth.lua "$url" > "$work/$label.txt" 2>&1
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/$label.txt")
  p50=$(awk '$1=="50%" {print $2}' "$work/$label.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/$label.txt")
  errors=$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+' "$work/$label.txt" | grep -Eo '[0-9]+$' || echo 0)
  echo "$label $rps $(ms "$p50") $(ms "$p99") $errors"
}
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v/1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v+0 } else if (v ~ /s$/) { sub(/s$/, "", v); print v*1000 } else print v }'; }

# warm <label> <url> <mode> <clients file>: WARMUP seconds of load, in runs of at most 15 s
warm() {
  local left=$WARMUP part=1 seconds
  while [ "$left" -gt 0 ]; do
    seconds=$((left > 15 ? 15 : left))
    run "warm-$1-$part" "$2" "$3" "$4" "$seconds" >/dev/null
    left=$((left - seconds)); part=$((part + 1))
  done
}
echo "== warm up ${WARMUP}s per server and endpoint (tiered JIT and dynamic PGO on one core)"
warm a-token "$base_url" token "$work/bench-clients.txt"
warm b-token "$openiddict_url" token "$work/bench-clients.txt"
warm a-introspect "$base_url" introspect "$work/baseline-tokens.txt"
warm b-introspect "$openiddict_url" introspect "$work/openiddict-tokens.txt"
if [ "$gatehouse" = yes ]; then
  warm c-token "$gatehouse_url" token "$work/gatehouse-clients.txt"
  warm c-introspect "$gatehouse_url" introspect "$work/gatehouse-tokens.txt"
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results=()
for endpoint in token introspect; do
  echo "== measure $endpoint ${DURATION}s each, $CONNECTIONS connections, A B C A B C"
  for round in 1 2; do
    results+=("$(run "a$round-baseline-$endpoint" "$base_url" "$endpoint" "$work/$([ "$endpoint" = token ] && echo bench-clients || echo baseline-tokens).txt" "$DURATION")")
    results+=("$(run "b$round-openiddict-$endpoint" "$openiddict_url" "$endpoint" "$work/$([ "$endpoint" = token ] && echo bench-clients || echo openiddict-tokens).txt" "$DURATION")")
    if [ "$gatehouse" = yes ]; then
      results+=("$(run "c$round-gatehouse-$endpoint" "$gatehouse_url" "$endpoint" "$work/$([ "$endpoint" = token ] && echo gatehouse-clients || echo gatehouse-tokens).txt" "$DURATION")")
    fi
  done
done

echo
echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs), load average before the measured runs: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "clients: $N, connections: $CONNECTIONS, ${DURATION}s per run, warm-up ${WARMUP}s, servers on core $SERVER_CPU, wrk on core $WRK_CPU"
printf '%-28s %12s %10s %10s %8s\n' run "req/s" "p50 ms" "p99 ms" non-2xx
for line in "${results[@]}"; do printf '%-28s %12s %10s %10s %8s\n' $line; done
awk -v r="${results[*]}" -v gatehouse="$gatehouse" 'BEGIN {
  n = split(r, f, " ");
  for (i = 1; i <= n; i += 5) { label = f[i]; sub(/^[abc][12]-/, "", label); sum[label] += f[i+1]; count[label]++ }
  for (label in sum) mean[label] = sum[label] / count[label];
  for (e = 1; e <= 2; e++) {
    endpoint = e == 1 ? "token" : "introspect";
    a = mean["baseline-" endpoint]; b = mean["openiddict-" endpoint];
    printf "%-10s baseline %9.0f req/s   OpenIddict %9.0f req/s  ratio %.2f", endpoint, a, b, b / a;
    if (gatehouse == "yes") { c = mean["gatehouse-" endpoint]; printf "   Gatehouse %9.0f req/s  ratio %.2f", c, c / a }
    else printf "   Gatehouse: not measured (no /oauth/token)";
    printf "\n"
  }
  printf "targets: token >= 0.50 of the baseline and >= 10000 tokens/s; introspection >= 0.70 of the baseline (each the mean of two runs)\n" }'
