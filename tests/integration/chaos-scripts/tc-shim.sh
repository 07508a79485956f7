#!/usr/bin/env bash
# tc shim for tests/integration/chaos-scripts/net-latency-layout.test.ts: NOT a mock of the fault.
#
# Why it exists: the test kernel has neither the netem nor the prio qdisc (no sch_netem, no
# sch_prio, no modules to load), so net_latency.sh stops at its preflight with exit 4 and its SSH
# bypass layout has never run on a real kernel. Symlinked as `tc` into a directory put first in
# PATH, this passes every tc call to the real tc UNCHANGED except three, which it rewrites into
# what this kernel does have, so that the real script builds its real layout with real filters
# on a real interface and real traffic can be measured across it:
#
#   qdisc add ... prio [bands N] [priomap M M ...]  ->  qdisc add ... htb default <M+1> r2q 37
#       plus, when a handle H: is given, classes H:1..H:N (htb rate 10gbit, far above any veth
#       test traffic): the same classful root, bands as classes, every unfiltered packet in band
#       M+1. Only a uniform priomap is supported (net_latency.sh sends everything to one band).
#   qdisc add ... netem delay Dms [loss P%]  ->  qdisc add ... tbf rate 1mbit burst 10kb latency Dms
#       a low rate so bulk traffic through it is visibly slowed; tbf cannot drop at random, so
#       loss is not emulated (its queue does drop what waits longer than D ms).
#   qdisc show (no options)  ->  the htb roots made above (r2q 37) are printed as "qdisc prio",
#       as the kernel would print the prio qdisc the script asked for.
#
# The preflight probes (`unshare --net tc qdisc add dev lo root netem delay 1ms`, and `... prio`)
# go through the same rewrites, so they succeed. usage: tc <tc arguments>   (via the symlink)
set -euo pipefail

readonly MARK_R2Q=37

real_tc() {
  local self_dir dir
  self_dir=$(cd -- "$(dirname -- "$0")" && pwd)
  IFS=: read -r -a dirs <<<"${PATH:-}"
  for dir in "${dirs[@]}"; do
    [[ -n $dir && $(cd -- "$dir" 2>/dev/null && pwd) != "$self_dir" && -x $dir/tc ]] && { printf '%s/tc' "$dir"; return 0; }
  done
  echo "tc-shim: no real tc in PATH" >&2
  return 127
}
TC=$(real_tc)

shim_die() {
  echo "tc-shim: $*" >&2
  exit 2
}

# qdisc add: the words up to the kind (dev D, root | parent P, handle H) are kept as they are.
qdisc_add() {
  local -a head=() rest=("$@")
  local dev="" handle=""
  while ((${#rest[@]})); do
    case ${rest[0]} in
      dev | parent | handle)
        ((${#rest[@]} >= 2)) || shim_die "missing value after ${rest[0]}"
        [[ ${rest[0]} == dev ]] && dev=${rest[1]}
        [[ ${rest[0]} == handle ]] && handle=${rest[1]}
        head+=("${rest[0]}" "${rest[1]}")
        rest=("${rest[@]:2}")
        ;;
      root)
        head+=(root)
        rest=("${rest[@]:1}")
        ;;
      *) break ;;
    esac
  done
  local kind=${rest[0]:-}
  case $kind in
    netem) add_tbf_for_netem "${head[@]}" -- "${rest[@]:1}" ;;
    prio) add_htb_for_prio "$dev" "$handle" "${head[@]}" -- "${rest[@]:1}" ;;
    *) exec "$TC" qdisc add "${head[@]}" "${rest[@]}" ;;
  esac
}

add_tbf_for_netem() {
  local -a head=()
  while [[ $1 != -- ]]; do head+=("$1"); shift; done
  shift
  local delay=""
  while (($#)); do
    case $1 in
      delay) delay=${2:-}; shift 2 ;;
      loss) shift 2 ;; # not emulated, see the header
      *) shim_die "netem parameter '$1' is not translated" ;;
    esac
  done
  [[ $delay =~ ^([0-9]+)ms$ ]] || shim_die "netem needs 'delay <N>ms' (got '$delay')"
  exec "$TC" qdisc add "${head[@]}" tbf rate 1mbit burst 10kb latency "${BASH_REMATCH[1]}ms"
}

add_htb_for_prio() {
  local dev=$1 handle=$2
  shift 2
  local -a head=()
  while [[ $1 != -- ]]; do head+=("$1"); shift; done
  shift
  local bands=3 band=1 i
  local -a map=()
  while (($#)); do
    case $1 in
      bands) bands=${2:-}; shift 2 ;;
      priomap)
        shift
        while (($#)) && [[ $1 =~ ^[0-9]+$ ]]; do map+=("$1"); shift; done
        ;;
      *) shim_die "prio parameter '$1' is not translated" ;;
    esac
  done
  [[ $bands =~ ^[2-9]$ ]] || shim_die "prio bands must be 2..9 here (got '$bands')"
  if ((${#map[@]})); then
    band=${map[0]}
    for i in "${map[@]}"; do [[ $i == "$band" ]] || shim_die "only a uniform priomap is translated"; done
    ((band < bands)) || shim_die "priomap band $band is not below bands $bands"
  fi
  "$TC" qdisc add "${head[@]}" htb default $((band + 1)) r2q "$MARK_R2Q"
  [[ -n $handle && -n $dev ]] || return 0 # the preflight probe: no classes needed
  for ((i = 1; i <= bands; i++)); do
    "$TC" class add dev "$dev" parent "$handle" classid "${handle%:}:$i" htb rate 10gbit burst 256k cburst 256k quantum 1514
  done
}

if [[ ${1:-} == qdisc && ${2:-} == add ]]; then
  qdisc_add "${@:3}"
  exit 0
fi
if [[ ${1:-} == qdisc && (${2:-} == show || ${2:-} == list || ${2:-} == ls) ]]; then
  "$TC" "$@" | sed -E "s/^qdisc htb ([0-9a-f]+:) (.* r2q $MARK_R2Q( |$))/qdisc prio \\1 \\2/"
  exit "${PIPESTATUS[0]}"
fi
exec "$TC" "$@"
