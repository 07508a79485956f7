#!/usr/bin/env bash
# Raises the open-files limit (RLIMIT_NOFILE) of a running process in place with prlimit, after
# checking the pid still names the same process (name and start time). The old limits are kept,
# so the rollback restores them.
# usage: raise_limit.sh {pin|check|apply|verify|rollback} NAME PID[:STARTTIME] NOFILE
# shellcheck source-path=SCRIPTDIR
REM_NAME=raise_limit
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

(($# == 4)) || rem_usage "usage: raise_limit.sh {pin|check|apply|verify|rollback} NAME PID[:STARTTIME] NOFILE"
VERB=$1 NAME=$2 TOKEN=$3 NOFILE=$4
rem_require_name "$NAME"
PID=${TOKEN%%:*} WANT=""
[[ $TOKEN == *:* ]] && WANT=${TOKEN#*:}
rem_require_pid "$PID"
[[ -z $WANT || $WANT =~ ^[0-9]+$ ]] || rem_usage "invalid start time in '$TOKEN'"
[[ $NOFILE =~ ^[0-9]{1,7}$ ]] || rem_usage "NOFILE must be 1024..1048576"
((NOFILE >= 1024 && NOFILE <= 1048576)) || rem_usage "NOFILE must be 1024..1048576"
OLD_FILE=$REM_STATE_DIR/raise_limit.$PID.${WANT:-0}

same() {
  local start
  start=$(rem_starttime "$PID") || return 1
  [[ -z $WANT || $start == "$WANT" ]] && rem_name_matches "$PID" "$NAME"
}
limits() { prlimit --pid "$PID" --nofile --output SOFT,HARD --noheadings | awk '{ print $1 ":" $2 }'; }

case $VERB in
  pin)
    same || rem_die "$REM_EXIT_PRECONDITION" "pid $PID is not $NAME"
    echo "PIN $PID:$(rem_starttime "$PID")"
    ;;
  check)
    same || rem_die "$REM_EXIT_PRECONDITION" "precondition: pid $PID is no longer $NAME (or restarted)"
    echo "ok: pid $PID is $NAME, open files limit $(limits)"
    ;;
  apply)
    [[ -n $WANT ]] || rem_usage "apply needs a pinned PID:STARTTIME (run pin first)"
    same || rem_die "$REM_EXIT_PRECONDITION" "precondition: pid $PID is no longer $NAME; nothing changed"
    rem_state_dir
    old=$(limits)
    printf '%s\n' "$old" >"$OLD_FILE"
    rem_log "prlimit --pid $PID --nofile=$NOFILE:$NOFILE (was $old)"
    prlimit --pid "$PID" --nofile="$NOFILE:$NOFILE" || rem_die "$REM_EXIT_FAIL" "prlimit failed"
    echo "open files limit of $NAME (pid $PID): $old -> $(limits)"
    ;;
  verify)
    same || rem_die "$REM_EXIT_UNVERIFIED" "pid $PID is gone"
    soft=$(limits)
    ((${soft%%:*} >= NOFILE)) || rem_die "$REM_EXIT_UNVERIFIED" "limit is $soft"
    echo "verified: open files limit of pid $PID is $soft"
    ;;
  rollback)
    old=""
    { read -r old <"$OLD_FILE"; } 2>/dev/null || true
    if [[ -n $old ]] && same; then
      prlimit --pid "$PID" --nofile="$old" || rem_die "$REM_EXIT_FAIL" "prlimit failed"
      echo "rolled back: open files limit of pid $PID is $old again"
    else
      echo "nothing to roll back: no old limit recorded, or pid $PID is gone"
    fi
    rm -f -- "$OLD_FILE"
    ;;
  *) rem_usage "unknown verb '$VERB'" ;;
esac
