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
