#!/usr/bin/env bash
# Runs the whole test suite: every project on SQLite, then the server tests again on
# PostgreSQL when GATEHOUSE_TEST_DATABASE_URL is set (reported as skipped when it is not),
# then the TypeScript SDK's tests (node's test runner, against the server just built).
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

npm_step() { # $1 = label, $2 = folder, rest = command; a failed npm step is a failure
  local label=$1 folder=$2; shift 2
  echo "==> $label"
  if ! (cd "$folder" && "$@") >"$logs/$label.log" 2>&1; then
    tail -40 "$logs/$label.log"; echo "$label failed"
    failed=$((failed + 1)); status=1; return 1
  fi
}

dotnet build Gatehouse.slnx -c Release 2>&1 | tail -3
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

# The single sign-on tests run a real OpenID Connect provider (npm oidc-provider) on loopback;
# without node they skip and say why.
if command -v npm >/dev/null; then
  npm_step oidc-provider-install tests/oidc-provider npm ci --no-audit --no-fund || true
  # The remote storage tests run the object-store emulators s3rver and azurite on loopback.
  npm_step storage-emulators-install tests/storage-emulators npm ci --no-audit --no-fund || true
fi

run sqlite Gatehouse.slnx -c Release --no-build

if [ -n "${GATEHOUSE_TEST_DATABASE_URL:-}" ]; then
  # The SDK and command-line tests exercise the clients, not the database: they run once, on SQLite.
  GATEHOUSE_TEST_PROVIDER=postgres run postgres tests/Gatehouse.Server.Tests -c Release --no-build \
    --filter "FullyQualifiedName!~Gatehouse.Server.Tests.Cli.&FullyQualifiedName!~Gatehouse.Server.Tests.Sdk."
else
  server_tests=$(grep -E 'Gatehouse\.Server\.Tests\.dll' "$logs/sqlite.log" | grep -Eo 'Total: +[0-9]+' | tail -1 | grep -Eo '[0-9]+' || echo 0)
  echo "==> postgres: skipped (GATEHOUSE_TEST_DATABASE_URL is not set); its ${server_tests} server tests did not run"
  skipped=$((skipped + server_tests))
fi

# The TypeScript SDK and the example app it is tested through. A failed npm step is a failure;
# node's TAP summary lines ("# pass N", "# fail N", …) join the totals.

tally_tap() { # $1 = log of one node --test run; leaves its failures in tap_failed
  local p f s
  p=$(grep -E '^# pass [0-9]+$' "$1" | awk '{n += $3} END {print n + 0}')
  f=$(grep -E '^# (fail|cancelled) [0-9]+$' "$1" | awk '{n += $3} END {print n + 0}')
  s=$(grep -E '^# (skipped|todo) [0-9]+$' "$1" | awk '{n += $3} END {print n + 0}')
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s)); tap_failed=$f
}

if command -v node >/dev/null && command -v npm >/dev/null; then
  echo "==> typescript: node $(node --version), npm $(npm --version)"
  if npm_step typescript-install clients/typescript npm ci --no-audit --no-fund \
     && npm_step typescript-build clients/typescript npm run build \
     && npm_step typescript-pack clients/typescript npm run check-pack \
     && npm_step express-example-install examples/express-api npm ci --no-audit --no-fund; then
    echo "==> typescript-tests"
    (cd clients/typescript && npm test) 2>&1 | tee "$logs/typescript-tests.log"
    sdk_status=${PIPESTATUS[0]}
    tally_tap "$logs/typescript-tests.log"
    if [ "$sdk_status" -ne 0 ]; then
      status=1
      # A run that died before its summary (the server never started, say) still counts.
      [ "$tap_failed" -gt 0 ] || failed=$((failed + 1))
    fi
  fi
else
  echo "==> typescript: skipped (node and npm are not installed; Debian: apt-get install nodejs npm)"
  skipped=$((skipped + 1))
fi

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
