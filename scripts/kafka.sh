#!/usr/bin/env bash
# Local Kafka broker for the payment service (dev + CI): one KRaft node that is
# both broker and controller, on 127.0.0.1, run straight from Maven Central jars
# (this machine cannot download Apache tarballs and has no Docker).
#
#   scripts/kafka.sh start      fetch jars if needed, format once, start, wait until it answers
#   scripts/kafka.sh stop       SIGTERM, wait up to KAFKA_STOP_TIMEOUT s, then SIGKILL
#   scripts/kafka.sh status     exit 0 running+answering, 1 not running, 2 running but not answering
#   scripts/kafka.sh restart
#   scripts/kafka.sh logs [-f]  tail of the broker log (WARN and up)
#
# Env: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), PAYMENTS_CACHE_DIR
# (~/.cache/payments-system), KAFKA_HEAP_OPTS (-Xms256m -Xmx512m), KAFKA_OPTS
# (extra JVM flags), KAFKA_START_TIMEOUT (60), KAFKA_STOP_TIMEOUT (30),
# KAFKA_AUTO_CREATE_TOPICS (true), KAFKA_DATA_DIR, KAFKA_VERSION (default: the
# pom's; only 4.x jars/config layout is supported).
# Works non-interactively (CI=true, no stdin). Safe to run `start` repeatedly.
#
# SASL (to test the app's KAFKA_SASL_* settings against a real broker): KAFKA_SASL_PORT (empty: off)
# adds a SASL_PLAINTEXT listener on 127.0.0.1 taking PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for the
# users of KAFKA_SASL_USERS ("payments:payments-secret", comma-separated user:password). SCRAM users
# are written when the storage is formatted, so use them with a fresh KAFKA_DATA_DIR.
# TLS likewise: KAFKA_SSL_PORT (empty: off) adds an SSL listener whose key and certificate chain come
# from KAFKA_SSL_KEYSTORE_PEM (one PEM file: unencrypted PKCS#8 private key, then the certificates).
# KAFKA_LOCK_FILE (<cache>/kafka.lock) lets a throw-away broker (own ports and data) use its own lock.
#
# A three-node cluster (every node broker + controller, the three the quorum's voters), for
# replication and failover tests; it never touches the single node above:
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
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA="$ROOT/infra/kafka"
POM="$INFRA/pom.xml"

: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
CACHE_DIR="${PAYMENTS_CACHE_DIR:-$HOME/.cache/payments-system}"
KAFKA_VERSION="${KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
AUTO_CREATE_TOPICS="${KAFKA_AUTO_CREATE_TOPICS:-true}"
# Fixed id = base64url("payments-local-1"): formatting needs one, and a fixed
# one keeps the data dir reproducible. Only a local dev broker uses it.
CLUSTER_ID="${KAFKA_CLUSTER_ID:-cGF5bWVudHMtbG9jYWwtMQ}"

# Everything lives outside git. Jars and data are per version: a newer
# metadata.version cannot be read by an older broker.
KAFKA_DIR="$CACHE_DIR/kafka-$KAFKA_VERSION"
LIBS="$KAFKA_DIR/libs"
DATA="${KAFKA_DATA_DIR:-$KAFKA_DIR/kafka-data}"
LOGS="$DATA/logs"
PIDFILE="$DATA/kafka.pid"
CONFIG="$DATA/server.properties"
TEMPLATE="$INFRA/server.properties"
LOCKFILE="${KAFKA_LOCK_FILE:-$CACHE_DIR/kafka.lock}"
SASL_PORT="${KAFKA_SASL_PORT:-}"
SASL_USERS="${KAFKA_SASL_USERS:-payments:payments-secret}"
SSL_PORT="${KAFKA_SSL_PORT:-}"
SSL_KEYSTORE_PEM="${KAFKA_SSL_KEYSTORE_PEM:-}"
NODE_ID=1
VOTERS=""

log() { printf '[kafka] %s\n' "$*"; }
die() { printf '[kafka] ERROR: %s\n' "$*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

[[ -n "$KAFKA_VERSION" ]] || die "cannot read <kafka.version> from $POM"
for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$START_TIMEOUT" "$STOP_TIMEOUT"; do
  [[ "$p" =~ ^[0-9]+$ ]] || die "not a number: '$p' (check KAFKA_PORT / KAFKA_CONTROLLER_PORT / timeouts)"
done
[[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"
[[ "$AUTO_CREATE_TOPICS" == true || "$AUTO_CREATE_TOPICS" == false ]] \
  || die "KAFKA_AUTO_CREATE_TOPICS must be true or false"

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
read -r -a HEAP_OPTS <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
# Same GC flags as Kafka's own kafka-run-class.sh, plus: die on OOM instead of limping.
read -r -a JVM_OPTS <<<"${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}"
read -r -a EXTRA_OPTS <<<"${KAFKA_OPTS:-}"
# Short-lived CLI tools (format, probe): small heap + C1 only = ~1 s JVM start.
TOOL_OPTS=(-Xms32m -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
  "-Dlog4j2.configurationFile=$INFRA/log4j2-tools.xml")

# ---------------------------------------------------------------- helpers

check_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (Kafka $KAFKA_VERSION needs Java 17+; set JAVA_HOME or install openjdk-17-jre-headless)"
  local v
  v="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${v%%.*}" =~ ^[0-9]+$ && "${v%%.*}" -ge 17 ]] || die "Kafka $KAFKA_VERSION needs Java 17+, '$JAVA' is '${v:-unknown}'"
}

# Jars come from Maven Central via infra/kafka/pom.xml. A marker file holding
# the version + pom hash makes later starts skip Maven entirely (offline-safe),
# and a pom edit re-fetches. Fetch into a temp dir so a failed or interrupted
# download never leaves a half-filled libs dir that looks complete.
ensure_libs() {
  local stamp marker="$LIBS/.complete"
  stamp="$KAFKA_VERSION $(sha256sum "$POM" | cut -d' ' -f1)"
  if [[ -f "$marker" && "$(cat "$marker")" == "$stamp" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "jars for Kafka $KAFKA_VERSION are not in $LIBS and mvn is not installed"
  mkdir -p "$KAFKA_DIR"
  local tmp="$KAFKA_DIR/libs.tmp.$$" t0
  t0="$(now_ms)"
  rm -rf "$tmp"
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS (first run only) ..."
  if ! mvn -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
      -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime \
      -DoutputDirectory="$tmp" >"$KAFKA_DIR/mvn.log" 2>&1; then
    tail -n 30 "$KAFKA_DIR/mvn.log" >&2 || true
    rm -rf "$tmp"
    die "Maven could not fetch the Kafka jars (full log: $KAFKA_DIR/mvn.log)"
  fi
  local j
  for j in "kafka_2.13-$KAFKA_VERSION.jar" "kafka-server-$KAFKA_VERSION.jar" \
           "kafka-tools-$KAFKA_VERSION.jar" "kafka-clients-$KAFKA_VERSION.jar"; do
    [[ -f "$tmp/$j" ]] || { rm -rf "$tmp"; die "Maven finished but $j is missing (see $KAFKA_DIR/mvn.log)"; }
  done
  ls "$tmp"/log4j-slf4j-impl-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "no log4j-slf4j-impl jar fetched: the broker would log nothing"; }
  echo "$stamp" >"$tmp/.complete"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  log "fetched $(find "$LIBS" -name "*.jar" | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) in $(secs_since "$t0")s"
}

# Alive = exists and is not a zombie (a broker started by this same script
# invocation stays a zombie child after it dies).
alive() {
  local st
  st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ "$st" != Z* ]]
}

# "Ours" = a kafka.Kafka JVM started on THIS data dir's config. Guards against
# pid reuse and against killing someone else's broker.
is_ours() {
  [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF "kafka.Kafka $CONFIG"
}

tcp_open() { timeout 2 bash -c ": >/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# pid listening on 127.0.0.1/any:$1, or nothing (never fails: used in $(...) under set -e).
listener_pid() {
  { ss -ltnpH "( sport = :$1 )" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2; } || true
}

describe_port_owner() {
  local pid
  pid="$(listener_pid "$1")"
  if [[ -n "$pid" ]]; then
    echo "pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-200)"
  else
    echo "unknown process (see: ss -ltnp '( sport = :$1 )')"
  fi
}

# A real request, not just a TCP accept: list topics through the admin client
# (Metadata request), with short client timeouts so a wedged broker fails fast.
probe() {
  [[ -f "$LIBS/.complete" ]] || return 1
  mkdir -p "$LOGS"
  printf 'request.timeout.ms=3000\ndefault.api.timeout.ms=5000\n' >"$DATA/probe.properties"
  timeout 20 "$JAVA" "${TOOL_OPTS[@]}" -cp "$LIBS/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list --command-config "$DATA/probe.properties" \
    >/dev/null 2>"$LOGS/probe.err"
}

healthy() { tcp_open "$KAFKA_PORT" && probe; }

# Sets PID to our live broker's pid, or to "" if none. Also finds a broker of
# ours whose pid file was lost (it owns the port and runs our config) and
# re-records it, so it is neither duplicated nor reported as a port clash.
PID=""
find_broker() {
  PID=""
  local p=""
  [[ -f "$PIDFILE" ]] && p="$(tr -dc '0-9' <"$PIDFILE")"
  if [[ -n "$p" ]] && alive "$p" && is_ours "$p"; then
    PID="$p"; return 0
  fi
  p="$(listener_pid "$KAFKA_PORT")"
  if [[ -n "$p" ]] && is_ours "$p"; then
    log "found our broker (pid $p) without a valid pid file; re-recording it"
    mkdir -p "$DATA" && echo "$p" >"$PIDFILE"
    PID="$p"
  fi
}

stop_pid() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || true
  kill -CONT "$pid" 2>/dev/null || true  # a SIGSTOPped JVM cannot act on SIGTERM
  for ((i = 0; i < STOP_TIMEOUT * 2; i++)); do
    alive "$pid" || return 0
    sleep 0.5
  done
  log "pid $pid still alive after ${STOP_TIMEOUT}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do
    alive "$pid" || return 0
    sleep 0.5
  done
  die "could not kill pid $pid"
}

# On a failed start, show what THIS attempt logged (the files are appended to
# across runs): remember their sizes before launching, print what came after.
declare -A LOG_MARK=()
mark_logs() {
  local f
  for f in "$LOGS/server.log" "$LOGS/kafka.out"; do
    LOG_MARK[$f]="$(stat -c %s "$f" 2>/dev/null || echo 0)"
  done
}
show_log_tail() {
  local f size mark
  for f in "$LOGS/server.log" "$LOGS/kafka.out" "$LOGS/probe.err"; do
    [[ -s "$f" ]] || continue
    size="$(stat -c %s "$f")"; mark="${LOG_MARK[$f]:-0}"
    (( size < mark )) && mark=0       # server.log rolled over meanwhile
    (( size > mark )) || continue     # nothing new from this start
    echo "----- $f (this start) -----" >&2
    tail -c +"$((mark + 1))" "$f" | tail -n 40 >&2
  done
}

# Serialise start/stop/restart: two concurrent `start`s (e.g. two terminals, or
# stack.sh + a test script) must not launch two brokers on one data dir.
take_lock() {
  mkdir -p "$CACHE_DIR"
  exec 9>"$LOCKFILE"
  flock -w 300 9 || die "another scripts/kafka.sh is still running (lock $LOCKFILE)"
}

# Wait until PID answers, at most $1 seconds. 0 = ready, 1 = timeout, 2 = died.
wait_ready() {
  local deadline=$(( $(date +%s) + $1 ))
  while (( $(date +%s) < deadline )); do
    alive "$PID" || return 2
    if tcp_open "$KAFKA_PORT" && probe; then return 0; fi
    sleep 0.5
  done
  return 1
}

render_config() {
  mkdir -p "$LOGS"
  sed -e "s|@PORT@|$KAFKA_PORT|g" \
      -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      -e "s|@LOG_DIRS@|$DATA/kraft|g" \
      -e "s|@AUTO_CREATE_TOPICS@|$AUTO_CREATE_TOPICS|g" \
      -e "s|@NODE_ID@|$NODE_ID|g" \
      -e "s|@VOTERS@|$VOTERS|g" \
      "$TEMPLATE" >"$CONFIG"
  [[ -z "$SASL_PORT" ]] || add_sasl_listener
  [[ -z "$SSL_PORT" ]] || add_ssl_listener
}

# A TLS listener next to PLAINTEXT: the broker's key and chain from one PEM file (Kafka's PEM keystore).
add_ssl_listener() {
  [[ "$SSL_PORT" =~ ^[0-9]+$ && "$SSL_PORT" != "$KAFKA_PORT" && "$SSL_PORT" != "$KAFKA_CONTROLLER_PORT" && "$SSL_PORT" != "$SASL_PORT" ]] \
    || die "KAFKA_SSL_PORT must be a port number of its own"
  [[ -r "$SSL_KEYSTORE_PEM" ]] || die "KAFKA_SSL_PORT needs KAFKA_SSL_KEYSTORE_PEM: a readable PEM file with the key and certificate chain"
  sed -i -e "s|^listeners=.*|&,SSL://127.0.0.1:$SSL_PORT|" \
         -e "s|^advertised.listeners=.*|&,SSL://127.0.0.1:$SSL_PORT|" \
         -e "s|^listener.security.protocol.map=.*|&,SSL:SSL|" "$CONFIG"
  cat >>"$CONFIG" <<SSL

# KAFKA_SSL_PORT: a TLS listener for the app's KAFKA_SSL_* settings (kafka.sh renders this part).
listener.name.ssl.ssl.keystore.type=PEM
listener.name.ssl.ssl.keystore.location=$SSL_KEYSTORE_PEM
listener.name.ssl.ssl.client.auth=none
SSL
}

# A third listener, SASL_PLAINTEXT, next to PLAINTEXT (which the probe and the other tools keep using).
add_sasl_listener() {
  [[ "$SASL_PORT" =~ ^[0-9]+$ && "$SASL_PORT" != "$KAFKA_PORT" && "$SASL_PORT" != "$KAFKA_CONTROLLER_PORT" ]] \
    || die "KAFKA_SASL_PORT must be a port number other than KAFKA_PORT and KAFKA_CONTROLLER_PORT"
  local plain_users="" pair
  for pair in ${SASL_USERS//,/ }; do
    [[ "$pair" =~ ^[A-Za-z0-9._-]+:[^\"[:space:]]+$ ]] || die "KAFKA_SASL_USERS: '$pair' is not user:password"
    plain_users+=" user_${pair%%:*}=\"${pair#*:}\""
  done
  sed -i -e "s|^listeners=.*|&,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT|" \
         -e "s|^advertised.listeners=.*|&,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT|" \
         -e "s|^listener.security.protocol.map=.*|&,SASL_PLAINTEXT:SASL_PLAINTEXT|" "$CONFIG"
  cat >>"$CONFIG" <<SASL

# KAFKA_SASL_PORT: a SASL listener for the app's KAFKA_SASL_* settings (kafka.sh renders this part).
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required${plain_users};
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
SASL
}

# --add-scram arguments for StorageTool format: every KAFKA_SASL_USERS user, both SCRAM mechanisms.
scram_args() {
  [[ -n "$SASL_PORT" ]] || return 0
  local pair
  for pair in ${SASL_USERS//,/ }; do
    printf '%s\n' --add-scram "SCRAM-SHA-256=[name=${pair%%:*},password=${pair#*:}]" \
                   --add-scram "SCRAM-SHA-512=[name=${pair%%:*},password=${pair#*:}]"
  done
}

# KRaft needs its storage formatted once (writes meta.properties + bootstrap
# metadata). Skip when already done; --ignore-formatted is a second guard.
format_storage() {
  [[ -f "$DATA/kraft/meta.properties" ]] && return 0
  log "formatting KRaft storage in $DATA/kraft (cluster id $CLUSTER_ID)"
  local scram=()
  mapfile -t scram < <(scram_args)
  if ! "$JAVA" "${TOOL_OPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format \
      --cluster-id "$CLUSTER_ID" --config "$CONFIG" --ignore-formatted ${scram[@]+"${scram[@]}"} \
      >"$LOGS/format.log" 2>&1; then
    cat "$LOGS/format.log" >&2
    die "kafka storage format failed"
  fi
}

launch() {
  # setsid: survives the caller's terminal/CI step ending; stdin closed; the lock
  # fd (9) closed so the broker does not hold the lock forever; cwd = data dir
  # so a JVM crash file lands there, not in the repo.
  (
    cd "$DATA"
    exec setsid nohup "$JAVA" "${HEAP_OPTS[@]}" "${JVM_OPTS[@]}" ${EXTRA_OPTS[@]+"${EXTRA_OPTS[@]}"} \
      "-Dkafka.logs.dir=$LOGS" "-Dlog4j2.configurationFile=$INFRA/log4j2.xml" \
      -cp "$LIBS/*" kafka.Kafka "$CONFIG" \
      >>"$LOGS/kafka.out" 2>&1 </dev/null 9>&-
  ) &
  PID=$!
  echo "$PID" >"$PIDFILE"
}

# ---------------------------------------------------------------- commands

cmd_start() {
  local t0 age rc
  t0="$(now_ms)"
  take_lock
  check_java
  ensure_libs
  mkdir -p "$DATA"

  find_broker
  if [[ -n "$PID" ]]; then
    if healthy; then
      log "already running: pid $PID on 127.0.0.1:$KAFKA_PORT (Kafka $KAFKA_VERSION)"
      return 0
    fi
    # Maybe it is still booting (started moments ago): give it the rest of the
    # start timeout before calling it wedged.
    age="$(ps -o etimes= -p "$PID" | tr -d ' ')"
    if (( ${age:-0} < START_TIMEOUT )); then
      log "pid $PID started ${age}s ago and is not answering yet; waiting"
      rc=0; wait_ready $(( START_TIMEOUT - age )) || rc=$?
      if (( rc == 0 )); then
        log "ready: pid $PID on 127.0.0.1:$KAFKA_PORT"
        return 0
      fi
    fi
    if alive "$PID"; then
      log "pid $PID is alive but not answering on 127.0.0.1:$KAFKA_PORT; restarting it"
      stop_pid "$PID"
    fi
    rm -f "$PIDFILE"
  elif [[ -f "$PIDFILE" ]]; then
    log "stale pid file (pid $(tr -dc '0-9' <"$PIDFILE") is gone); starting a new broker"
    rm -f "$PIDFILE"
  fi

  # Not ours and the port answers: something else has it. Fail loudly rather
  # than let the app talk to a stranger.
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" ${SASL_PORT:+"$SASL_PORT"} ${SSL_PORT:+"$SSL_PORT"}; do
    if tcp_open "$port" || [[ -n "$(listener_pid "$port")" ]]; then
      die "port $port is already in use by $(describe_port_owner "$port"). Stop it, or pick other ports with KAFKA_PORT / KAFKA_CONTROLLER_PORT / KAFKA_SASL_PORT."
    fi
  done

  render_config
  format_storage
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT, heap ${HEAP_OPTS[*]}, data $DATA)"
  mark_logs
  launch
  rc=0; wait_ready "$START_TIMEOUT" || rc=$?
  if (( rc != 0 )); then
    if (( rc == 2 )); then
      echo "[kafka] ERROR: the broker (pid $PID) exited during startup" >&2
    else
      echo "[kafka] ERROR: the broker (pid $PID) did not answer on 127.0.0.1:$KAFKA_PORT within ${START_TIMEOUT}s" >&2
    fi
    show_log_tail
    alive "$PID" && stop_pid "$PID"
    rm -f "$PIDFILE"
    exit 1
  fi
  log "ready: pid $PID on 127.0.0.1:$KAFKA_PORT in $(secs_since "$t0")s (KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT)"
}

cmd_stop() {
  local t0
  t0="$(now_ms)"
  take_lock
  find_broker
  if [[ -z "$PID" ]]; then
    [[ -f "$PIDFILE" ]] && rm -f "$PIDFILE"
    log "not running (port $KAFKA_PORT)"
    return 0
  fi
  log "stopping pid $PID ..."
  stop_pid "$PID"
  rm -f "$PIDFILE"
  log "stopped in $(secs_since "$t0")s"
}

cmd_status() {
  find_broker
  if [[ -n "$PID" ]]; then
    local rss
    rss="$(ps -o rss= -p "$PID" | tr -d ' ')"
    if healthy; then
      log "running: pid $PID, 127.0.0.1:$KAFKA_PORT, Kafka $KAFKA_VERSION, RSS $(( ${rss:-0} / 1024 )) MB, data $DATA"
      return 0
    fi
    log "pid $PID is alive but NOT answering on 127.0.0.1:$KAFKA_PORT (scripts/kafka.sh start restarts it)"
    return 2
  fi
  if tcp_open "$KAFKA_PORT"; then
    log "not running (but port $KAFKA_PORT is used by $(describe_port_owner "$KAFKA_PORT"))"
  elif [[ -f "$PIDFILE" ]]; then
    log "not running (stale pid file $PIDFILE)"
  else
    log "not running"
  fi
  return 1
}

cmd_logs() {
  local f="$LOGS/server.log"
  [[ -f "$f" ]] || die "no log yet at $f"
  if [[ "${1:-}" == "-f" ]]; then
    exec tail -n 50 -F "$f"
  fi
  tail -n "${KAFKA_LOG_LINES:-100}" "$f"
  if [[ -s "$LOGS/kafka.out" ]]; then
    echo "----- $LOGS/kafka.out (JVM stdout/stderr) -----"
    tail -n 20 "$LOGS/kafka.out"
  fi
}


# ---------------------------------------------------------------- three-node cluster

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

case "${1:-}" in
  cluster) shift; cluster_cmd "$@"; exit $? ;;
esac

case "${1:-}" in
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  status)  cmd_status ;;
  restart) cmd_stop; exec 9>&-; cmd_start ;;
  logs)    shift; cmd_logs "$@" ;;
  *)
    echo "usage: $0 start|stop|status|restart|logs [-f]" >&2
    exit 64
    ;;
esac
