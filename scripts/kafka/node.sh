# shellcheck shell=bash
# Sourced by scripts/kafka.sh: the settings and helpers every KRaft node uses, the single node on
# 9092 and each node of the cluster alike (jars, probe, pid file, lock, config, format, launch, logs).
# A node is described by globals (KAFKA_PORT, DATA, PIDFILE, CONFIG, …); cluster.sh's use_node points
# them at one of its nodes, so the same helpers serve both.
#
# Env: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), PAYMENTS_CACHE_DIR
# (~/.cache/payments-system), KAFKA_HEAP_OPTS (-Xms256m -Xmx512m), KAFKA_OPTS
# (extra JVM flags), KAFKA_START_TIMEOUT (60), KAFKA_STOP_TIMEOUT (30),
# KAFKA_AUTO_CREATE_TOPICS (true), KAFKA_DATA_DIR, KAFKA_VERSION (default: the
# pom's; only 4.x jars/config layout is supported).
# KAFKA_LOCK_FILE (<cache>/kafka.lock) lets a throw-away broker (own ports and data) use its own lock.

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
