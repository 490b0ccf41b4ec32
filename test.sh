#!/usr/bin/env bash
# Runs the whole test suite: every project on SQLite, then the server tests again on
# PostgreSQL when GATEHOUSE_TEST_DATABASE_URL is set (reported as skipped when it is not).
# The last line sums up every run: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"

passed=0 failed=0 skipped=0 status=0
logs=$(mktemp -d)

tally() { # $1 = log file of one dotnet test run
  local p f s
  while read -r p f s; do
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  done < <(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$1" \
             | sed -E 's/Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+)/\2 \1 \3/')
}

run() { # $1 = label, rest = dotnet test arguments
  local label=$1; shift
  echo "==> $label"
  if ! dotnet test "$@" 2>&1 | tee "$logs/$label.log"; then status=1; fi
  tally "$logs/$label.log"
}

dotnet build Gatehouse.slnx -c Release 2>&1 | tail -3
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

run sqlite Gatehouse.slnx -c Release --no-build

if [ -n "${GATEHOUSE_TEST_DATABASE_URL:-}" ]; then
  GATEHOUSE_TEST_PROVIDER=postgres run postgres tests/Gatehouse.Server.Tests -c Release --no-build
else
  server_tests=$(grep -E 'Gatehouse\.Server\.Tests\.dll' "$logs/sqlite.log" | grep -Eo 'Total: +[0-9]+' | tail -1 | grep -Eo '[0-9]+' || echo 0)
  echo "==> postgres: skipped (GATEHOUSE_TEST_DATABASE_URL is not set); its ${server_tests} server tests did not run"
  skipped=$((skipped + server_tests))
fi

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
