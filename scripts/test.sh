#!/usr/bin/env bash
# `npm test`: the same set-up as `npm run local`, then type check, lint and the whole Jest suite
# (unit tests, and e2e tests against the real Kafka, Redis and PostgreSQL). Extra arguments go to Jest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/ensure-deps.sh
bash scripts/stack.sh up
echo "[test] type check and lint ..."
npm run --silent typecheck
npm run --silent lint
npm run --silent build
DB_NAME="${TEST_DB_NAME:-payments_test}" node dist/database/migrate.js --fresh

mkdir -p .cache
status=0
NODE_OPTIONS="--experimental-vm-modules --no-warnings=ExperimentalWarning" \
  npx jest --json --outputFile=.cache/jest-results.json "$@" || status=$?
# One plain closing line that any CI can read.
node -e '
  const r = JSON.parse(require("fs").readFileSync(".cache/jest-results.json", "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' || true
exit "$status"
