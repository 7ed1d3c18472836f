#!/usr/bin/env bash
# `npm run local`: the whole system on this machine, from a fresh clone.
# Dependencies, Kafka broker, Redis and PostgreSQL, migrations, demo data, then the app on :8080.
#
# Several instances of the one image (docs/SCALING.md):
#   npm run local -- --instances 2            two instances running everything (APP_ROLES, default all), :8080 and :8081
#   npm run local -- --workers 2              one API-only instance on :8080, two worker-only instances on :8081, :8082
#   npm run local -- --instances 2 --workers 3
#   npm run local -- --cluster --workers 2    the same against the local three-broker cluster (replication 3)
#   npm run local -- --redis-cluster          against a local six-node Redis Cluster (scripts/redis-cluster.sh)
# Each instance has its own port (health and metrics on it), its own KAFKA_CLIENT_ID and log prefix;
# Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

instances=1
workers=0
cluster=false
redis_cluster=false
while (($#)); do
  case "$1" in
    --instances) instances="${2:?--instances needs a number}"; shift 2 ;;
    --workers) workers="${2:?--workers needs a number}"; shift 2 ;;
    --cluster) cluster=true; shift ;;
    --redis-cluster) redis_cluster=true; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "[local] unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
[[ "$instances" =~ ^[0-9]+$ && "$workers" =~ ^[0-9]+$ ]] || { echo "[local] --instances and --workers take numbers" >&2; exit 64; }
(( instances + workers >= 1 )) || { echo "[local] nothing to start" >&2; exit 64; }

bash scripts/ensure-deps.sh
# Node 24 from node_modules even when this script is run without npm (npm run puts it first anyway).
export PATH="$PWD/node_modules/.bin:$PATH"
bash scripts/stack.sh up
if [[ "$cluster" == true ]]; then
  bash scripts/kafka.sh cluster start
  export KAFKA_BROKERS="127.0.0.1:${KAFKA_CLUSTER_PORT:-19092},127.0.0.1:$(( ${KAFKA_CLUSTER_PORT:-19092} + 1 )),127.0.0.1:$(( ${KAFKA_CLUSTER_PORT:-19092} + 2 ))"
  export KAFKA_REPLICATION_FACTOR="${KAFKA_REPLICATION_FACTOR:-3}"
fi
if [[ "$redis_cluster" == true ]]; then
  bash scripts/redis-cluster.sh up
  REDIS_CLUSTER_NODES="$(bash scripts/redis-cluster.sh nodes)"
  export REDIS_CLUSTER_NODES
fi
echo "[local] building ..."
npm run --silent build
node dist/database/migrate.js
if [[ -f dist/database/seed.js ]]; then node dist/database/seed.js; fi

PORT="${PORT:-8080}"

# The operations console (/ops) signs in with an admin key. With no key configured at all, one is
# minted once for this checkout (kept in .cache/local/, readable by you only) and set as the only
# admin key, with OPEN_API=true: /api stays open as before (a laptop), the console needs that key.
console_key_note=""
if [[ -z "${API_KEYS:-}" && -z "${ADMIN_API_KEYS:-}" ]]; then
  key_file=.cache/local/console-admin-key
  if [[ ! -s "$key_file" ]]; then
    mkdir -p .cache/local
    (umask 077 && node -e 'process.stdout.write("psk_" + require("crypto").randomBytes(32).toString("base64url"))' > "$key_file")
  fi
  ADMIN_API_KEYS="$(node -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync(process.argv[1], "utf8")).digest("hex"))' "$key_file")"
  export ADMIN_API_KEYS OPEN_API=true
  console_key_note="  Console  http://localhost:$PORT/ops   admin key: $(cat "$key_file")  (also in $key_file)"
fi

# One instance, as always: in the foreground.
if (( instances == 1 && workers == 0 )); then
  cat <<INFO
[local] starting the app on port $PORT (roles ${APP_ROLES:-all}; Ctrl-C stops it; 'bash scripts/stack.sh down' stops Kafka)
  API      POST http://localhost:$PORT/api/payments
  Docs     http://localhost:$PORT/api/docs
  Health   http://localhost:$PORT/health
  Metrics  http://localhost:$PORT/metrics
${console_key_note:-  Console  http://localhost:$PORT/ops   (sign in with an admin key of ADMIN_API_KEYS)}
INFO
  exec node --max-semi-space-size=32 dist/main.js
fi

# Several: with workers, the first instances serve the API only (unless APP_ROLES says otherwise).
front_roles="${APP_ROLES:-$( (( workers > 0 )) && echo api || echo all )}"
pids=()
stop_all() {
  trap - INT TERM EXIT
  echo "[local] stopping ${#pids[@]} instance(s) ..."
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop_all INT TERM EXIT

start_instance() {
  local name="$1" roles="$2" port="$3"
  # Migrations already ran above; instances starting together must not race on them.
  APP_ROLES="$roles" PORT="$port" KAFKA_CLIENT_ID="payments-$name" DB_MIGRATIONS_RUN=false \
    node --max-semi-space-size=32 dist/main.js > >(sed -u "s/^/[$name:$port] /") 2>&1 &
  pids+=("$!")
  printf '[local] %-10s roles %-24s http://localhost:%s  (health /health, metrics /metrics)\n' "$name" "$roles" "$port"
}

port="$PORT"
for ((i = 1; i <= instances; i++)); do start_instance "app-$i" "$front_roles" "$port"; port=$((port + 1)); done
for ((i = 1; i <= workers; i++)); do start_instance "worker-$i" "workers" "$port"; port=$((port + 1)); done
[[ -n "$console_key_note" ]] && echo "[local] $console_key_note"
echo "[local] Ctrl-C stops them all. Consumer groups: ${KAFKA_TOPIC_PREFIX:-}payments-validation, -fraud, -ledger"
# Ends when any instance ends (then the trap stops the others).
wait -n "${pids[@]}" || true
