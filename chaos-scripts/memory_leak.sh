#!/usr/bin/env bash
# memory_leak: a process whose RSS grows step by step to <target_mb>, held until <duration_s>.
# usage: memory_leak.sh {start [--max-runtime S] [--lease S] <target_mb> <duration_s> | stop | status | renew | --help}
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

CHAOS_NAME=memory_leak
CHAOS_ARGS_USAGE='<target_mb> <duration_s>'
CHAOS_DESCRIPTION='Leaks memory: a python3 process grows its RSS to <target_mb> over the first 60% of
<duration_s>, holds it, and exits at <duration_s>. Refuses targets above MemAvailable - 256 MB.'
CHAOS_ARGS_HELP="  target_mb   resident memory to reach, 1..65536 and at most MemAvailable - 256 MB
  duration_s  seconds the leak lasts, 1..7200 (the fault ends by itself)"
CHAOS_PROCESS_FAULT=1
readonly MEM_HEADROOM_MB=256

# shellcheck source=lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"

scenario_parse_args() {
  (($# == 2)) || chaos_usage_error "start needs exactly 2 arguments: $CHAOS_ARGS_USAGE (got $#)"
  chaos_require_int target_mb "$1" 1 65536
  chaos_require_int duration_s "$2" 1 7200
  SC_TARGET_MB=$1
  SC_DURATION=$2
  SC_STATE=([target_mb]=$SC_TARGET_MB [duration]=$SC_DURATION)
}

scenario_load_state() {
  SC_TARGET_MB=${ST[arg_target_mb]}
  SC_DURATION=${ST[arg_duration]}
}

# MemAvailable in MB, lowered to the cgroup's remaining room when a cgroup v2 limit applies.
mem_available_mb() {
  local avail limit current cg
  avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
  cg=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup 2>/dev/null || true)
  if [[ -n $cg && -r /sys/fs/cgroup$cg/memory.max ]]; then
    limit=$(<"/sys/fs/cgroup$cg/memory.max")
    current=$(<"/sys/fs/cgroup$cg/memory.current")
    if [[ $limit =~ ^[0-9]+$ ]] && (((limit - current) / 1048576 < avail)); then
      avail=$(((limit - current) / 1048576))
    fi
  fi
  printf '%s' "$avail"
}

scenario_preflight() {
  command -v python3 >/dev/null 2>&1 ||
    chaos_die "$CHAOS_EXIT_UNSUPPORTED" "python3 is not installed; cannot run the leaking allocator on this host"
  [[ -r $CHAOS_LIB_DIR/memory_leak.py ]] ||
    chaos_die "$CHAOS_EXIT_FAIL" "missing $CHAOS_LIB_DIR/memory_leak.py (install the whole chaos-scripts directory)"
  local avail
  avail=$(mem_available_mb)
  if ((SC_TARGET_MB > avail - MEM_HEADROOM_MB)); then
    chaos_usage_error "target_mb $SC_TARGET_MB is too large: MemAvailable is $avail MB and $MEM_HEADROOM_MB MB must stay free (max $((avail - MEM_HEADROOM_MB)) MB)"
  fi
}

scenario_fault_main() {
  chaos_now
  local run_for=$SC_DURATION left=$((ST[deadline] - CHAOS_NOW))
  ((left < run_for)) && run_for=$left
  ((run_for < 1)) && run_for=1
  exec python3 "$CHAOS_LIB_DIR/memory_leak.py" "$SC_TARGET_MB" "$run_for"
}

scenario_detail() {
  local rss_kb=""
  if chaos_fault_alive; then
    rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/${ST[fault_pid]}/status" 2>/dev/null || true)
  fi
  printf 'leaking to %s MB over %ss' "$SC_TARGET_MB" "$SC_DURATION"
  [[ -n $rss_kb ]] && printf ', rss now %s MB' "$((rss_kb / 1024))"
  return 0
}

chaos_main "$@"
