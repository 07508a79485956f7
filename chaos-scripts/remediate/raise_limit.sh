#!/usr/bin/env bash
# Raises the open-files limit (RLIMIT_NOFILE) of a running process in place with prlimit, after
# checking the pid still names the same process (name and start time). The old limits are kept,
# so the rollback restores them. Root without CAP_SYS_RESOURCE (a container, as Docker runs them)
# may not touch another user's limits: prlimit then runs as the process's own uid and gid, which
# may raise the soft limit up to the hard one (the usual case: a process at its soft limit).
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
# SOFT:HARD as /proc shows them (readable without CAP_SYS_RESOURCE, unlike prlimit's get).
limits() { awk '/^Max open files/ { print $4 ":" $5 }' "/proc/$PID/limits"; }
num() { if [[ $1 == unlimited ]]; then echo 9999999999; else echo "$1"; fi; }

# prlimit --nofile=SOFT:HARD on the pid: as root, else (EPERM) as the process's own real uid and gid.
set_limits() {
  local out uid gid
  out=$(prlimit --pid "$PID" --nofile="$1" 2>&1) && return 0
  uid=$(awk '/^Uid:/ { print $2 }' "/proc/$PID/status") gid=$(awk '/^Gid:/ { print $2 }' "/proc/$PID/status")
  [[ $uid =~ ^[0-9]+$ && $gid =~ ^[0-9]+$ ]] || { echo "$out"; return 1; }
  local own
  own=$(setpriv --reuid="$uid" --regid="$gid" --clear-groups prlimit --pid "$PID" --nofile="$1" 2>&1) && return 0
  echo "as root: $out; as uid $uid: $own"
  return 1
}

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
    [[ $old == *:* ]] || rem_die "$REM_EXIT_FAIL" "cannot read the limits of pid $PID"
    printf '%s\n' "$old" >"$OLD_FILE"
    rem_log "prlimit --pid $PID --nofile=$NOFILE:$NOFILE (was $old)"
    if ! out=$(set_limits "$NOFILE:$NOFILE"); then
      # Without the privilege to raise the hard limit: the soft one, as far as the hard one allows.
      hard=${old#*:}
      (($(num "$hard") > $(num "${old%%:*}"))) || rem_die "$REM_EXIT_FAIL" "prlimit failed: $out (the soft limit is already the hard limit, $hard)"
      want=$NOFILE
      (($(num "$hard") < NOFILE)) && want=$hard
      rem_log "prlimit --pid $PID --nofile=$want:$hard as the process's owner (root may not: $out)"
      out=$(set_limits "$want:$hard") || rem_die "$REM_EXIT_FAIL" "prlimit failed: $out"
      printf '%s\n' "$want" >>"$OLD_FILE"
      echo "open files limit of $NAME (pid $PID): $old -> $(limits) (the soft limit, up to the hard one: no CAP_SYS_RESOURCE to raise that)"
      exit 0
    fi
    echo "open files limit of $NAME (pid $PID): $old -> $(limits)"
    ;;
  verify)
    same || rem_die "$REM_EXIT_UNVERIFIED" "pid $PID is gone"
    soft=$(limits)
    # The target apply settled for when it could only reach the hard limit (second line), else NOFILE.
    want=$(sed -n 2p "$OLD_FILE" 2>/dev/null || true)
    [[ $want =~ ^[0-9]+$ || $want == unlimited ]] || want=$NOFILE
    (($(num "${soft%%:*}") >= $(num "$want"))) || rem_die "$REM_EXIT_UNVERIFIED" "limit is $soft"
    echo "verified: open files limit of pid $PID is $soft"
    ;;
  rollback)
    old=""
    { read -r old <"$OLD_FILE"; } 2>/dev/null || true
    if [[ -n $old ]] && same; then
      out=$(set_limits "$old") || rem_die "$REM_EXIT_FAIL" "prlimit failed: $out"
      echo "rolled back: open files limit of pid $PID is $old again"
    else
      echo "nothing to roll back: no old limit recorded, or pid $PID is gone"
    fi
    rm -f -- "$OLD_FILE"
    ;;
  *) rem_usage "unknown verb '$VERB'" ;;
esac
