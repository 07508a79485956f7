#!/usr/bin/env bash
# Chaos-Handler pid-file service contract (hosts without systemd), installed by provision.sh as
# /etc/chaos-handler/services/postgresql.sh. Runs the victim cluster through pg_ctl and keeps the
# postmaster's pid in /var/run/postgresql.pid.
#   start    start if not running; after a SIGKILL it first removes what the dead postmaster left
#            (orphaned backends of this data directory), then starts; exit 0 when accepting
#   stop     pg_ctl stop -m fast, then -m immediate; exit 0 when stopped
#   status   prints "postgresql running pid=N" (exit 0) or "postgresql stopped" (exit 3, LSB)
#   restart  stop, then start
# Settings come from /etc/chaos-handler/postgresql.env (written by provision.sh).
set -euo pipefail

NAME=postgresql
PIDFILE=/var/run/${NAME}.pid
ENV_FILE=${CHAOS_HANDLER_ETC:-/etc/chaos-handler}/${NAME}.env

usage() { echo "usage: $0 {start|stop|status|restart}" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
cd /

# shellcheck source=/dev/null
. "$ENV_FILE" || { echo "$NAME: cannot read $ENV_FILE" >&2; exit 1; }
: "${PGBIN:?} ${PGDATA:?} ${PGPORT:?} ${PGLOG:?}"
PGOS_USER=${PGOS_USER:-postgres}
SOCKDIR=${PGSOCKDIR:-/var/run/postgresql}

as_pg() { runuser -u "$PGOS_USER" -- "$@"; }

# The postmaster pid, from our pid file or the cluster's own postmaster.pid, if it is alive.
running_pid() {
  local pid f state
  for f in "$PIDFILE" "$PGDATA/postmaster.pid"; do
    [[ -r $f ]] || continue
    pid=$(head -n 1 "$f" | tr -dc '0-9')
    [[ -n $pid && -r /proc/$pid/stat ]] || continue
    state=$(sed -E 's/^.*\) ([A-Z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null || true)
    [[ $state != Z && $state != X ]] || continue
    [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$(readlink -f "$PGDATA")" ]] || continue
    echo "$pid"
    return 0
  done
  return 1
}

# Backends survive a SIGKILLed postmaster for a moment and keep its shared memory attached,
# which makes the next start fail. They are the postgres processes whose cwd is the data directory.
kill_orphans() {
  local data p i found
  data=$(readlink -f "$PGDATA")
  for i in $(seq 1 25); do
    found=0
    for p in /proc/[0-9]*; do
      [[ $(readlink "$p/cwd" 2>/dev/null) == "$data" ]] || continue
      [[ $(cat "$p/comm" 2>/dev/null) == postgres ]] || continue
      found=1
      kill -KILL "${p#/proc/}" 2>/dev/null || true
    done
    [[ $found -eq 1 ]] || return 0
    sleep 0.2
    : "$i"
  done
}

start() {
  local pid
  if pid=$(running_pid); then echo "$pid" >"$PIDFILE"; echo "$NAME running pid=$pid (already)"; return 0; fi
  install -d -o "$PGOS_USER" -g "$PGOS_USER" -m 2775 "$SOCKDIR"
  install -d -o "$PGOS_USER" -g adm -m 2750 "$(dirname "$PGLOG")"
  kill_orphans
  rm -f "$PIDFILE" "$PGDATA/postmaster.pid"
  if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 60 -s start; then
    echo "$NAME: pg_ctl start failed (see $PGLOG)" >&2
    tail -n 5 "$PGLOG" >&2 || true
    return 1
  fi
  pid=$(head -n 1 "$PGDATA/postmaster.pid" | tr -dc '0-9')
  echo "$pid" >"$PIDFILE"
  echo "$NAME running pid=$pid"
}

stop() {
  if running_pid >/dev/null; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 30 -s stop ||
      as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 10 -s stop || true
  fi
  kill_orphans
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
