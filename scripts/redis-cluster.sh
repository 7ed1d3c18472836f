#!/usr/bin/env bash
# A local six-node Redis Cluster (three masters, three replicas) from the machine's redis-server,
# for the cluster e2e suite, bench and chaos (REDIS_CLUSTER_NODES), as `scripts/kafka.sh cluster`
# is for Kafka. Nodes keep nothing on disk but their cluster config.
#
#   scripts/redis-cluster.sh up       six nodes on 127.0.0.1:$REDIS_CLUSTER_PORT.. (7101-7106), cluster created
#   scripts/redis-cluster.sh down     stops the nodes (their cluster config stays; no data is persisted)
#   scripts/redis-cluster.sh wipe     stops the nodes and deletes their data and config
#   scripts/redis-cluster.sh status   cluster_state and the masters; exit 1 unless ok
#   scripts/redis-cluster.sh kill-master N   kill -9 the node that serves slot N (for failover tests)
#   scripts/redis-cluster.sh start PORT      starts one stopped node again (it rejoins as a replica)
#   scripts/redis-cluster.sh nodes           prints the value for REDIS_CLUSTER_NODES
#
# Prints REDIS_CLUSTER_NODES=... when the cluster is ok. Idempotent: `up` twice is harmless.
set -euo pipefail

BASE_PORT="${REDIS_CLUSTER_PORT:-7101}"
DATA="${REDIS_CLUSTER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/payments-system/redis-cluster}"
PORTS=()
for i in 0 1 2 3 4 5; do PORTS+=($((BASE_PORT + i))); done

log() { printf '[redis-cluster] %s\n' "$*"; }
die() { printf '[redis-cluster] ERROR: %s\n' "$*" >&2; exit 1; }
cli() { local port="$1"; shift; timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@"; }
alive() { [[ "$(cli "$1" ping 2>/dev/null)" == PONG ]]; }
nodes_list() { local IFS=,; local hosts=(); for p in "${PORTS[@]}"; do hosts+=("127.0.0.1:$p"); done; echo "${hosts[*]}"; }
cluster_ok() { cli "$1" cluster info 2>/dev/null | tr -d '\r' | grep -q '^cluster_state:ok$'; }

start_node() {
  local port="$1" dir="$DATA/$1"
  alive "$port" && return 0
  command -v redis-server >/dev/null 2>&1 || die "redis-server not found: install redis-server"
  mkdir -p "$dir"
  # Failover fast (node timeout 2 s) so tests of a killed master do not wait long; no persistence:
  # a restarted node comes back empty and resyncs from its master, as a replica.
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
    --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 2000 --dir "$dir" \
    --save "" --appendonly no --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" </dev/null >/dev/null \
    || die "redis-server on port $port failed to start (see $dir/redis.log)"
  for _ in $(seq 40); do alive "$port" && return 0; sleep 0.25; done
  die "redis-server on port $port did not answer within 10 s (see $dir/redis.log)"
}

up() {
  for port in "${PORTS[@]}"; do start_node "$port"; done
  if ! cluster_ok "${PORTS[0]}"; then
    local known
    known="$(cli "${PORTS[0]}" cluster info | tr -d '\r' | sed -n 's/^cluster_known_nodes://p')"
    if [[ "$known" == 1 ]]; then
      log "creating the cluster: three masters, one replica each"
      local hosts=()
      for p in "${PORTS[@]}"; do hosts+=("127.0.0.1:$p"); done
      redis-cli --cluster create "${hosts[@]}" --cluster-replicas 1 --cluster-yes >"$DATA/create.log" 2>&1 \
        || { cat "$DATA/create.log" >&2; die "redis-cli --cluster create failed"; }
    fi
    for _ in $(seq 120); do cluster_ok "${PORTS[0]}" && break; sleep 0.25; done
    cluster_ok "${PORTS[0]}" || die "the cluster did not reach cluster_state:ok within 30 s (redis-cli -p ${PORTS[0]} cluster info)"
  fi
  # Every node must agree before clients trust the slot map.
  for port in "${PORTS[@]}"; do
    for _ in $(seq 120); do cluster_ok "$port" && break; sleep 0.25; done
    cluster_ok "$port" || die "node $port does not report cluster_state:ok within 30 s (redis-cli -p $port cluster info)"
  done
  log "ready: REDIS_CLUSTER_NODES=$(nodes_list)"
}

down() {
  for port in "${PORTS[@]}"; do
    if alive "$port"; then cli "$port" shutdown nosave >/dev/null 2>&1 || true; fi
  done
  log "stopped"
}

wipe() {
  down
  rm -rf "$DATA"
  log "wiped $DATA"
}

status() {
  local port
  for port in "${PORTS[@]}"; do
    if alive "$port" && cluster_ok "$port"; then
      log "cluster_state:ok via 127.0.0.1:$port"
      # CLUSTER NODES: id, ip:port@bus, flags, master id (replicas), ..., link state, slot ranges (from field 9).
      cli "$port" cluster nodes | tr -d '\r' | awk '
        { sub(/@.*/, "", $2) }
        $3 !~ /fail/ && $3 ~ /master/ { master[$1] = $2; print "[redis-cluster]   master " $2 " slots " $9 }
        $3 !~ /fail/ && $3 ~ /slave/ && $8 == "connected" { replica[$2] = $4 }
        END { for (r in replica) print "[redis-cluster]   replica " r " of " master[replica[r]] }'
      return 0
    fi
  done
  log "not ok"
  return 1
}

# The port of the live master that serves a slot, as a node in cluster_state:ok sees it now (one that
# was just restarted may still call itself master: it is not asked).
master_of_slot() {
  local slot="$1" port found
  for port in "${PORTS[@]}"; do
    alive "$port" && cluster_ok "$port" || continue
    # CLUSTER NODES: id, ip:port@bus, flags, ..., then the slot ranges (from field 9; [..] are migrations).
    found="$(cli "$port" cluster nodes | tr -d '\r' | awk -v slot="$slot" '$3 ~ /master/ && $3 !~ /fail/ {
      for (i = 9; i <= NF; i++) { if ($i ~ /^\[/) continue; n = split($i, r, "-"); if (n == 1) r[2] = r[1]
        if (r[1] + 0 <= slot && slot <= r[2] + 0) { split($2, a, "[:@,]"); print a[2]; exit } } }')"
    if [[ -n "$found" ]]; then echo "$found"; return 0; fi
  done
}

case "${1:-}" in
  up) mkdir -p "$DATA"; up ;;
  down) down ;;
  wipe) wipe ;;
  status) status ;;
  nodes) nodes_list ;;
  kill-master)
    port="$(master_of_slot "${2:?slot}")"
    [[ -n "$port" ]] || die "no live master serves slot $2"
    kill -9 "$(cat "$DATA/$port/redis.pid")"
    log "killed the master of slot $2 on port $port"
    echo "$port" ;;
  start) start_node "${2:?port}"; log "node $2 started" ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
