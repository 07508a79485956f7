#!/usr/bin/env bash
# Stops a runaway process: SIGTERM, SIGKILL after 5 s. Each pid is pinned to its start time when
# the plan is proposed, and the name and start time are checked again right before the signal,
# so a pid reused since the evidence is never touched.
# usage: stop_process.sh {pin|check|apply|verify|rollback} NAME PID[:STARTTIME]...
# shellcheck source-path=SCRIPTDIR
REM_NAME=stop_process
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

(($# >= 3)) || rem_usage "usage: stop_process.sh {pin|check|apply|verify|rollback} NAME PID[:STARTTIME]..."
VERB=$1 NAME=$2
shift 2
rem_require_name "$NAME"
TOKENS=("$@")
for t in "${TOKENS[@]}"; do
  rem_require_pid "${t%%:*}"
  [[ $t != *:* || ${t#*:} =~ ^[0-9]*$ ]] || rem_usage "invalid start time in '$t'"
done

# A process listening on a TCP port serves others: it is a service (restart_service's case), never
# a runaway to stop, even when it shares the runaway's name (two python3 processes).
listens() {
  local pid=$1 inodes
  inodes=$(find "/proc/$pid/fd" -maxdepth 1 -lname 'socket:*' -printf '%l\n' 2>/dev/null | sed 's/^socket:\[\([0-9]*\)\]$/\1/' | sort -u)
  [[ -n $inodes ]] || return 1
  awk 'NR > 1 && $4 == "0A" { print $10 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u | grep -qxF -f <(printf '%s\n' "$inodes")
}

# Prints "PID:STARTTIME" for each token still naming the same live process.
holding() {
  local t pid want start
  for t in "${TOKENS[@]}"; do
    pid=${t%%:*} want=${t#*:}
    [[ $t == *:* ]] || want=""
    start=$(rem_starttime "$pid") || continue
    [[ -z $want || $start == "$want" ]] || continue
    rem_name_matches "$pid" "$NAME" || continue
    if listens "$pid"; then
      echo "pid $pid ($NAME) listens on a TCP port: a service, not stopped" >&2
      continue
    fi
    printf '%s:%s\n' "$pid" "$start"
  done
}

pinned() {
  local t
  for t in "${TOKENS[@]}"; do [[ $t == *:?* ]] || rem_usage "apply needs pinned PID:STARTTIME tokens (run pin first)"; done
}

case $VERB in
  pin)
    mapfile -t live < <(holding)
    ((${#live[@]})) || rem_die "$REM_EXIT_PRECONDITION" "no process named $NAME among pids ${TOKENS[*]}"
    echo "PIN ${live[*]}"
    ;;
  check)
    mapfile -t live < <(holding)
    ((${#live[@]})) || rem_die "$REM_EXIT_PRECONDITION" "precondition: none of ${TOKENS[*]} is still $NAME with the same start time"
    echo "ok: ${#live[@]} process(es) still $NAME: ${live[*]}"
    ;;
  apply)
    pinned
    mapfile -t live < <(holding)
    ((${#live[@]})) || rem_die "$REM_EXIT_PRECONDITION" "precondition: none of ${TOKENS[*]} is still $NAME with the same start time; nothing signalled"
    for t in "${live[@]}"; do
      pid=${t%%:*}
      echo "stopping pid $pid ($NAME, started at tick ${t#*:}): $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-300)"
      rem_log "SIGTERM $pid ($NAME)"
      kill -TERM "$pid" 2>/dev/null || true
    done
    for _ in $(seq 1 50); do
      [[ -z $(holding) ]] && break
      sleep 0.1
    done
    mapfile -t left < <(holding)
    for t in "${left[@]}"; do
      rem_log "SIGKILL ${t%%:*} ($NAME)"
      kill -KILL "${t%%:*}" 2>/dev/null || true
    done
    sleep 0.2
    [[ -z $(holding) ]] || rem_die "$REM_EXIT_FAIL" "still running after SIGKILL: $(holding | tr '\n' ' ')"
    echo "stopped ${#live[@]} process(es) named $NAME${left[*]:+ (${#left[@]} needed SIGKILL)}"
    ;;
  verify)
    pinned
    still=$(holding)
    [[ -z $still ]] || rem_die "$REM_EXIT_UNVERIFIED" "still running: $(tr '\n' ' ' <<<"$still")"
    echo "verified: no process of ${TOKENS[*]} is running"
    ;;
  rollback)
    echo "nothing to roll back automatically: a stopped process cannot be resumed; start $NAME again the way it is normally started"
    ;;
  *) rem_usage "unknown verb '$VERB'" ;;
esac
