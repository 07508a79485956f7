#!/usr/bin/env bash
# db_conn_exhaust: hold <clients> real PostgreSQL connections open (psql + pg_sleep).
# usage: db_conn_exhaust.sh {start [--max-runtime S] [--lease S] <conn_string> <clients> | stop | status | renew | --help}
#
# Each client is a psql process (application_name report-batch, like a runaway batch job)
# that connects, enables client_connection_check_interval (PostgreSQL 14+, so the server drops
# the backend within a second of the client dying) and sleeps in pg_sleep until the deadline.
# The conn string is passed to psql as one argv element (--dbname=...), never through a shell.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

CHAOS_NAME=db_conn_exhaust
CHAOS_ARGS_USAGE='<conn_string> <clients>'
CHAOS_DESCRIPTION='Exhausts PostgreSQL connections: <clients> psql processes (application_name report-batch)
each hold one connection open in pg_sleep until stop or the deadline.'
CHAOS_ARGS_HELP="  conn_string  libpq URI (postgresql://user@host:port/db) or keyword string
               ('host=/run/postgresql port=5432 dbname=app user=app'); letters, digits and
               space . _ : / @ % = ? , + - only; at most 512 characters. A password in it is
               visible in ps: prefer ~/.pgpass or peer auth
  clients      connections to hold, 1..500"
CHAOS_PROCESS_FAULT=1
CHAOS_EXTRA_FILES=(clients)
readonly DB_APP_NAME=report-batch
readonly -a DB_KEYWORDS=(host hostaddr port dbname user password sslmode connect_timeout
  target_session_attrs application_name)

# shellcheck source=lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"

# Passwords never reach logs, state or status.
db_redact() {
  local s=$1
  [[ $s =~ ^(.*password=)[^\ ]*(.*)$ ]] && s="${BASH_REMATCH[1]}***${BASH_REMATCH[2]}"
  [[ $s =~ ^([a-z]+://[^:/@]*):[^@/]*@(.*)$ ]] && s="${BASH_REMATCH[1]}:***@${BASH_REMATCH[2]}"
  printf '%s' "$s"
}

db_conn_problem() {
  local c=$1 tok key k ok
  ((${#c} >= 1 && ${#c} <= 512)) || { printf 'must be 1..512 characters'; return 0; }
  [[ $c =~ ^[A-Za-z0-9\ ._:/@%=?,+-]+$ ]] ||
    { printf 'may only contain letters, digits and space . _ : / @ %% = ? , + - (no shell metacharacters)'; return 0; }
  if [[ $c =~ ^postgres(ql)?:// ]]; then
    [[ $c != *" "* ]] || printf 'a URI may not contain spaces'
    return 0
  fi
  for tok in $c; do
    key=${tok%%=*}
    [[ $tok == *=?* && $key != "$tok" ]] || { printf "'%s' is not key=value" "$tok"; return 0; }
    ok=0
    for k in "${DB_KEYWORDS[@]}"; do [[ $key == "$k" ]] && ok=1; done
    ((ok)) || { printf "unsupported keyword '%s' (allowed: %s)" "$key" "${DB_KEYWORDS[*]}"; return 0; }
  done
  return 0
}

scenario_parse_args() {
  (($# == 2)) || chaos_usage_error "start needs exactly 2 arguments: $CHAOS_ARGS_USAGE (got $#)"
  local problem
  problem=$(db_conn_problem "$1")
  [[ -z $problem ]] || chaos_usage_error "invalid conn_string '$(db_redact "$1")': $problem"
  chaos_require_int clients "$2" 1 500
  SC_CONN=$1
  SC_CLIENTS=$2
  SC_STATE=([clients]=$SC_CLIENTS [conn_redacted]=$(db_redact "$SC_CONN"))
}

scenario_load_state() {
  SC_CLIENTS=${ST[arg_clients]}
  SC_CONN=""
}

scenario_preflight() {
  command -v psql >/dev/null 2>&1 ||
    chaos_die "$CHAOS_EXIT_UNSUPPORTED" "psql (postgresql-client) is not installed; cannot open client connections on this host"
  local out
  if ! out=$(PGCONNECT_TIMEOUT=5 PGAPPNAME=$DB_APP_NAME timeout 15 \
    psql -X -q -At --no-password --dbname="$SC_CONN" -c 'SELECT 1' 2>&1 </dev/null); then
    chaos_die "$CHAOS_EXIT_FAIL" "cannot connect to PostgreSQL with $(db_redact "$SC_CONN"): $(head -n 1 <<<"$out")"
  fi
}

# The conn string must reach the fault process without being written to disk: pass it through
# the environment of the spawned process only.
scenario_inject() { export CHAOS_DB_CONN=$SC_CONN; }

db_connected() {
  local n=0
  [[ -f $(chaos_run_file clients) ]] && n=$(grep -c '^connected$' "$(chaos_run_file clients)" || true)
  printf '%s' "$n"
}

scenario_fault_main() {
  local conn=${CHAOS_DB_CONN:-} i hold out
  unset CHAOS_DB_CONN
  [[ -n $conn ]] || { chaos_log "no connection string handed over"; exit 1; }
  chaos_now
  hold=$((ST[deadline] - CHAOS_NOW + 5))
  out=$(chaos_run_file clients)
  : >"$out"
  for ((i = 0; i < SC_CLIENTS; i++)); do
    PGAPPNAME=$DB_APP_NAME PGCONNECT_TIMEOUT=10 psql -X -q -At --no-password --dbname="$conn" \
      -c 'SET client_connection_check_interval = 1000' \
      -c "SELECT 'connected'" \
      -c "SELECT pg_sleep($hold)" >>"$out" 2>>"$LOG_FILE" </dev/null &
  done
  printf 'spawned\n' >>"$out"
  wait || true
  chaos_log "all clients ended"
}

db_client_pids() {
  local p comm
  while IFS= read -r p; do
    comm=""
    { read -r comm <"/proc/$p/comm"; } 2>/dev/null || true
    [[ $comm == psql ]] && printf '%s\n' "$p"
  done < <(chaos_tagged_pids CHAOS_RUN_TAG "$RUN_DIR|$CHAOS_NAME|${ST[run_id]}")
}

# Waits until every client has either connected or given up (refused: too many clients, which
# is the fault working), then fails only if none got a connection.
scenario_post_start() {
  unset CHAOS_DB_CONN
  local ticks=100 clients_file alive
  clients_file=$(chaos_run_file clients)
  while ((ticks-- > 0)); do
    if grep -qx spawned "$clients_file" 2>/dev/null; then
      alive=$(db_client_pids | wc -l)
      ((alive == $(db_connected))) && break
    fi
    chaos_fault_alive || break
    sleep 0.1
  done
  if (($(db_connected) == 0)); then
    CHAOS_INJECT_ERROR="no client could connect: $(chaos_log_tail)"
    return 1
  fi
}

# psql turns SIGINT into a cancel request, so the server ends the pg_sleep at once.
scenario_pre_kill() {
  local p ticks=15
  local -a clients
  mapfile -t clients < <(db_client_pids)
  ((${#clients[@]})) || return 0
  kill -INT "${clients[@]}" 2>/dev/null || true
  for p in "${clients[@]}"; do
    while chaos_alive "$p" && ((ticks-- > 0)); do sleep 0.2; done
  done
}

scenario_detail() {
  printf '%s/%s clients connected as application_name=%s to %s' \
    "$(db_connected)" "$SC_CLIENTS" "$DB_APP_NAME" "${ST[arg_conn_redacted]}"
}

chaos_main "$@"
