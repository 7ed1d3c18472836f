#!/usr/bin/env bash
# Local Kafka for the payment service (dev + CI): KRaft nodes on 127.0.0.1, run straight from Maven
# Central jars (this machine cannot download Apache tarballs and has no Docker).
#
#   scripts/kafka.sh start|stop|status|restart|logs [-f]   the single node on 9092   (kafka/single.sh)
#   scripts/kafka.sh cluster start [n]|stop|status|kill <n>|restart <n>|logs <n> [-f]|wipe
#                                                          three nodes on 19092..19094 (kafka/cluster.sh)
#
# One job per sourced part of scripts/kafka/, each with its commands and environment at its top:
# node.sh (what every node needs: settings, jars, probe, pid, lock, config, launch), security.sh (the
# single node's SASL and TLS listeners), single.sh, cluster.sh.
# Works non-interactively (CI=true, no stdin). Safe to run `start` repeatedly.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for part in node security single cluster; do
  # shellcheck source=/dev/null
  source "$ROOT/scripts/kafka/$part.sh"
done

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
