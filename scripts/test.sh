#!/usr/bin/env bash
# `npm test`: the same set-up as `npm run local`, then type check, lint and the whole Jest suite
# (unit tests, and e2e tests against the real Kafka, Redis and PostgreSQL). Extra arguments go to Jest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/ensure-deps.sh
# Node 24 from node_modules even when this script is run without npm (npm run puts it first anyway).
export PATH="$PWD/node_modules/.bin:$PATH"
bash scripts/stack.sh up
# promtool (Debian's prometheus package, its server not started) checks the /metrics exposition.
if ! command -v promtool >/dev/null && command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
  echo "[test] installing promtool (Debian package prometheus) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; } ||
    echo "[test] could not install promtool; its check will say so" >&2
fi
bash scripts/install-browser.sh
echo "[test] Node.js $(node --version); type check and lint ..."
npm run --silent typecheck
npm run --silent lint
npm run --silent build
DB_NAME="${TEST_DB_NAME:-payments_test}" node dist/database/migrate.js --fresh

mkdir -p .cache
status=0
NODE_OPTIONS="--experimental-vm-modules --no-warnings=ExperimentalWarning" \
  npx jest --json --outputFile=.cache/jest-results.json "$@" || status=$?
# One plain closing line that any CI can read. In CI a skipped test fails the run: the set-up installs
# what the suites need, so a skip there means something is missing (a suite that cannot have its tool
# on this machine says so itself and does not skip).
node -e '
  const r = JSON.parse(require("fs").readFileSync(".cache/jest-results.json", "utf8"));
  const skipped = r.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status !== "passed" && a.status !== "failed").map((a) => `${f.name}: ${a.fullName}`));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped.length} skipped`);
  if (process.env.CI && skipped.length > 0) {
    console.log(`CI runs no skipped test:\n  ${skipped.join("\n  ")}`);
    process.exit(1);
  }
' || status=$((status == 0 ? 1 : status))
exit "$status"
