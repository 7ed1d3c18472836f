#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or older than package-lock.json, and re-applies
# patches/ (patch-package, also run by npm's postinstall) when a patch is newer than the install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
marker=node_modules/.package-lock.json
if [[ ! -f "$marker" || package-lock.json -nt "$marker" ]]; then
  echo "[deps] installing npm dependencies (npm ci) ..."
  npm ci --no-audit --no-fund --loglevel=error
elif [[ -n "$(find patches -newer "$marker" -name '*.patch' 2>/dev/null)" ]]; then
  echo "[deps] re-applying patches/ ..."
  npx --no-install patch-package --error-on-fail
  touch "$marker"
fi

# The project brings its own Node.js 24 (the `node` dev dependency, whose binary npm scripts find first
# on PATH), so the machine's own Node may be older. Say so plainly if that did not work.
version="$(node_modules/.bin/node --version 2>/dev/null || true)"
if [[ ! "$version" =~ ^v2[4-9]\. ]]; then
  echo "[deps] node_modules/.bin/node is '${version:-missing}', expected Node.js 24: run 'npm ci' again" >&2
  exit 1
fi
