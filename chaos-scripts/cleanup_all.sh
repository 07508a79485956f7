#!/usr/bin/env bash
# cleanup_all: revert every chaos scenario on this host, kill orphaned chaos processes, and print
# one JSON summary line. Idempotent; safe to run at any time (the coordinator's "halt").
# usage: cleanup_all.sh [--help]
# Exit: 0 everything reverted (or nothing was running), 1 something could not be reverted.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

CHAOS_NAME=cleanup_all
CHAOS_ARGS_USAGE=''
readonly -a SCENARIOS=(cpu_spike memory_leak disk_fill net_latency service_kill db_conn_exhaust)
readonly QDISC_HANDLE=cafe

# shellcheck source=lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"

usage() { printf 'usage: cleanup_all.sh [--help]\n'; }

json_list() {
  local out="" x
  for x in "$@"; do out+="${out:+,}$(chaos_json_str "$x")"; done
  printf '[%s]' "$out"
}

main() {
  case ${1:-} in
    -h | --help) usage; return 0 ;;
    "") ;;
    *) printf 'cleanup_all: unknown argument %s\n' "$1" >&2; usage >&2; return "$CHAOS_EXIT_USAGE" ;;
  esac
  chaos_resolve_dirs
  trap '' HUP PIPE INT
  local dir s rc out
  dir=$(dirname -- "$CHAOS_SELF")
  local -a stopped=() failed=()
  for s in "${SCENARIOS[@]}"; do
    [[ -f $dir/$s.sh ]] || continue
    local was_running=0
    [[ -f $RUN_DIR/chaos-$s.state ]] && was_running=1
    rc=0
    out=$(CHAOS_RUN_DIR=$RUN_DIR CHAOS_LOG_DIR=$LOG_DIR "$BASH" "$dir/$s.sh" stop 2>&1) || rc=$?
    if ((rc != 0)); then
      failed+=("$s")
      chaos_log "stop of $s failed (exit $rc): $out"
    elif ((was_running)); then
      stopped+=("$s")
    fi
  done

  # Whatever still carries our tag lost its state file: kill it (watchdogs included).
  local -a orphans=()
  local p
  chaos_self_and_ancestors
  while IFS= read -r p; do
    [[ -n $p && " ${CHAOS_EXCLUDE[*]} " != *" $p "* ]] && chaos_alive "$p" && orphans+=("$p")
  done < <(chaos_owned_pids CHAOS_OWNER "$RUN_DIR")
  if ((${#orphans[@]})); then
    chaos_log "killing orphaned chaos processes: ${orphans[*]}"
    chaos_kill_owned CHAOS_OWNER "$RUN_DIR" || failed+=("orphans")
  fi

  # A netem tree whose state file is gone: recognisable by our handle, and only ever ours.
  local -a qdiscs=()
  local ifc
  if command -v tc >/dev/null 2>&1 && ((EUID == 0)); then
    for ifc in /sys/class/net/*; do
      ifc=${ifc##*/}
      [[ -f $RUN_DIR/chaos-net_latency.state ]] && break
      if [[ $(tc qdisc show dev "$ifc" root 2>/dev/null | head -n 1) == "qdisc prio $QDISC_HANDLE: "* ]]; then
        if tc qdisc del dev "$ifc" root 2>/dev/null; then qdiscs+=("$ifc"); else failed+=("qdisc:$ifc"); fi
      fi
    done
  fi

  local ok=true
  ((${#failed[@]} == 0)) || ok=false
  chaos_log "cleanup_all: stopped [${stopped[*]}] failed [${failed[*]}] orphans ${#orphans[@]} qdiscs [${qdiscs[*]}]"
  printf '{"action":"cleanup_all","ok":%s,"stopped":%s,"failed":%s,"orphans_killed":%s,"qdiscs_removed":%s}\n' \
    "$ok" "$(json_list "${stopped[@]}")" "$(json_list "${failed[@]}")" "${#orphans[@]}" "$(json_list "${qdiscs[@]}")"
  [[ $ok == true ]] || return "$CHAOS_EXIT_FAIL"
}

main "$@"
