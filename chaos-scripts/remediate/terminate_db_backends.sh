#!/usr/bin/env bash
# Ends the PostgreSQL sessions of one application (pg_stat_activity.application_name), never a
# superuser's session and never its own. Connects as the postgres OS user over the local socket
# (peer authentication); a password, where one is needed, comes from that user's ~/.pgpass or
# PGPASSFILE, never from the command line.
# usage: terminate_db_backends.sh {check|apply|verify|rollback} APPLICATION_NAME
# shellcheck source-path=SCRIPTDIR
REM_NAME=terminate_db_backends
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

(($# == 2)) || rem_usage "usage: terminate_db_backends.sh {check|apply|verify|rollback} APPLICATION_NAME"
VERB=$1 APP=$2
[[ $APP =~ ^[A-Za-z0-9\ ._:@/-]{1,63}$ ]] || rem_usage "invalid application_name"
command -v psql >/dev/null 2>&1 || rem_die "$REM_EXIT_PRECONDITION" "psql is not installed"
id postgres >/dev/null 2>&1 || rem_die "$REM_EXIT_PRECONDITION" "no postgres OS user on this host"
# The port of the host's cluster when provision.sh set one up; else psql's default.
PGPORT_ARG=()
if [[ -r /etc/chaos-handler/postgresql.env ]]; then
  port=$(sed -n 's/^PGPORT=\([0-9]\{1,5\}\)$/\1/p' /etc/chaos-handler/postgresql.env)
  [[ -n $port ]] && PGPORT_ARG=(-p "$port")
fi

# SQL on stdin, so that psql interpolates :'app' (it does not in -c).
sql() {
  printf '%s\n' "$1" | runuser -u postgres -- timeout 30 psql -X -q -At --no-password -v ON_ERROR_STOP=1 -v app="$APP" "${PGPORT_ARG[@]}" -d postgres -f - 2>&1
}
readonly SESSIONS="FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid WHERE a.application_name = :'app' AND NOT r.rolsuper AND a.pid <> pg_backend_pid()"

count() { sql "SELECT count(*) $SESSIONS;"; }

case $VERB in
  check)
    n=$(count) || rem_die "$REM_EXIT_FAIL" "cannot query PostgreSQL: $n"
    ((n > 0)) || rem_die "$REM_EXIT_PRECONDITION" "precondition: no session of application $APP (superusers aside)"
    echo "ok: $n session(s) of application $APP"
    ;;
  apply)
    out=$(sql "SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid)) $SESSIONS;") || rem_die "$REM_EXIT_FAIL" "terminate failed: $out"
    ((out > 0)) || rem_die "$REM_EXIT_PRECONDITION" "precondition: no session of application $APP left to terminate"
    rem_log "terminated $out session(s) of $APP"
    echo "terminated $out session(s) of application $APP"
    ;;
  verify)
    for _ in $(seq 1 25); do
      n=$(count) || rem_die "$REM_EXIT_FAIL" "cannot query PostgreSQL: $n"
      ((n == 0)) && { echo "verified: no session of application $APP left"; exit 0; }
      sleep 0.2
    done
    rem_die "$REM_EXIT_UNVERIFIED" "$n session(s) of application $APP still open"
    ;;
  rollback)
    echo "nothing to roll back: terminated sessions are gone; clients reconnect on their own"
    ;;
  *) rem_usage "unknown verb '$VERB'" ;;
esac
