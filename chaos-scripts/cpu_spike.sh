#!/usr/bin/env bash
# cpu_spike: saturate CPUs with <workers> busy workers for <duration_s> seconds.
# usage: cpu_spike.sh {start [--max-runtime S] [--lease S] <duration_s> <workers> | stop | status | renew | --help}
# Engine: stress-ng --cpu when installed, else awk busy loops (CHAOS_CPU_ENGINE=loops forces them).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

CHAOS_NAME=cpu_spike
CHAOS_ARGS_USAGE='<duration_s> <workers>'
CHAOS_DESCRIPTION='Saturates CPUs: <workers> busy workers (stress-ng --cpu, or awk loops) for <duration_s> seconds.'
CHAOS_ARGS_HELP="  duration_s  seconds the load lasts, 1..7200 (the fault ends by itself)
  workers     busy workers, 1..4 x nproc"
CHAOS_PROCESS_FAULT=1

# shellcheck source=lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"

scenario_parse_args() {
  (($# == 2)) || chaos_usage_error "start needs exactly 2 arguments: $CHAOS_ARGS_USAGE (got $#)"
  local ncpu
  ncpu=$(nproc 2>/dev/null || echo 1)
  chaos_require_int duration_s "$1" 1 7200
  chaos_require_int workers "$2" 1 $((4 * ncpu))
  SC_DURATION=$1
  SC_WORKERS=$2
  SC_ENGINE=loops
  if [[ ${CHAOS_CPU_ENGINE:-auto} != loops ]] && command -v stress-ng >/dev/null 2>&1; then
    SC_ENGINE=stress-ng
  fi
  SC_STATE=([duration]=$SC_DURATION [workers]=$SC_WORKERS [engine]=$SC_ENGINE)
}

scenario_load_state() {
  SC_DURATION=${ST[arg_duration]}
  SC_WORKERS=${ST[arg_workers]}
  SC_ENGINE=${ST[arg_engine]}
}

scenario_preflight() {
  if [[ $SC_ENGINE == loops ]] && ! command -v awk >/dev/null 2>&1; then
    chaos_die "$CHAOS_EXIT_UNSUPPORTED" "neither stress-ng nor awk is installed; cannot generate CPU load on this host"
  fi
  if ((SC_DURATION > SC_MAX_RUNTIME)); then
    printf '%s: note: duration_s %s exceeds max-runtime %s; the watchdog ends it at max-runtime\n' \
      "$CHAOS_NAME" "$SC_DURATION" "$SC_MAX_RUNTIME" >&2
  fi
}

scenario_fault_main() {
  chaos_now
  local run_for=$SC_DURATION left=$((ST[deadline] - CHAOS_NOW))
  ((left < run_for)) && run_for=$left
  ((run_for < 1)) && run_for=1
  if [[ $SC_ENGINE == stress-ng ]]; then
    exec stress-ng --cpu "$SC_WORKERS" --cpu-load 100 --timeout "${run_for}s" --metrics-brief
  fi
  local i
  for ((i = 0; i < SC_WORKERS; i++)); do
    timeout "$run_for" awk 'BEGIN { for (;;) {} }' &
  done
  wait || true
}

scenario_detail() {
  local ends=$((ST[started_at] + SC_DURATION))
  ((ends > ST[deadline])) && ends=${ST[deadline]}
  printf '%s cpu workers (%s) for %ss, ending %s' "$SC_WORKERS" "$SC_ENGINE" "$SC_DURATION" "$(chaos_iso "$ends")"
}

chaos_main "$@"
