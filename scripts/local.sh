#!/usr/bin/env bash
# `npm run local`: the whole system on this machine, from a fresh clone.
# Dependencies, Kafka broker, Redis and PostgreSQL, migrations, demo data, then the app on :8080.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/ensure-deps.sh
bash scripts/stack.sh up
echo "[local] building ..."
npm run --silent build
node dist/database/migrate.js
if [[ -f dist/database/seed.js ]]; then node dist/database/seed.js; fi

PORT="${PORT:-8080}"
cat <<INFO
[local] starting the app on port $PORT (Ctrl-C stops it; 'bash scripts/stack.sh down' stops Kafka)
  API      POST http://localhost:$PORT/api/payments
  Docs     http://localhost:$PORT/api/docs
  Health   http://localhost:$PORT/health
  Metrics  http://localhost:$PORT/metrics
INFO
exec node dist/main.js
