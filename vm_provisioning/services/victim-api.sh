#!/usr/bin/env bash
# Chaos-Handler pid-file service contract (hosts without systemd), installed by provision.sh as
# /etc/chaos-handler/services/victim-api.sh. Keeps the pid in /var/run/victim-api.pid.
#   start    start if not running (a stale pid file is cleaned up); exit 0 when running
#   stop     SIGTERM, then SIGKILL after 10 s; exit 0 when stopped
#   status   prints "victim-api running pid=N" (exit 0) or "victim-api stopped" (exit 3, LSB)
#   restart  stop, then start
# Settings come from /etc/chaos-handler/victim-api.env (written by provision.sh).
set -euo pipefail

NAME=victim-api
PIDFILE=/var/run/${NAME}.pid
ENV_FILE=${CHAOS_HANDLER_ETC:-/etc/chaos-handler}/${NAME}.env

usage() { echo "usage: $0 {start|stop|status|restart}" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
cd /

# shellcheck source=/dev/null
. "$ENV_FILE" || { echo "$NAME: cannot read $ENV_FILE" >&2; exit 1; }
: "${VICTIM_LISTEN:?} ${VICTIM_PORT:?} ${VICTIM_DSN:?} ${VICTIM_LOG:?} ${VICTIM_USER:?} ${VICTIM_APP:?}"
PYTHON=${VICTIM_PYTHON:-/usr/bin/python3}

# Prints the pid when the pid file names a live victim-api process (not a zombie, not a reused pid).
running_pid() {
  local pid state
  [[ -r $PIDFILE ]] || return 1
  pid=$(head -c 32 "$PIDFILE" | tr -dc '0-9')
  [[ -n $pid && -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^.*\) ([A-Z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null || true)
  [[ $state != Z && $state != X ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$VICTIM_APP" || return 1
  echo "$pid"
}

wait_listening() {
  local i
  for i in $(seq 1 50); do
    if "$PYTHON" - "$VICTIM_LISTEN" "$VICTIM_PORT" <<'PY' 2>/dev/null; then return 0; fi
import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=0.5).close()
PY
    running_pid >/dev/null || return 1
    sleep 0.2
    : "$i"
  done
  return 1
}

start() {
  local pid
  if pid=$(running_pid); then echo "$NAME running pid=$pid (already)"; return 0; fi
  rm -f "$PIDFILE"
  touch "$VICTIM_LOG"
  chown "$VICTIM_USER" "$VICTIM_LOG"
  start-stop-daemon --start --quiet --background --make-pidfile --pidfile "$PIDFILE" \
    --chuid "$VICTIM_USER" --chdir / --startas "$PYTHON" -- "$VICTIM_APP" \
    --listen "$VICTIM_LISTEN" --port "$VICTIM_PORT" --db "$VICTIM_DSN" --log "$VICTIM_LOG"
  if ! wait_listening; then
    echo "$NAME: failed to start (see $VICTIM_LOG)" >&2
    tail -n 5 "$VICTIM_LOG" >&2 || true
    return 1
  fi
  echo "$NAME running pid=$(running_pid)"
}

stop() {
  local pid i
  if ! pid=$(running_pid); then rm -f "$PIDFILE"; echo "$NAME stopped"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    running_pid >/dev/null || break
    sleep 0.2
    : "$i"
  done
  if running_pid >/dev/null; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  rm -f "$PIDFILE"
  echo "$NAME stopped"
}

case $1 in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status)
    if pid=$(running_pid); then echo "$NAME running pid=$pid"; else echo "$NAME stopped"; exit 3; fi
    ;;
  *) usage ;;
esac
