# shellcheck shell=bash
# Shared by the remediation scripts (sourced, never run). Each script has the verbs
#   check ARGS     is the precondition true right now? (exit 0 yes, 5 no)
#   apply ARGS     re-check the precondition, then act (exit 0 done, 5 precondition gone, 1 failed)
#   verify ARGS    is the effect in place? (exit 0 yes, 6 not yet)
#   rollback ARGS  undo what apply did, where that is possible (exit 0 done or nothing to undo)
# and some have `pin` (print the identity the plan should carry, e.g. a pid's start time).
# Exit 2: bad arguments. Every action is appended to $REM_LOG with its arguments.
set -euo pipefail

# shellcheck disable=SC2034 # used by the scripts that source this file
readonly REM_EXIT_FAIL=1 REM_EXIT_USAGE=2 REM_EXIT_PRECONDITION=5 REM_EXIT_UNVERIFIED=6
REM_LOG=${CHAOS_REMEDIATE_LOG:-/var/log/chaos-remediate.log}
REM_STATE_DIR=${CHAOS_REMEDIATE_STATE_DIR:-/var/run/chaos-remediate}
REM_NAME=${REM_NAME:-remediate}

rem_log() { printf '%s %s[%d] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$REM_NAME" "$$" "$*" >>"$REM_LOG" 2>/dev/null || true; }
rem_die() {
  local code=$1
  shift
  printf '%s: %s\n' "$REM_NAME" "$*" >&2
  rem_log "exit $code: $*"
  exit "$code"
}
rem_usage() { rem_die "$REM_EXIT_USAGE" "$*"; }

rem_state_dir() { install -d -m 0700 "$REM_STATE_DIR"; }

# Field 22 of /proc/PID/stat (after the parenthesised comm, which may hold spaces).
rem_starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086 # split on purpose: the fields after comm
  set -- $stat
  [[ $1 != Z && $1 != X ]] || return 1
  printf '%s' "${20}"
}

rem_argv0() { tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | head -n 1; }

# The name the plan gave the process: argv[0] as ps shows it, its basename, or the kernel comm.
rem_name_matches() {
  local pid=$1 name=$2 argv0 comm=""
  argv0=$(rem_argv0 "$pid") || return 1
  { read -r comm <"/proc/$pid/comm"; } 2>/dev/null || true
  [[ -n $argv0 && ($argv0 == "$name" || ${argv0##*/} == "$name") ]] && return 0
  [[ -n $comm && $comm == "${name:0:15}" ]]
}

rem_require_pid() { [[ $1 =~ ^[1-9][0-9]{0,9}$ ]] || rem_usage "invalid pid '$1'"; }
rem_require_name() { [[ $1 =~ ^[^[:cntrl:]]{1,256}$ ]] || rem_usage "invalid process name"; }
