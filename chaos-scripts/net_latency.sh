#!/usr/bin/env bash
# net_latency: add egress delay and packet loss on <iface> with tc netem, sparing SSH.
# usage: net_latency.sh {start [--max-runtime S] [--lease S] <iface> <delay_ms> <loss_pct> | stop | status | renew | --help}
#
# Layout (egress of <iface>):
#   root  prio handle cafe: bands 4, priomap sends every packet to band 4 (cafe:4)
#   cafe:1  SSH: TCP source/destination port 22, every port sshd listens on, and the SSH
#           client's address from $SSH_CONNECTION when present (ours, or under sudo, which
#           drops it, the nearest ancestor's) -> no delay, no loss
#   cafe:4  netem delay <delay_ms>ms loss <loss_pct>%   -> everything else
# so the coordinator's SSH control path is never delayed or dropped. Revert deletes the root
# qdisc, but only when it is ours (handle cafe:). 'lo' is refused (see README).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

CHAOS_NAME=net_latency
CHAOS_ARGS_USAGE='<iface> <delay_ms> <loss_pct>'
CHAOS_DESCRIPTION='Degrades the network: tc netem delay + loss on the egress of <iface>, with SSH (port 22,
sshd ports, the SSH client address) classified around it so the control path is never touched.
Exits 4 when the kernel has no netem qdisc.'
CHAOS_ARGS_HELP="  iface     existing network interface (not lo), [A-Za-z0-9_.-], at most 15 characters
  delay_ms  added one-way delay, 1..10000
  loss_pct  packet loss percentage, 0..100"
CHAOS_PROCESS_FAULT=0
readonly NET_HANDLE=cafe

# shellcheck source=lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"

scenario_parse_args() {
  (($# == 3)) || chaos_usage_error "start needs exactly 3 arguments: $CHAOS_ARGS_USAGE (got $#)"
  local iface=$1
  [[ $iface =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$ ]] ||
    chaos_usage_error "invalid iface '$iface': must match [A-Za-z0-9][A-Za-z0-9_.-]{0,14}"
  [[ $iface == lo ]] &&
    chaos_usage_error "invalid iface 'lo': loopback is refused (it carries the host's own local traffic)"
  [[ -e /sys/class/net/$iface ]] || chaos_usage_error "invalid iface '$iface': no such interface on this host"
  chaos_require_int delay_ms "$2" 1 10000
  chaos_require_int loss_pct "$3" 0 100
  SC_IFACE=$iface
  SC_DELAY=$2
  SC_LOSS=$3
  SC_STATE=([iface]=$SC_IFACE [delay_ms]=$SC_DELAY [loss_pct]=$SC_LOSS)
}

scenario_load_state() {
  SC_IFACE=${ST[arg_iface]}
  SC_DELAY=${ST[arg_delay_ms]}
  SC_LOSS=${ST[arg_loss_pct]}
}

readonly NETEM_MISSING="the kernel has no netem qdisc (sch_netem); cannot inject latency on this host"

readonly PRIO_MISSING="the kernel has no prio qdisc (sch_prio); cannot keep SSH out of the delay on this host"

# qdisc_available KIND [PARAMS]: 0 the kernel has it, 1 it does not, 2 could not tell (the real
# add will say). Probed in a throwaway network namespace, so no real interface is touched.
qdisc_available() {
  local out
  command -v unshare >/dev/null 2>&1 || return 2
  if out=$(unshare --net tc qdisc add dev lo root "$@" 2>&1); then return 0; fi
  [[ $out == *"qdisc kind is unknown"* ]] && return 1
  return 2
}

root_qdisc() { tc qdisc show dev "$1" root 2>/dev/null | head -n 1; }

ours_installed() { [[ $(root_qdisc "$1") == "qdisc prio $NET_HANDLE: "* ]]; }

scenario_preflight() {
  command -v tc >/dev/null 2>&1 ||
    chaos_die "$CHAOS_EXIT_UNSUPPORTED" "tc (iproute2) is not installed; cannot inject latency on this host"
  ((EUID == 0)) || chaos_die "$CHAOS_EXIT_FAIL" "must run as root (tc needs CAP_NET_ADMIN)"
  if command -v modprobe >/dev/null 2>&1; then modprobe -q -a sch_netem sch_prio 2>/dev/null || true; fi
  local rc=0
  qdisc_available netem delay 1ms || rc=$?
  ((rc == 1)) && chaos_die "$CHAOS_EXIT_UNSUPPORTED" "$NETEM_MISSING"
  rc=0
  qdisc_available prio || rc=$?
  ((rc == 1)) && chaos_die "$CHAOS_EXIT_UNSUPPORTED" "$PRIO_MISSING"
  local root
  root=$(root_qdisc "$SC_IFACE")
  # Default roots (handle 0:, noqueue) are replaced; anything configured on purpose is not.
  if [[ -n $root && $root != "qdisc "*" 0: "* && $root != "qdisc noqueue "* ]]; then
    chaos_die "$CHAOS_EXIT_FAIL" "$SC_IFACE already has a configured root qdisc ($root); refusing to replace it"
  fi
}

# The SSH session that runs us ("client_ip client_port server_ip server_port"), or nothing. The
# coordinator calls us through `sudo -n`, whose env_reset (the default) drops SSH_CONNECTION from
# our environment; sudo itself, an ancestor of ours, still carries the caller's, so it is read
# from the nearest ancestor that has it.
SC_SSH_CONNECTION=""
find_ssh_connection() {
  local p=$PPID depth=0 v
  SC_SSH_CONNECTION=${SSH_CONNECTION:-}
  while [[ -z $SC_SSH_CONNECTION ]] && ((p > 1 && depth++ < 16)); do
    v=$(grep -zm1 '^SSH_CONNECTION=' "/proc/$p/environ" 2>/dev/null | tr -d '\0') || true
    SC_SSH_CONNECTION=${v#SSH_CONNECTION=}
    chaos_proc_stat "$p" || break
    p=$PSTAT_PPID
  done
}

# Ports to keep out of netem: 22, plus every TCP port sshd listens on, plus the SSH server port.
ssh_ports() {
  local ports=" 22 " p
  if command -v ss >/dev/null 2>&1; then
    while read -r p; do
      [[ $p =~ ^[0-9]+$ && $ports != *" $p "* ]] && ports+="$p "
    done < <(ss -Htlnp 2>/dev/null | awk '/"sshd"/ { n = split($4, a, ":"); print a[n] }')
  fi
  if [[ -n $SC_SSH_CONNECTION ]]; then
    p=$(awk '{ print $4 }' <<<"$SC_SSH_CONNECTION")
    [[ $p =~ ^[0-9]+$ && $ports != *" $p "* ]] && ports+="$p "
  fi
  printf '%s' "$ports"
}

# Classifies TCP traffic from/to PORT (IPv4 and IPv6) into the untouched band cafe:1.
spare_port() {
  local dev=$1 port=$2 h=$NET_HANDLE dir
  for dir in sport dport; do
    tc filter add dev "$dev" parent "$h:" protocol ip prio 1 u32 \
      match ip protocol 6 0xff match ip "$dir" "$port" 0xffff flowid "$h:1" || return 1
    tc filter add dev "$dev" parent "$h:" protocol ipv6 prio 2 u32 \
      match ip6 protocol 6 0xff match ip6 "$dir" "$port" 0xffff flowid "$h:1" || return 1
  done
}

scenario_inject() {
  local dev=$SC_IFACE h=$NET_HANDLE port client="" out
  local -a netem=(delay "${SC_DELAY}ms")
  ((SC_LOSS > 0)) && netem+=(loss "${SC_LOSS}%")
  find_ssh_connection
  if ! out=$(tc qdisc add dev "$dev" root handle "$h:" prio bands 4 priomap 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 2>&1); then
    CHAOS_INJECT_ERROR="tc could not add the prio root qdisc on $dev: $out"
    if [[ $out == *"qdisc kind is unknown"* ]]; then
      CHAOS_INJECT_ERROR=$PRIO_MISSING
      CHAOS_INJECT_EXIT=$CHAOS_EXIT_UNSUPPORTED
    fi
    return 1
  fi
  for port in $(ssh_ports); do
    spare_port "$dev" "$port" ||
      { CHAOS_INJECT_ERROR="tc could not add the SSH bypass filters on $dev"; return 1; }
  done
  [[ -n $SC_SSH_CONNECTION ]] && client=$(awk '{ print $1 }' <<<"$SC_SSH_CONNECTION")
  if [[ $client =~ ^[0-9]+(\.[0-9]+){3}$ ]]; then
    tc filter add dev "$dev" parent "$h:" protocol ip prio 3 u32 match ip dst "$client/32" flowid "$h:1" ||
      { CHAOS_INJECT_ERROR="tc could not add the SSH client bypass filter on $dev"; return 1; }
  elif [[ $client =~ ^[0-9A-Fa-f:]+$ ]]; then
    tc filter add dev "$dev" parent "$h:" protocol ipv6 prio 4 u32 match ip6 dst "$client/128" flowid "$h:1" ||
      { CHAOS_INJECT_ERROR="tc could not add the SSH client bypass filter on $dev"; return 1; }
  fi
  # netem last: until now band 4 was a plain FIFO, so nothing was delayed before SSH was spared.
  if ! out=$(tc qdisc add dev "$dev" parent "$h:4" netem "${netem[@]}" 2>&1); then
    if [[ $out == *"qdisc kind is unknown"* ]]; then
      CHAOS_INJECT_ERROR=$NETEM_MISSING
      CHAOS_INJECT_EXIT=$CHAOS_EXIT_UNSUPPORTED
    else
      CHAOS_INJECT_ERROR="tc could not add netem on $dev: $out"
    fi
    return 1
  fi
  chaos_log "netem on $dev: ${netem[*]}; SSH ports spared:$(ssh_ports)${client:+ client $client}"
}

scenario_fault_main() { chaos_hold_until_deadline "$1"; }

scenario_revert() {
  [[ -e /sys/class/net/$SC_IFACE ]] || return 0 # interface gone: so is its qdisc
  ours_installed "$SC_IFACE" || return 0
  if ! tc qdisc del dev "$SC_IFACE" root || ours_installed "$SC_IFACE"; then
    CHAOS_REVERT_ERROR="could not delete the netem qdisc on $SC_IFACE"
    return 1
  fi
}

scenario_detail() {
  local state="not installed"
  ours_installed "$SC_IFACE" && state="installed"
  printf 'netem delay %sms loss %s%% on %s egress (%s), SSH spared' "$SC_DELAY" "$SC_LOSS" "$SC_IFACE" "$state"
}

chaos_main "$@"
