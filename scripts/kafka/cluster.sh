# shellcheck shell=bash
# Sourced by scripts/kafka.sh: a three-node cluster (every node broker + controller, the three the
# quorum's voters), for replication and failover tests; it never touches the single node.
#
#   scripts/kafka.sh cluster start          start the nodes not running, wait until all answer
#   scripts/kafka.sh cluster stop           SIGTERM all three at once, SIGKILL after KAFKA_STOP_TIMEOUT
#   scripts/kafka.sh cluster status         one line per node; exit 0 all answer, 1 none runs, 2 some
#   scripts/kafka.sh cluster kill <n>       kill -9 node n (1..3): a crash
#   scripts/kafka.sh cluster start <n>      start node n again (after a kill), wait until it answers
#   scripts/kafka.sh cluster restart <n>    stop (SIGTERM) and start node n
#   scripts/kafka.sh cluster logs <n> [-f]  tail of node n's log
#   scripts/kafka.sh cluster wipe           delete the cluster's data (only when no node runs)
#
# Cluster env: KAFKA_CLUSTER_PORT (19092: nodes on 19092, 19093, 19094),
# KAFKA_CLUSTER_CONTROLLER_PORT (19192: 19192..19194), KAFKA_CLUSTER_DATA_DIR
# (<cache>/kafka-<version>/cluster-data, one node-<n> folder each), KAFKA_CLUSTER_HEAP_OPTS
# (-Xms128m -Xmx384m). Apps use KAFKA_BROKERS=127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094
# KAFKA_REPLICATION_FACTOR=3 (min.insync.replicas then 2).

CLUSTER_NODES=3
CLUSTER_PORT="${KAFKA_CLUSTER_PORT:-19092}"
CLUSTER_CONTROLLER_PORT="${KAFKA_CLUSTER_CONTROLLER_PORT:-19192}"
CLUSTER_DATA="${KAFKA_CLUSTER_DATA_DIR:-$KAFKA_DIR/cluster-data}"
# base64url("payments-cluster"): another cluster id than the single node's, so their data never mix.
CLUSTER_CLUSTER_ID="${KAFKA_CLUSTER_ID_3:-cGF5bWVudHMtY2x1c3Rlcg}"

cluster_voters() {
  local n out=""
  for ((n = 1; n <= CLUSTER_NODES; n++)); do
    out+="${out:+,}$n@127.0.0.1:$((CLUSTER_CONTROLLER_PORT + n - 1))"
  done
  echo "$out"
}

cluster_brokers() {
  local n out=""
  for ((n = 1; n <= CLUSTER_NODES; n++)); do out+="${out:+,}127.0.0.1:$((CLUSTER_PORT + n - 1))"; done
  echo "$out"
}

# Points every per-node global (ports, data dir, pid file, config) at node $1 of the cluster, so the
# single-node helpers above (find_broker, launch, wait_ready, stop_pid, ...) work on it unchanged.
use_node() {
  local n="$1"
  [[ "$n" =~ ^[1-3]$ ]] || die "node must be 1, 2 or 3 (got '$n')"
  NODE_ID="$n"
  KAFKA_PORT=$((CLUSTER_PORT + n - 1))
  KAFKA_CONTROLLER_PORT=$((CLUSTER_CONTROLLER_PORT + n - 1))
  DATA="$CLUSTER_DATA/node-$n"
  LOGS="$DATA/logs"
  PIDFILE="$DATA/kafka.pid"
  CONFIG="$DATA/server.properties"
  TEMPLATE="$INFRA/cluster.properties"
  VOTERS="$(cluster_voters)"
  CLUSTER_ID="$CLUSTER_CLUSTER_ID"
  LOCKFILE="$CACHE_DIR/kafka-cluster.lock"
}

cluster_check_ports() {
  local n p
  for ((n = 1; n <= CLUSTER_NODES; n++)); do
    for p in $((CLUSTER_PORT + n - 1)) $((CLUSTER_CONTROLLER_PORT + n - 1)); do
      (( p != 9092 && p != 9093 )) || die "the cluster must not use the single node's ports 9092/9093 (KAFKA_CLUSTER_PORT / KAFKA_CLUSTER_CONTROLLER_PORT)"
    done
  done
  (( CLUSTER_CONTROLLER_PORT >= CLUSTER_PORT + CLUSTER_NODES || CLUSTER_PORT >= CLUSTER_CONTROLLER_PORT + CLUSTER_NODES )) \
    || die "KAFKA_CLUSTER_PORT and KAFKA_CLUSTER_CONTROLLER_PORT ranges overlap"
}

# Launches node $1 unless it already runs (no waiting). Sets PID.
cluster_launch_node() {
  use_node "$1"
  mkdir -p "$DATA"
  find_broker
  if [[ -n "$PID" ]]; then
    log "node $1: already running (pid $PID, 127.0.0.1:$KAFKA_PORT)"
    return 0
  fi
  rm -f "$PIDFILE"
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if tcp_open "$port" || [[ -n "$(listener_pid "$port")" ]]; then
      die "node $1: port $port is already in use by $(describe_port_owner "$port")"
    fi
  done
  render_config
  format_storage
  mark_logs
  launch
  log "node $1: started pid $PID on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT, data $DATA)"
}

cluster_wait_node() {
  use_node "$1"
  find_broker
  [[ -n "$PID" ]] || die "node $1 is not running"
  local rc=0
  wait_ready "$START_TIMEOUT" || rc=$?
  if (( rc != 0 )); then
    echo "[kafka] ERROR: node $1 (pid $PID) $([[ $rc == 2 ]] && echo 'exited during startup' || echo "did not answer within ${START_TIMEOUT}s")" >&2
    show_log_tail
    return 1
  fi
  log "node $1: ready on 127.0.0.1:$KAFKA_PORT"
}

cluster_cmd() {
  local sub="${1:-}" node="${2:-}" n t0 rc
  SASL_PORT="" SSL_PORT=""  # the cluster is for failover tests: PLAINTEXT only
  read -r -a HEAP_OPTS <<<"${KAFKA_CLUSTER_HEAP_OPTS:--Xms128m -Xmx384m}"
  for p in "$CLUSTER_PORT" "$CLUSTER_CONTROLLER_PORT"; do
    [[ "$p" =~ ^[0-9]+$ ]] || die "not a number: '$p' (KAFKA_CLUSTER_PORT / KAFKA_CLUSTER_CONTROLLER_PORT)"
  done
  cluster_check_ports
  t0="$(now_ms)"
  case "$sub" in
    start)
      use_node 1; take_lock; check_java; ensure_libs
      if [[ -n "$node" ]]; then
        cluster_launch_node "$node"; cluster_wait_node "$node"
      else
        # All three first: none can answer before a majority of the voters is up.
        for ((n = 1; n <= CLUSTER_NODES; n++)); do cluster_launch_node "$n"; done
        for ((n = 1; n <= CLUSTER_NODES; n++)); do cluster_wait_node "$n" || exit 1; done
        log "cluster ready in $(secs_since "$t0")s: KAFKA_BROKERS=$(cluster_brokers) KAFKA_REPLICATION_FACTOR=3"
      fi
      ;;
    stop)
      use_node 1; take_lock
      local pids=()
      for ((n = 1; n <= CLUSTER_NODES; n++)); do
        use_node "$n"; find_broker
        if [[ -n "$PID" ]]; then pids+=("$PID"); kill -TERM "$PID" 2>/dev/null || true; fi
      done
      # Together: stopped one by one, the last two would wait on a quorum that is going away.
      for p in ${pids[@]+"${pids[@]}"}; do stop_pid "$p"; done
      for ((n = 1; n <= CLUSTER_NODES; n++)); do use_node "$n"; rm -f "$PIDFILE"; done
      log "cluster stopped (${#pids[@]} node(s)) in $(secs_since "$t0")s"
      ;;
    status)
      local up=0 running=0 rss
      for ((n = 1; n <= CLUSTER_NODES; n++)); do
        use_node "$n"; find_broker
        if [[ -z "$PID" ]]; then log "node $n: not running (127.0.0.1:$KAFKA_PORT)"; continue; fi
        running=$((running + 1))
        rss="$(ps -o rss= -p "$PID" | tr -d ' ')"
        if healthy; then
          up=$((up + 1)); log "node $n: running, pid $PID, 127.0.0.1:$KAFKA_PORT, RSS $(( ${rss:-0} / 1024 )) MB"
        else
          log "node $n: pid $PID alive but NOT answering on 127.0.0.1:$KAFKA_PORT"
        fi
      done
      log "KAFKA_BROKERS=$(cluster_brokers)"
      (( up == CLUSTER_NODES )) && return 0
      (( running == 0 )) && return 1
      return 2
      ;;
    kill)
      use_node "$node"; find_broker
      [[ -n "$PID" ]] || die "node $node is not running"
      kill -KILL "$PID"
      for ((n = 0; n < 40; n++)); do alive "$PID" || break; sleep 0.25; done
      rm -f "$PIDFILE"
      log "node $node: killed (SIGKILL, pid $PID)"
      ;;
    restart)
      use_node "$node"; take_lock; check_java; ensure_libs
      use_node "$node"; find_broker
      if [[ -n "$PID" ]]; then log "node $node: stopping pid $PID ..."; stop_pid "$PID"; rm -f "$PIDFILE"; fi
      cluster_launch_node "$node"; cluster_wait_node "$node"
      ;;
    logs)
      use_node "$node"; shift 2; cmd_logs "$@"
      ;;
    wipe)
      use_node 1; take_lock
      for ((n = 1; n <= CLUSTER_NODES; n++)); do
        use_node "$n"; find_broker
        [[ -z "$PID" ]] || die "node $n still runs (pid $PID): scripts/kafka.sh cluster stop first"
      done
      rm -rf "$CLUSTER_DATA"
      log "wiped $CLUSTER_DATA"
      ;;
    *)
      echo "usage: $0 cluster start [n]|stop|status|kill <n>|restart <n>|logs <n> [-f]|wipe" >&2
      exit 64
      ;;
  esac
}
