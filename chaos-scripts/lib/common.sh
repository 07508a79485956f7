#!/usr/bin/env bash
# shellcheck shell=bash
#
# Shared machinery of the chaos scenario scripts: argument checks, state files, the lock, the
# detached watchdog (dead man's switch), process-tree teardown and the status JSON line.
# Sourced by <scenario>.sh after it has defined CHAOS_NAME and the scenario_* hooks; never run.
#
# Hooks a scenario defines (all run with the scenario's globals set from its arguments):
#   scenario_parse_args ARGS...  validate positional args (exit 2), set SC_* globals and SC_STATE
#   scenario_load_state          set SC_* globals back from the state array ST (arg_* keys)
#   scenario_preflight           host checks before anything changes (exit 2/4/1)
#   scenario_inject              persistent change made after the watchdog is armed (may be a no-op);
#                                on failure sets CHAOS_INJECT_ERROR (and CHAOS_INJECT_EXIT, default 1)
#   scenario_fault_main          body of the detached fault process (may exec)
#   scenario_post_start          wait until the fault is really in place (non-zero = start failed)
#   scenario_pre_kill            polite shutdown before the process tree is killed (may be a no-op)
#   scenario_revert              undo persistent changes; set CHAOS_REVERT_ERROR and fail if it can't
#   scenario_orphan_revert       undo leftovers when no state exists (stop without state)
#   scenario_detail              one-line human description of the running fault
# CHAOS_PROCESS_FAULT=1 means the fault *is* its processes (they end at duration); 0 means the fault
# is a change on the host (files, qdisc, stopped service) kept in place by a holder process.

set -euo pipefail
LC_ALL=C

# shellcheck disable=SC2034 # CHAOS_EXIT_UNSUPPORTED is used by the scenario scripts
readonly CHAOS_EXIT_FAIL=1 CHAOS_EXIT_USAGE=2 CHAOS_EXIT_RUNNING=3 CHAOS_EXIT_UNSUPPORTED=4
readonly CHAOS_DEFAULT_MAX_RUNTIME=300 CHAOS_MAX_RUNTIME_MIN=1 CHAOS_MAX_RUNTIME_MAX=7200
readonly CHAOS_DEFAULT_LEASE=30 CHAOS_LEASE_MIN=2 CHAOS_LEASE_MAX=3600
# Seconds a TERMed process tree gets before SIGKILL.
readonly CHAOS_TERM_GRACE=5

# shellcheck disable=SC2034 # used by scenario scripts to find their helpers
CHAOS_LIB_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
CHAOS_SELF=$(cd -- "$(dirname -- "${BASH_SOURCE[1]}")" && pwd -P)/$(basename -- "${BASH_SOURCE[1]}")

declare -A ST=()        # state of the current run, loaded from / saved to STATE_FILE
declare -A SC_STATE=()  # scenario arguments to persist (saved as arg_<key>)
CHAOS_REVERT_ERROR=""
CHAOS_START_OK=0
CHAOS_NOW=0

# ---------------------------------------------------------------------------------------------
# messages, time, JSON

chaos_now() { printf -v CHAOS_NOW '%(%s)T' -1; }

chaos_iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

chaos_log() {
  local ts
  ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  printf '%s %s[%d] %s\n' "$ts" "$CHAOS_NAME" "$BASHPID" "$*" >>"$LOG_FILE" 2>/dev/null || true
}

chaos_die() {
  local code=$1
  shift
  printf '%s: %s\n' "$CHAOS_NAME" "$*" >&2
  chaos_log "exit $code: $*"
  exit "$code"
}

chaos_usage_line() {
  printf '%s {start [--max-runtime S] [--lease S] %s | stop | status | renew | --help}' \
    "$CHAOS_NAME.sh" "$CHAOS_ARGS_USAGE"
}

chaos_usage_error() {
  printf '%s: %s\n' "$CHAOS_NAME" "$*" >&2
  printf 'usage: %s\n' "$(chaos_usage_line)" >&2
  exit "$CHAOS_EXIT_USAGE"
}

chaos_help() {
  cat <<EOF
usage: $(chaos_usage_line)

$CHAOS_DESCRIPTION

arguments:
$CHAOS_ARGS_HELP

start options:
  --max-runtime S  hard deadline: the host reverts the fault by itself after S seconds
                   (default $CHAOS_DEFAULT_MAX_RUNTIME, $CHAOS_MAX_RUNTIME_MIN..$CHAOS_MAX_RUNTIME_MAX)
  --lease S        dead man's switch: reverted unless 'renew' is called within S seconds
                   (default $CHAOS_DEFAULT_LEASE, $CHAOS_LEASE_MIN..$CHAOS_LEASE_MAX)

commands:
  start   validate, arm the watchdog, inject; prints the status line
  stop    revert fully and disarm the watchdog; idempotent; prints the status line
  status  prints one JSON line: scenario, state, pid, started_at, deadline, lease_expires_at, detail
  renew   pushes the lease forward by its length; prints the status line

exit codes: 0 ok, 1 failure, 2 bad arguments, 3 already running, 4 unsupported on this host
files: $RUN_DIR/chaos-$CHAOS_NAME.{pid,state,lease,lock,last}, log $LOG_FILE
EOF
}

# A JSON string literal for arbitrary text.
chaos_json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  s=${s//[[:cntrl:]]/}
  printf '"%s"' "$s"
}

# ---------------------------------------------------------------------------------------------
# argument validation

# chaos_require_int NAME VALUE MIN MAX: a plain decimal integer within bounds, else exit 2.
chaos_require_int() {
  local name=$1 value=$2 min=$3 max=$4
  if [[ ! $value =~ ^(0|[1-9][0-9]{0,8})$ ]] || ((value < min || value > max)); then
    chaos_usage_error "invalid $name '$value': must be an integer between $min and $max"
  fi
}

# ---------------------------------------------------------------------------------------------
# directories and files

chaos_resolve_dirs() {
  local fallback=0
  if [[ -n ${CHAOS_RUN_DIR:-} ]]; then
    RUN_DIR=$CHAOS_RUN_DIR
  elif ((EUID == 0)); then
    RUN_DIR=/var/run
  else
    RUN_DIR="${XDG_RUNTIME_DIR:-/tmp}/chaos-$EUID"
    fallback=1
  fi
  if [[ -n ${CHAOS_LOG_DIR:-} ]]; then
    LOG_DIR=$CHAOS_LOG_DIR
  elif [[ -z ${CHAOS_RUN_DIR:-} ]] && ((EUID == 0)); then
    LOG_DIR=/var/log/chaos
  else
    LOG_DIR=$RUN_DIR
  fi
  LOG_FILE=$LOG_DIR/chaos-$CHAOS_NAME.log
  PID_FILE=$RUN_DIR/chaos-$CHAOS_NAME.pid
  STATE_FILE=$RUN_DIR/chaos-$CHAOS_NAME.state
  LEASE_FILE=$RUN_DIR/chaos-$CHAOS_NAME.lease
  LOCK_FILE=$RUN_DIR/chaos-$CHAOS_NAME.lock
  LAST_FILE=$RUN_DIR/chaos-$CHAOS_NAME.last
  [[ $RUN_DIR == /* && $LOG_DIR == /* ]] || {
    printf '%s: CHAOS_RUN_DIR and CHAOS_LOG_DIR must be absolute paths\n' "$CHAOS_NAME" >&2
    exit "$CHAOS_EXIT_FAIL"
  }
  [[ -d $RUN_DIR ]] || mkdir -m 0700 -- "$RUN_DIR" 2>/dev/null || true
  [[ -d $LOG_DIR ]] || mkdir -m 0750 -- "$LOG_DIR" 2>/dev/null || true
  if ((fallback)); then
    # A shared /tmp lets anyone pre-create the directory: only trust one that is ours alone.
    local owner_mode
    owner_mode=$(stat -c '%u %a' -- "$RUN_DIR" 2>/dev/null || true)
    if [[ $owner_mode != "$EUID 700" || -L $RUN_DIR ]]; then
      printf '%s: run directory %s must be a directory owned by uid %s with mode 700\n' \
        "$CHAOS_NAME" "$RUN_DIR" "$EUID" >&2
      exit "$CHAOS_EXIT_FAIL"
    fi
  fi
  if [[ ! -d $RUN_DIR || ! -w $RUN_DIR ]]; then
    printf '%s: run directory %s is not writable\n' "$CHAOS_NAME" "$RUN_DIR" >&2
    exit "$CHAOS_EXIT_FAIL"
  fi
  if [[ ! -d $LOG_DIR || ! -w $LOG_DIR ]]; then
    LOG_DIR=$RUN_DIR
    LOG_FILE=$LOG_DIR/chaos-$CHAOS_NAME.log
  fi
}

# Extra per-run files a scenario keeps beside the state file (removed on revert).
chaos_run_file() { printf '%s/chaos-%s.%s' "$RUN_DIR" "$CHAOS_NAME" "$1"; }

chaos_lock() {
  local wait_s=${1:-60}
  exec 9>>"$LOCK_FILE"
  flock -w "$wait_s" 9 ||
    chaos_die "$CHAOS_EXIT_FAIL" "another $CHAOS_NAME operation holds $LOCK_FILE; try again"
}

chaos_unlock() { exec 9>&-; }

chaos_state_write() {
  local tmp="$STATE_FILE.tmp.$BASHPID" k v
  {
    for k in "${!ST[@]}"; do
      v=${ST[$k]//$'\n'/ }
      printf '%s=%s\n' "$k" "$v"
    done
  } >"$tmp"
  mv -f -- "$tmp" "$STATE_FILE"
}

# Loads STATE_FILE into ST (never sourced: it is data). Fails when there is no usable state.
chaos_state_load() {
  ST=()
  local line k
  [[ -f $STATE_FILE ]] || return 1
  while IFS= read -r line || [[ -n $line ]]; do
    k=${line%%=*}
    [[ $k =~ ^[a-z_][a-z0-9_]*$ ]] && ST[$k]=${line#*=}
  done <"$STATE_FILE" 2>/dev/null || return 1
  [[ -n ${ST[run_id]:-} ]]
}

chaos_lease_write() {
  local tmp="$LEASE_FILE.tmp.$BASHPID"
  printf '%s\n' "$1" >"$tmp"
  mv -f -- "$tmp" "$LEASE_FILE"
}

chaos_lease_read() {
  local v=""
  { read -r v <"$LEASE_FILE"; } 2>/dev/null || true
  [[ $v =~ ^[0-9]+$ ]] || v=0
  printf '%s' "$v"
}

# ---------------------------------------------------------------------------------------------
# processes

# chaos_proc_stat PID: sets PSTAT_STATE PSTAT_PPID PSTAT_PGRP PSTAT_START; fails if gone.
chaos_proc_stat() {
  local line rest
  local -a f
  { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
  rest=${line##*) }
  read -r -a f <<<"$rest"
  PSTAT_STATE=${f[0]}
  PSTAT_PPID=${f[1]}
  PSTAT_PGRP=${f[2]}
  PSTAT_START=${f[19]}
}

# chaos_alive PID [STARTTIME]: running (not a zombie) and, given a start time, the same process.
chaos_alive() {
  local pid=${1:-} start=${2:-}
  [[ $pid =~ ^[0-9]+$ ]] && ((pid > 1)) || return 1
  chaos_proc_stat "$pid" || return 1
  [[ $PSTAT_STATE != Z && $PSTAT_STATE != X ]] || return 1
  [[ -z $start || $start == "$PSTAT_START" ]]
}

chaos_starttime() {
  chaos_proc_stat "$1" || return 1
  printf '%s' "$PSTAT_START"
}

# PIDs of this process and its ancestors: never signalled by our own sweeps.
chaos_self_and_ancestors() {
  local p=$BASHPID
  CHAOS_EXCLUDE=("$$")
  while ((p > 1)); do
    CHAOS_EXCLUDE+=("$p")
    chaos_proc_stat "$p" || break
    p=$PSTAT_PPID
  done
}

# True when PID is our child, grandchild... (the helpers listing processes inherit our tag and
# session; they must not count as survivors).
chaos_is_descendant() {
  local p=$1 depth=0
  while ((depth++ < 16)) && chaos_proc_stat "$p"; do
    p=$PSTAT_PPID
    ((p == BASHPID)) && return 0
    ((p > 1)) || return 1
  done
  return 1
}

# Live processes whose environment holds VAR=VALUE exactly (every process we spawn is tagged).
chaos_tagged_pids() {
  local var=$1 value=$2 f
  grep -lzxF -- "$var=$value" /proc/[0-9]*/environ 2>/dev/null | while IFS= read -r f; do
    f=${f#/proc/}
    printf '%s\n' "${f%/environ}"
  done || true
}

# Live processes in the sessions SID... (our detached processes lead their own session). Needed
# beside the tags: stress-ng rewrites its workers' argv over their environment, erasing the tag.
chaos_session_members() {
  (($#)) || return 0
  awk -v sids=" $* " '{
      s = $0; sub(/^.*\) /, "", s); split(s, f, " ")
      if (f[1] != "Z" && index(sids, " " f[4] " ")) { p = FILENAME; gsub(/[^0-9]/, "", p); print p }
    }' /proc/[0-9]*/stat 2>/dev/null || true
}

# chaos_owned_pids VAR VALUE [LEADER_PID LEADER_START]: the tagged processes plus every member of
# a session led by one of them or by LEADER_PID. A session id stays allocated while any member
# lives, so a dead leader's session is still ours, unless its pid now names a different process.
chaos_owned_pids() {
  local var=$1 value=$2 leader=${3:-} leader_start=${4:-}
  local -a tagged sids
  mapfile -t tagged < <(chaos_tagged_pids "$var" "$value")
  sids=("${tagged[@]}")
  if [[ $leader =~ ^[0-9]+$ ]] && ((leader > 1)); then
    if ! chaos_proc_stat "$leader" || [[ -z $leader_start || $PSTAT_START == "$leader_start" ]]; then
      sids+=("$leader")
    fi
  fi
  { printf '%s\n' "${tagged[@]}"; chaos_session_members "${sids[@]}"; } | sort -un
}

# chaos_kill_owned VAR VALUE [LEADER_PID LEADER_START]: TERM, then KILL, everything
# chaos_owned_pids lists, except us and our ancestors; waits until it is gone. Fails if some
# process survives SIGKILL.
chaos_kill_owned() {
  local sig round p ticks
  chaos_self_and_ancestors
  local -a excl=("${CHAOS_EXCLUDE[@]}") victims candidates
  local -A sent
  for round in TERM KILL; do
    sent=()
    if [[ $round == TERM ]]; then ticks=$((CHAOS_TERM_GRACE * 5)); else ticks=15; fi
    while :; do
      victims=()
      mapfile -t candidates < <(chaos_owned_pids "$@")
      for p in "${candidates[@]}"; do
        [[ -n $p && " ${excl[*]} " != *" $p "* ]] || continue
        chaos_alive "$p" && ! chaos_is_descendant "$p" && victims+=("$p")
      done
      ((${#victims[@]} == 0)) && return 0
      for p in "${victims[@]}"; do
        [[ -n ${sent[$p]:-} ]] && continue
        kill "-$round" "$p" 2>/dev/null || true
        sent[$p]=1
      done
      ((ticks-- > 0)) || break
      sleep 0.2
    done
  done
  chaos_log "processes survived SIGKILL: ${victims[*]}"
  return 1
}

# Signals a whole process group whose leader is PID (our detached processes lead their session).
chaos_kill_group() {
  local sig=$1 pid=$2 start=${3:-}
  chaos_alive "$pid" "$start" || return 0
  [[ $PSTAT_PGRP == "$pid" ]] || return 0
  kill "-$sig" -- "-$pid" 2>/dev/null || true
}

chaos_wait_gone() {
  local pid=$1 start=${2:-} ticks=$((${3:-5} * 5))
  while chaos_alive "$pid" "$start"; do
    ((ticks-- > 0)) || return 1
    sleep 0.2
  done
}

# Starts "$CHAOS_SELF" SUBCOMMAND RUN_ID detached from the caller: new session, stdio to
# the log, the lock fd closed, so neither an SSH channel nor our lock waits on it. Sets
# CHAOS_SPAWNED_PID (setsid does not fork here: a background job is never a group leader).
# The fault's processes carry CHAOS_RUN_TAG, the watchdog CHAOS_WATCHDOG_TAG instead, so that
# killing the fault never hits the watchdog (nor the other way round).
# Under systemd the watchdog also leaves the SSH login's cgroup (systemd-run --scope execs in
# place, keeping the pid): logind's KillUserProcesses=yes would otherwise take it down with the
# SSH session. Should systemd-run fail, the watchdog is started without it.
chaos_spawn_internal() {
  local sub=$1 run_id=$2 tag_var=CHAOS_RUN_TAG
  shift 2
  local -a scope=()
  if [[ $sub == __watchdog ]]; then
    tag_var=CHAOS_WATCHDOG_TAG
    if [[ -d /run/systemd/system ]] && command -v systemd-run >/dev/null 2>&1; then
      scope=(systemd-run --scope --quiet --collect --unit="chaos-watchdog-$CHAOS_NAME-$run_id" --)
    fi
  fi
  chaos_spawn_raw "$sub" "$run_id" "$tag_var" "${scope[@]}"
  ((${#scope[@]})) || return 0
  local ticks=40 cmdline
  while ((ticks-- > 0)); do
    cmdline=$({ tr '\0' ' ' <"/proc/$CHAOS_SPAWNED_PID/cmdline"; } 2>/dev/null || true)
    [[ $cmdline == "$BASH $CHAOS_SELF $sub $run_id " ]] && return 0
    chaos_alive "$CHAOS_SPAWNED_PID" || break
    sleep 0.05
  done
  chaos_log "systemd-run --scope did not start the $sub; starting it without systemd-run"
  chaos_spawn_raw "$sub" "$run_id" "$tag_var"
}

chaos_spawn_raw() {
  local sub=$1 run_id=$2 tag_var=$3
  shift 3
  env CHAOS_RUN_DIR="$RUN_DIR" CHAOS_LOG_DIR="$LOG_DIR" \
    CHAOS_OWNER="$RUN_DIR" CHAOS_SCENARIO_TAG="$RUN_DIR|$CHAOS_NAME" \
    "$tag_var=$RUN_DIR|$CHAOS_NAME|$run_id" \
    "$@" setsid nohup "$BASH" "$CHAOS_SELF" "$sub" "$run_id" </dev/null >>"$LOG_FILE" 2>&1 9>&- &
  CHAOS_SPAWNED_PID=$!
}

# Runs a command without our tags, in its own session, stdio to the log: what it leaves running
# (a restarted service) must not be mistaken for chaos by a sweep nor hold an SSH channel open.
CHAOS_UNTAGGED_ENV=(env -u CHAOS_OWNER -u CHAOS_SCENARIO_TAG -u CHAOS_RUN_TAG -u CHAOS_WATCHDOG_TAG
  -u CHAOS_RUN_DIR -u CHAOS_LOG_DIR)
chaos_run_untagged() {
  "${CHAOS_UNTAGGED_ENV[@]}" setsid -w "$@" </dev/null >>"$LOG_FILE" 2>&1 9>&-
}

# ---------------------------------------------------------------------------------------------
# the run: liveness, status, revert

chaos_fault_alive() { chaos_alive "${ST[fault_pid]:-}" "${ST[fault_start]:-}"; }
chaos_watchdog_alive() { chaos_alive "${ST[watchdog_pid]:-}" "${ST[watchdog_start]:-}"; }

# A process fault whose processes are all gone has ended by itself (duration reached).
chaos_fault_ended() {
  ((CHAOS_PROCESS_FAULT)) && [[ ${ST[phase]:-} == running ]] && ! chaos_fault_alive
}

chaos_print_status() {
  local state=stopped pid=null started=null deadline=null lease=null detail
  if chaos_state_load && ! chaos_fault_ended; then
    state=running
    scenario_load_state
    chaos_fault_alive && pid=${ST[fault_pid]}
    started=$(chaos_json_str "$(chaos_iso "${ST[started_at]}")")
    deadline=$(chaos_json_str "$(chaos_iso "${ST[deadline]}")")
    lease=$(chaos_json_str "$(chaos_iso "$(chaos_lease_read)")")
    detail=$(scenario_detail)
    if [[ ${ST[phase]:-} != running ]]; then
      detail="$detail; starting (phase ${ST[phase]:-unknown})"
    elif ! chaos_fault_alive; then
      detail="$detail; fault process gone, revert pending"
    fi
    if chaos_watchdog_alive; then
      detail="$detail; watchdog pid ${ST[watchdog_pid]} armed"
    else
      detail="$detail; WARNING: watchdog not running, run '$CHAOS_NAME.sh stop'"
    fi
    [[ -n ${ST[revert_error]:-} ]] && detail="$detail; last revert failed: ${ST[revert_error]}"
  elif chaos_state_load; then
    detail="fault ended by itself (${ST[run_id]}); cleanup pending"
  else
    detail="not running"
    if [[ -f $LAST_FILE ]]; then
      local last=""
      { read -r last <"$LAST_FILE"; } 2>/dev/null || true
      [[ -n $last ]] && detail="not running; last run $last"
    fi
  fi
  printf '{"scenario":"%s","state":"%s","pid":%s,"started_at":%s,"deadline":%s,"lease_expires_at":%s,"detail":%s}\n' \
    "$CHAOS_NAME" "$state" "$pid" "$started" "$deadline" "$lease" "$(chaos_json_str "$detail")"
}

# Reverts the loaded run (lock held, ST loaded). Order matters: stop the fault, undo changes,
# forget the state, and only then disarm the watchdog, so that dying half-way still leaves a
# watchdog to finish the job.
chaos_revert() {
  local reason=$1 run_id=${ST[run_id]} wd=${ST[watchdog_pid]:-} wd_start=${ST[watchdog_start]:-}
  chaos_log "reverting run $run_id: $reason"
  scenario_load_state
  CHAOS_REVERT_ERROR=""
  scenario_pre_kill || true
  chaos_self_and_ancestors
  if [[ " ${CHAOS_EXCLUDE[*]} " != *" ${ST[fault_pid]:-none} "* ]]; then
    chaos_kill_group TERM "${ST[fault_pid]:-}" "${ST[fault_start]:-}"
  fi
  if ! chaos_kill_owned CHAOS_RUN_TAG "$RUN_DIR|$CHAOS_NAME|$run_id" "${ST[fault_pid]:-}" "${ST[fault_start]:-}"; then
    CHAOS_REVERT_ERROR="fault processes survived SIGKILL"
  fi
  if [[ -z $CHAOS_REVERT_ERROR ]] && ! scenario_revert; then
    CHAOS_REVERT_ERROR=${CHAOS_REVERT_ERROR:-scenario revert failed}
  fi
  if [[ -n $CHAOS_REVERT_ERROR ]]; then
    ST[revert_error]=$CHAOS_REVERT_ERROR
    chaos_state_write
    chaos_log "revert of run $run_id FAILED: $CHAOS_REVERT_ERROR"
    return 1
  fi
  chaos_now
  rm -f -- "$PID_FILE" "$STATE_FILE" "$LEASE_FILE"
  local f
  for f in "${CHAOS_EXTRA_FILES[@]}"; do rm -f -- "$(chaos_run_file "$f")"; done
  printf '%s reverted at %s: %s\n' "$run_id" "$(chaos_iso "$CHAOS_NOW")" "$reason" >"$LAST_FILE"
  # Disarm: the watchdog leads its own process group (it and its 'sleep').
  if [[ -n $wd && " ${CHAOS_EXCLUDE[*]} " != *" $wd "* ]]; then
    chaos_kill_group TERM "$wd" "$wd_start"
    chaos_wait_gone "$wd" "$wd_start" 3 || chaos_kill_group KILL "$wd" "$wd_start"
  fi
  chaos_log "reverted run $run_id: $reason"
}

# Takes the lock and reverts RUN_ID if it is still the current run (watchdog, holder). With
# LEASE_ONLY=1 (an expired lease) the lease is read again once the lock is held, and nothing is
# reverted (return 2) when it was pushed forward meanwhile: a start that held the lock past the
# first expiry leases the run afresh as it returns.
chaos_locked_revert() {
  local run_id=$1 reason=$2 lease_only=${3:-0} rc=0
  exec 9>>"$LOCK_FILE"
  flock -w 120 9 || return 1
  if chaos_state_load && [[ ${ST[run_id]} == "$run_id" ]]; then
    chaos_now
    if ((lease_only && CHAOS_NOW < $(chaos_lease_read))); then
      rc=2
    else
      chaos_revert "$reason" || rc=1
    fi
  fi
  chaos_unlock
  return "$rc"
}

# ---------------------------------------------------------------------------------------------
# commands

chaos_cmd_start() {
  local max_runtime=$CHAOS_DEFAULT_MAX_RUNTIME lease=$CHAOS_DEFAULT_LEASE
  while (($#)); do
    case $1 in
      --max-runtime | --lease)
        (($# >= 2)) || chaos_usage_error "option $1 needs a value"
        if [[ $1 == --lease ]]; then lease=$2; else max_runtime=$2; fi
        shift 2
        ;;
      --max-runtime=*) max_runtime=${1#*=}; shift ;;
      --lease=*) lease=${1#*=}; shift ;;
      --) shift; break ;;
      -[0-9]*) break ;;
      -*) chaos_usage_error "unknown option '$1'" ;;
      *) break ;;
    esac
  done
  chaos_require_int max-runtime "$max_runtime" "$CHAOS_MAX_RUNTIME_MIN" "$CHAOS_MAX_RUNTIME_MAX"
  chaos_require_int lease "$lease" "$CHAOS_LEASE_MIN" "$CHAOS_LEASE_MAX"
  # shellcheck disable=SC2034 # read by scenario_preflight hooks
  SC_MAX_RUNTIME=$max_runtime
  scenario_parse_args "$@"

  chaos_lock 60
  if chaos_state_load; then
    if chaos_watchdog_alive || chaos_fault_alive; then
      chaos_die "$CHAOS_EXIT_RUNNING" "already running (run ${ST[run_id]}, pid ${ST[fault_pid]:-none}," \
        "since $(chaos_iso "${ST[started_at]}")); one $CHAOS_NAME at a time: run '$CHAOS_NAME.sh stop' first"
    fi
    chaos_log "found leftovers of run ${ST[run_id]} with no live process; reverting them first"
    chaos_revert "leftover state found by a new start" ||
      chaos_die "$CHAOS_EXIT_FAIL" "could not revert the leftovers of a previous run: $CHAOS_REVERT_ERROR"
  fi
  scenario_preflight

  chaos_now
  local run_id
  run_id="$(date -u +%Y%m%dT%H%M%SZ)-$$"
  ST=([scenario]=$CHAOS_NAME [run_id]=$run_id [started_at]=$CHAOS_NOW
    [deadline]=$((CHAOS_NOW + max_runtime)) [max_runtime]=$max_runtime [lease_s]=$lease
    [phase]=arming)
  local k
  for k in "${!SC_STATE[@]}"; do ST[arg_$k]=${SC_STATE[$k]}; done
  chaos_lease_write $((CHAOS_NOW + lease))
  chaos_state_write
  trap chaos_start_abort EXIT

  # 1. the dead man's switch, before anything is injected
  chaos_spawn_internal __watchdog "$run_id"
  ST[watchdog_pid]=$CHAOS_SPAWNED_PID
  ST[watchdog_start]=$(chaos_starttime "$CHAOS_SPAWNED_PID") ||
    chaos_die "$CHAOS_EXIT_FAIL" "the watchdog did not start; nothing injected"
  ST[phase]=injecting
  chaos_state_write

  # 2. the fault
  scenario_inject || chaos_die "${CHAOS_INJECT_EXIT:-$CHAOS_EXIT_FAIL}" "${CHAOS_INJECT_ERROR:-injection failed; see $LOG_FILE}"
  chaos_state_write
  chaos_spawn_internal __fault "$run_id"
  ST[fault_pid]=$CHAOS_SPAWNED_PID
  ST[fault_start]=$(chaos_starttime "$CHAOS_SPAWNED_PID") || ST[fault_start]=""
  ST[phase]=running
  printf '%s\n' "$CHAOS_SPAWNED_PID" >"$PID_FILE"
  chaos_state_write
  scenario_post_start || chaos_die "$CHAOS_EXIT_FAIL" "${CHAOS_INJECT_ERROR:-the fault did not take hold; see $LOG_FILE}"
  sleep 0.3
  chaos_fault_alive || chaos_die "$CHAOS_EXIT_FAIL" "the fault process exited at once: $(chaos_log_tail)"
  chaos_watchdog_alive || chaos_die "$CHAOS_EXIT_FAIL" "the watchdog exited at once: $(chaos_log_tail)"

  CHAOS_START_OK=1
  trap - EXIT
  # The lease counts from now, when the caller gets control back and can renew it: a start
  # slower than its lease (db_conn_exhaust waits for every client to connect) would otherwise
  # hand back a run whose lease is already spent, and the watchdog would revert it at once.
  chaos_now
  chaos_lease_write $((CHAOS_NOW + lease))
  chaos_log "started run $run_id (max-runtime ${max_runtime}s, lease ${lease}s): $(scenario_detail)"
  chaos_unlock
  chaos_print_status
}

chaos_log_tail() { tail -n 3 -- "$LOG_FILE" 2>/dev/null | tr '\n' ' ' || true; }

# EXIT trap of start: whatever went wrong after the state was written, undo it all.
chaos_start_abort() {
  local rc=$?
  ((CHAOS_START_OK)) && return 0
  ((rc == 0)) && rc=$CHAOS_EXIT_FAIL
  trap - EXIT
  set +e
  if chaos_state_load; then chaos_revert "start failed (exit $rc)"; fi
  exit "$rc"
}

chaos_cmd_stop() {
  (($# == 0)) || chaos_usage_error "stop takes no arguments"
  # The caller's SSH channel may vanish mid-revert: finish anyway.
  trap '' HUP PIPE INT
  chaos_lock 60
  if chaos_state_load; then
    if ! chaos_revert "stop requested"; then
      chaos_print_status
      chaos_die "$CHAOS_EXIT_FAIL" "revert failed: $CHAOS_REVERT_ERROR (state kept; retry stop)"
    fi
  else
    # No state: still make sure nothing of ours is left (a lost state file must not leak a fault).
    chaos_kill_owned CHAOS_SCENARIO_TAG "$RUN_DIR|$CHAOS_NAME" || true
    scenario_orphan_revert || true
    rm -f -- "$PID_FILE" "$LEASE_FILE"
  fi
  chaos_unlock
  chaos_print_status
}

chaos_cmd_status() {
  (($# == 0)) || chaos_usage_error "status takes no arguments"
  chaos_print_status
}

chaos_cmd_renew() {
  (($# == 0)) || chaos_usage_error "renew takes no arguments"
  chaos_lock 10
  if ! chaos_state_load || chaos_fault_ended; then
    chaos_unlock
    chaos_print_status
    chaos_die "$CHAOS_EXIT_FAIL" "not running; nothing to renew"
  fi
  chaos_now
  chaos_lease_write $((CHAOS_NOW + ST[lease_s]))
  chaos_unlock
  chaos_print_status
}

# ---------------------------------------------------------------------------------------------
# detached processes

# The dead man's switch: own session, immune to SIGHUP, last in line for the OOM killer. Reverts
# on max-runtime, on an expired lease, or when the fault process is gone; exits once the run's
# state is gone (stopped by someone else).
chaos_watchdog_main() {
  local run_id=$1 reason failures=0 lease_exp lease_only rc
  set +e
  trap '' HUP INT PIPE
  trap 'exit 0' TERM
  ((EUID == 0)) && { echo -1000 >/proc/self/oom_score_adj; } 2>/dev/null
  chaos_log "watchdog armed for run $run_id"
  while :; do
    chaos_state_load && [[ ${ST[run_id]} == "$run_id" ]] || exit 0
    chaos_now
    reason=""
    lease_only=0
    lease_exp=$(chaos_lease_read)
    if ((CHAOS_NOW >= ST[deadline])); then
      reason="max-runtime ${ST[max_runtime]}s reached"
    elif ((CHAOS_NOW >= lease_exp)); then
      reason="lease expired (not renewed within ${ST[lease_s]}s)"
      lease_only=1
    elif [[ ${ST[phase]} == running ]] && ! chaos_fault_alive; then
      reason="fault process ended"
    fi
    if [[ -n $reason ]]; then
      chaos_log "watchdog: $reason; reverting run $run_id"
      chaos_locked_revert "$run_id" "watchdog: $reason" "$lease_only"
      rc=$?
      ((rc == 0)) && exit 0
      if ((rc == 2)); then
        chaos_log "watchdog: the lease of run $run_id was renewed while it waited for the lock; not reverted"
        continue
      fi
      ((++failures >= 10)) && { chaos_log "watchdog: giving up after $failures failed reverts"; exit 1; }
      sleep 3
      continue
    fi
    sleep 1
  done
}

chaos_fault_entry() {
  local run_id=$1
  trap '' HUP
  chaos_state_load && [[ ${ST[run_id]} == "$run_id" ]] || exit 1
  scenario_load_state
  scenario_fault_main "$run_id"
}

# Body of the holder process of a host-change fault: keeps the pid alive until the deadline, then
# reverts by itself should the watchdog not have done so (a second, independent failsafe).
chaos_hold_until_deadline() {
  local run_id=$1
  chaos_now
  local wait_s=$((ST[deadline] + 2 - CHAOS_NOW))
  ((wait_s > 0)) && sleep "$wait_s"
  chaos_locked_revert "$run_id" "holder: max-runtime ${ST[max_runtime]}s reached"
}

chaos_main() {
  chaos_resolve_dirs
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
    start) chaos_cmd_start "$@" ;;
    stop) chaos_cmd_stop "$@" ;;
    status) chaos_cmd_status "$@" ;;
    renew) chaos_cmd_renew "$@" ;;
    -h | --help | help) chaos_help ;;
    __watchdog) chaos_watchdog_main "$@" ;;
    __fault) chaos_fault_entry "$@" ;;
    "") chaos_usage_error "missing command" ;;
    *) chaos_usage_error "unknown command '$cmd'" ;;
  esac
}

# Defaults for optional settings and hooks (a scenario defines its hooks after sourcing us).
[[ -v CHAOS_EXTRA_FILES ]] || CHAOS_EXTRA_FILES=()
scenario_inject() { :; }
scenario_post_start() { :; }
scenario_pre_kill() { :; }
scenario_revert() { :; }
scenario_orphan_revert() { :; }
