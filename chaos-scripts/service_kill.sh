#!/usr/bin/env bash
# service_kill: take a service down (systemctl stop, or kill its pid where there is no systemd).
# usage: service_kill.sh {start [--max-runtime S] [--lease S] <service_name> | stop | status | renew | --help}
#
# Without systemd (no /run/systemd/system) a service NAME is managed by the executable
# $CHAOS_SERVICES_DIR/NAME.sh {start|stop|status} (default /etc/chaos-handler/services), which
# keeps its pid in $CHAOS_SERVICES_PID_DIR/NAME.pid (default /var/run). The fault kills that pid
# (TERM, KILL after 5 s), like a crash; the revert runs 'NAME.sh start'.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

CHAOS_NAME=service_kill
CHAOS_ARGS_USAGE='<service_name>'
CHAOS_DESCRIPTION='Takes a service down: systemctl stop when systemd runs, else kills the pid of a service
managed by /etc/chaos-handler/services/NAME.sh. stop (or the watchdog) starts it again.
SSH and core system services are refused.'
CHAOS_ARGS_HELP="  service_name  a systemd unit (optionally with .service) or a NAME.sh in the services directory;
                [A-Za-z0-9][A-Za-z0-9_.@-]{0,63}; ssh, sshd, dbus, systemd-* and friends are refused"
CHAOS_PROCESS_FAULT=0
readonly -a SVC_REFUSED=(ssh sshd openssh-server dbus dbus-broker networking NetworkManager
  systemd-networkd systemd-resolved systemd-journald systemd-logind getty cron rsyslog
  cloud-init chaos-handler)

# shellcheck source=lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"

SERVICES_DIR=${CHAOS_SERVICES_DIR:-/etc/chaos-handler/services}
SERVICES_PID_DIR=${CHAOS_SERVICES_PID_DIR:-/var/run}

svc_has_systemd() { [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; }

scenario_parse_args() {
  (($# == 1)) || chaos_usage_error "start needs exactly 1 argument: $CHAOS_ARGS_USAGE (got $#)"
  local name=${1%.service} r
  [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$ ]] ||
    chaos_usage_error "invalid service_name '$1': must match [A-Za-z0-9][A-Za-z0-9_.@-]{0,63}"
  for r in "${SVC_REFUSED[@]}"; do
    [[ $name == "$r" || $name == "$r@"* ]] &&
      chaos_usage_error "invalid service_name '$name': refusing to kill a service the host or its SSH control path needs"
  done
  [[ $name == systemd-* ]] && chaos_usage_error "invalid service_name '$name': refusing to kill systemd's own services"
  if svc_has_systemd; then
    SC_MODE=systemd
    [[ $(systemctl show -p LoadState --value "$name.service" 2>/dev/null) == loaded ]] ||
      chaos_usage_error "invalid service_name '$name': no such systemd unit ($name.service)"
  else
    SC_MODE=pidfile
    [[ -f $SERVICES_DIR/$name.sh && -x $SERVICES_DIR/$name.sh ]] ||
      chaos_usage_error "invalid service_name '$name': unknown service (no systemd on this host and no executable $SERVICES_DIR/$name.sh)"
  fi
  SC_NAME=$name
  SC_STATE=([service]=$SC_NAME [mode]=$SC_MODE [services_dir]=$SERVICES_DIR [pid_dir]=$SERVICES_PID_DIR)
}

scenario_load_state() {
  SC_NAME=${ST[arg_service]}
  SC_MODE=${ST[arg_mode]}
  SERVICES_DIR=${ST[arg_services_dir]}
  SERVICES_PID_DIR=${ST[arg_pid_dir]}
}

svc_script() { printf '%s/%s.sh' "$SERVICES_DIR" "$SC_NAME"; }

# pid from NAME.pid if it names a live process, else nothing.
svc_pid() {
  local pid=""
  { read -r pid <"$SERVICES_PID_DIR/$SC_NAME.pid"; } 2>/dev/null || true
  [[ $pid =~ ^[0-9]+$ ]] && chaos_alive "$pid" && printf '%s' "$pid"
  return 0
}

# Without systemd a live pid is required as well as 'status' saying so: a status built on
# 'kill -0' calls a zombie alive, and killed daemons stay zombies where init does not reap.
svc_running() {
  if [[ $SC_MODE == systemd ]]; then
    systemctl is-active --quiet "$SC_NAME.service"
  else
    [[ -n $(svc_pid) ]] &&
      "${CHAOS_UNTAGGED_ENV[@]}" timeout 30 "$(svc_script)" status </dev/null >/dev/null 2>&1 9>&-
  fi
}

scenario_preflight() {
  if [[ $SC_MODE == pidfile && $EUID == 0 ]]; then
    # We run this script as root: neither it nor its directory may be editable by anyone else.
    local f uid mode
    for f in "$(svc_script)" "$SERVICES_DIR"; do
      read -r uid mode < <(stat -L -c '%u %a' -- "$f")
      if [[ $uid != 0 ]] || ((8#$mode & 8#022)); then
        chaos_die "$CHAOS_EXIT_FAIL" "refusing to run $(svc_script) as root: $f must be owned by root and not group/world-writable"
      fi
    done
  fi
  svc_running || chaos_die "$CHAOS_EXIT_FAIL" "service $SC_NAME is not running; nothing to kill"
}

scenario_inject() {
  if [[ $SC_MODE == systemd ]]; then
    timeout 90 systemctl stop "$SC_NAME.service" ||
      { CHAOS_INJECT_ERROR="systemctl stop $SC_NAME.service failed"; return 1; }
    ST[killed]="systemctl stop"
    return 0
  fi
  local pid comm=""
  pid=$(svc_pid)
  [[ -n $pid ]] || { CHAOS_INJECT_ERROR="service $SC_NAME has no live pid"; return 1; }
  { read -r comm <"/proc/$pid/comm"; } 2>/dev/null || true
  if [[ $comm == sshd || $comm == ssh || $pid == "$$" ]]; then
    CHAOS_INJECT_ERROR="pid $pid of $SC_NAME is $comm; refusing to kill it"
    return 1
  fi
  local start
  start=$(chaos_starttime "$pid") || return 0 # already gone
  kill -TERM "$pid" 2>/dev/null || true
  ST[killed]="pid $pid ($comm) SIGTERM"
  if ! chaos_wait_gone "$pid" "$start" "$CHAOS_TERM_GRACE"; then
    kill -KILL "$pid" 2>/dev/null || true
    ST[killed]="pid $pid ($comm) SIGKILL"
    chaos_wait_gone "$pid" "$start" 3 || { CHAOS_INJECT_ERROR="pid $pid survived SIGKILL"; return 1; }
  fi
  chaos_log "service $SC_NAME down: ${ST[killed]}"
}

scenario_fault_main() { chaos_hold_until_deadline "$1"; }

scenario_revert() {
  # Someone (a fix, an operator) may have restarted it already: starting twice is not a revert.
  svc_running && return 0
  if [[ $SC_MODE == systemd ]]; then
    chaos_run_untagged timeout 90 systemctl start "$SC_NAME.service" || true
  else
    local pid_file=$SERVICES_PID_DIR/$SC_NAME.pid
    if [[ -e $pid_file && -z $(svc_pid) ]]; then
      # Stale (the process we killed): left in place, a naive start script would think it runs.
      rm -f -- "$pid_file"
    fi
    chaos_run_untagged timeout 60 "$(svc_script)" start || true
  fi
  local ticks=50
  until svc_running; do
    if ((ticks-- <= 0)); then
      CHAOS_REVERT_ERROR="service $SC_NAME did not come back after start (see $LOG_FILE)"
      return 1
    fi
    sleep 0.2
  done
  chaos_log "service $SC_NAME started again"
}

scenario_detail() {
  local how=${ST[killed]:-pending}
  if [[ $SC_MODE == systemd ]]; then
    printf 'service %s stopped (%s), systemd' "$SC_NAME" "$how"
  else
    printf 'service %s killed (%s), restart via %s start' "$SC_NAME" "$how" "$(svc_script)"
  fi
}

chaos_main "$@"
