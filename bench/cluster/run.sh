#!/usr/bin/env bash
# The three-node cluster harness in its long mode (docs/operations.md, "Running several nodes"):
# three server processes on one PostgreSQL database behind haproxy, 100 propagation samples per
# change kind, rate limits, credits, jobs, a webhook run with a node killed, idempotency take-over
# and migrations raced at start. Prints the figures and writes them to bench/cluster/results/latest.md.
#
# Usage: bench/cluster/run.sh                  env: GATEHOUSE_TEST_DATABASE_URL (a PostgreSQL server whose
#        user may CREATE DATABASE; absent: a throw-away server is started in a temp dir, needs initdb/pg_ctl),
#        GATEHOUSE_CLUSTER_LONG=0 for the short mode, TIMEOUT_MINUTES=30 (the whole run is cut off after it).
set -euo pipefail
cd "$(dirname "$0")/../.."

TIMEOUT_MINUTES=${TIMEOUT_MINUTES:-30}
export GATEHOUSE_CLUSTER_LONG=${GATEHOUSE_CLUSTER_LONG:-1}
[ -x /usr/sbin/haproxy ] || { echo "haproxy is missing: apt-get install haproxy"; exit 2; }

work=$(mktemp -d /tmp/gatehouse-cluster-run.XXXXXX)
pg_started=""
cleanup() {
  if [ -n "$pg_started" ]; then
    "$PGBIN/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${GATEHOUSE_TEST_DATABASE_URL:-}" ]; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$PGBIN" ] || { echo "no GATEHOUSE_TEST_DATABASE_URL and no PostgreSQL binaries (apt-get install postgresql)"; exit 2; }
  [ "$(id -u)" != 0 ] || { echo "initdb refuses to run as root: run as another user, or give GATEHOUSE_TEST_DATABASE_URL"; exit 2; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "== PostgreSQL on 127.0.0.1:$port (temp dir $work/pg)"
  "$PGBIN/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
  "$PGBIN/pg_ctl" -D "$work/pg" -o "-p $port -k $work -c max_connections=200" -l "$work/pg.log" -w start >/dev/null
  pg_started=1
  export GATEHOUSE_TEST_DATABASE_URL="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
fi
export GATEHOUSE_TEST_PROVIDER=postgres

echo "== build (Release)"
nice -n 10 dotnet build Gatehouse.slnx -c Release -v q -nologo >/dev/null

mkdir -p bench/cluster/results
results=bench/cluster/results/latest.md
{
  echo "# Cluster harness — $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
  echo "Mode: $([ "$GATEHOUSE_CLUSTER_LONG" = 1 ] && echo long || echo short); $(nproc) cores; $(/usr/sbin/haproxy -v | head -1)"
  echo
} > "$results"
export GATEHOUSE_CLUSTER_RESULTS="$PWD/$results"

echo "== cluster tests ($([ "$GATEHOUSE_CLUSTER_LONG" = 1 ] && echo long || echo short) mode, cut off after $TIMEOUT_MINUTES min)"
status=0
timeout --kill-after=30s "${TIMEOUT_MINUTES}m" \
  nice -n 10 dotnet test tests/Gatehouse.Server.Tests -c Release --no-build \
  --filter "FullyQualifiedName~Gatehouse.Server.Tests.Cluster" --logger "console;verbosity=normal" || status=$?

echo
echo "== figures ($results)"
cat "$results"
exit $status
