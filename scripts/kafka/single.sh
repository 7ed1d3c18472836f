# shellcheck shell=bash
# Sourced by scripts/kafka.sh: the commands of the single node (one KRaft process, broker and
# controller, on 127.0.0.1:9092), the broker of the stack and of most tests.
#
#   scripts/kafka.sh start      fetch jars if needed, format once, start, wait until it answers
#   scripts/kafka.sh stop       SIGTERM, wait up to KAFKA_STOP_TIMEOUT s, then SIGKILL
#   scripts/kafka.sh status     exit 0 running+answering, 1 not running, 2 running but not answering
#   scripts/kafka.sh restart
#   scripts/kafka.sh logs [-f]  tail of the broker log (WARN and up)

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
