# Shared set-up of the load scripts in this folder (sourced, not run): the settings every run takes,
# the checks before it starts, a work directory, the Release build, and the clean-up that stops every
# process the script started (added to `pids`) when it exits.
# Before sourcing: set WORK_PREFIX (the temp directory's name) and any defaults of your own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
[ "$DURATION" -le 15 ] || { echo "DURATION is capped at 15 s"; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 2; }

work=$(mktemp -d "/tmp/${WORK_PREFIX:-gatehouse-load}.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

echo "== build (Release)"
dotnet build -c Release src/Gatehouse.Server -v q -nologo >/dev/null
dotnet build -c Release bench/Gatehouse.Benchmarks -v q -nologo >/dev/null
server_dll=src/Gatehouse.Server/bin/Release/net10.0/Gatehouse.Server.dll
bench_dll=bench/Gatehouse.Benchmarks/bin/Release/net10.0/Gatehouse.Benchmarks.dll

# The platform's per-credential limits would stop a load test (they protect clients' neighbours,
# not a benchmark): `env "${unlimited[@]}" …` lifts them for a server the script starts.
unlimited=()
for name in PerMinute PerFiveMinutes PerDay AdminPerMinute UnauthenticatedPerMinute VerifyPerMinute; do
  unlimited+=("Gatehouse__RateLimits__$name=1000000000")
done
