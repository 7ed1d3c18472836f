#!/usr/bin/env bash
# The browser the console's tests drive (test/ops-console.e2e-spec.ts): Debian's chromium package,
# installed with apt-get when missing, as the Kafka jars are fetched when missing. Playwright's own
# browser download is not used: this machine reaches Debian's mirrors and npm, not Playwright's CDN.
set -euo pipefail
if command -v "${CHROMIUM_PATH:-chromium}" >/dev/null 2>&1; then exit 0; fi
if ! command -v apt-get >/dev/null || [[ "$(id -u)" != 0 ]]; then
  echo "[browser] chromium is missing; install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH" >&2
  exit 1
fi
echo "[browser] installing chromium (Debian package) ..."
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 ||
  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; } ||
  { echo "[browser] could not install chromium with apt-get" >&2; exit 1; }
