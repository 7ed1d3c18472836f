#!/usr/bin/env bash
# Local backing services for the payment service (dev + CI).
#
#   scripts/stack.sh up      PostgreSQL + Redis ready (started if installed but down),
#                            databases $DB_NAME and $TEST_DB_NAME (payments_test) created, Kafka started
#   scripts/stack.sh down    stops Kafka only (PostgreSQL/Redis are the machine's
#                            shared system services: left alone)
#   scripts/stack.sh status  one line per service; exit 1 if any is down
#
# Same env names as the app: DB_HOST DB_PORT DB_USER DB_PASSWORD DB_NAME,
# REDIS_HOST REDIS_PORT, KAFKA_BROKERS (plus KAFKA_PORT etc., see kafka.sh).
# Non-interactive (CI=true, no stdin) and idempotent: `up` twice is harmless.
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

DB_HOST="${DB_HOST:-127.0.0.1}"
DB_PORT="${DB_PORT:-5432}"
DB_USER="${DB_USER:-postgres}"
DB_PASSWORD="${DB_PASSWORD:-}"
DB_NAME="${DB_NAME:-payments}"
TEST_DB_NAME="${TEST_DB_NAME:-payments_test}"  # test/support/test-config.ts reads the same var
REDIS_HOST="${REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${REDIS_PORT:-6379}"
KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}"

# kafka.sh runs one local broker and takes its port from KAFKA_PORT. If only
# KAFKA_BROKERS was given (one local host:port), start the broker there.
if [[ -z "${KAFKA_PORT:-}" && "$KAFKA_BROKERS" =~ ^(127\.0\.0\.1|localhost):([0-9]+)$ ]]; then
  export KAFKA_PORT="${BASH_REMATCH[2]}"
fi

log() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# wait_ready CHECK TRIES PAUSE MESSAGE: runs CHECK until it succeeds (then logs MESSAGE), at most TRIES times.
wait_ready() {
  local check="$1" tries="$2" pause="$3" message="$4" i
  for ((i = 0; i < tries; i++)); do
    if "$check"; then
      log "$message"
      return 0
    fi
    sleep "$pause"
  done
  return 1
}
is_local() { [[ "$1" == 127.0.0.1 || "$1" == localhost || "$1" == ::1 ]]; }

# Password only when one is set: trust auth needs none, and an empty
# PGPASSWORD would still be sent.
if [[ -n "$DB_PASSWORD" ]]; then export PGPASSWORD="$DB_PASSWORD"; fi
export PGCONNECT_TIMEOUT=5

# ---------------------------------------------------------------- PostgreSQL

pg_ready() { pg_isready -q -h "$DB_HOST" -p "$DB_PORT" -t 3 >/dev/null 2>&1; }

ensure_postgres() {
  command -v pg_isready >/dev/null 2>&1 || die "pg_isready not found: install postgresql-client (and a PostgreSQL server)"
  if pg_ready; then
    log "postgres: ready on $DB_HOST:$DB_PORT"
    return 0
  fi
  # Only a local Debian cluster can be started from here.
  local ver=""
  [[ -d /etc/postgresql ]] && ver="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)"
  if ! is_local "$DB_HOST" || [[ -z "$ver" ]] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
    die "postgres is not answering on $DB_HOST:$DB_PORT and no local Debian cluster to start (need the postgresql package, or set DB_HOST/DB_PORT)"
  fi
  log "postgres: not ready, starting cluster $ver/main ..."
  # A failed start can still mean "already starting": keep its output, wait anyway.
  local out=""
  out="$(pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>&1 </dev/null)" \
    || log "postgres: pg_ctlcluster start failed (${out:-no output}); waiting in case it is already starting"
  wait_ready pg_ready 60 0.5 "postgres: ready on $DB_HOST:$DB_PORT" \
    || die "postgres did not become ready on $DB_HOST:$DB_PORT within 30s (see: pg_lsclusters; /var/log/postgresql/)"
}

psql_q() {
  psql -X -q -v ON_ERROR_STOP=1 -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d postgres -tA -c "$1" </dev/null
}

ensure_database() {
  local db="$1"
  # Plain identifiers only: the name goes into SQL, and the app uses it unquoted.
  [[ "$db" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "database name '$db' must match [A-Za-z_][A-Za-z0-9_]*"
  local exists
  exists="$(psql_q "SELECT 1 FROM pg_database WHERE datname = '$db'")" \
    || die "cannot query PostgreSQL on $DB_HOST:$DB_PORT as user '$DB_USER' (check DB_USER/DB_PASSWORD)"
  if [[ "$exists" == 1 ]]; then
    log "postgres: database $db exists"
    return 0
  fi
  # Another `up` may create it between the check and here: re-check on error.
  if psql_q "CREATE DATABASE \"$db\"" 2>/dev/null \
     || [[ "$(psql_q "SELECT 1 FROM pg_database WHERE datname = '$db'")" == 1 ]]; then
    log "postgres: database $db created"
  else
    die "could not create database $db as user '$DB_USER'"
  fi
}

# ---------------------------------------------------------------- Redis

redis_ready() { [[ "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

ensure_redis() {
  command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found: install redis-tools (and redis-server)"
  if redis_ready; then
    log "redis: ready on $REDIS_HOST:$REDIS_PORT"
    return 0
  fi
  if ! is_local "$REDIS_HOST" || ! command -v redis-server >/dev/null 2>&1; then
    die "redis is not answering on $REDIS_HOST:$REDIS_PORT and there is no local redis-server to start"
  fi
  log "redis: not answering, starting redis-server on port $REDIS_PORT ..."
  # Same flags the machine uses for its own Redis: loopback, no persistence.
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log </dev/null >/dev/null \
    || die "redis-server failed to start (see /var/log/redis/ci.log)"
  wait_ready redis_ready 40 0.25 "redis: ready on $REDIS_HOST:$REDIS_PORT" \
    || die "redis did not answer on $REDIS_HOST:$REDIS_PORT within 10s (see /var/log/redis/ci.log)"
}

# ---------------------------------------------------------------- commands

cmd_up() {
  local t0=$SECONDS
  ensure_postgres
  ensure_database "$DB_NAME"
  [[ "$TEST_DB_NAME" == "$DB_NAME" ]] || ensure_database "$TEST_DB_NAME"
  ensure_redis
  "$SCRIPTS/kafka.sh" start
  log "up in $((SECONDS - t0))s: DB_HOST=$DB_HOST DB_PORT=$DB_PORT DB_NAME=$DB_NAME (tests: $TEST_DB_NAME) REDIS_HOST=$REDIS_HOST REDIS_PORT=$REDIS_PORT KAFKA_BROKERS=$KAFKA_BROKERS"
}

cmd_down() {
  "$SCRIPTS/kafka.sh" stop
  log "postgres and redis left running (shared system services)"
}

cmd_status() {
  local bad=0
  if pg_ready; then log "postgres: ready on $DB_HOST:$DB_PORT"; else log "postgres: DOWN on $DB_HOST:$DB_PORT"; bad=1; fi
  if redis_ready; then log "redis: ready on $REDIS_HOST:$REDIS_PORT"; else log "redis: DOWN on $REDIS_HOST:$REDIS_PORT"; bad=1; fi
  "$SCRIPTS/kafka.sh" status || bad=1
  return "$bad"
}

case "${1:-}" in
  up)     cmd_up ;;
  down)   cmd_down ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 64
    ;;
esac
