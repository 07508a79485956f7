#!/usr/bin/env bash
# Removes the traffic-shaping tree of an interface when the qdisc the diagnosis attributed the
# degradation to (by kind) is still in it. The tree is printed before it is deleted: that is
# what a person re-adds if it was intended.
# usage: remove_qdisc.sh {check|apply|verify|rollback} IFACE KIND
# shellcheck source-path=SCRIPTDIR
REM_NAME=remove_qdisc
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

(($# == 3)) || rem_usage "usage: remove_qdisc.sh {check|apply|verify|rollback} IFACE KIND"
VERB=$1 IFACE=$2 KIND=$3
[[ $IFACE =~ ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$ ]] || rem_usage "invalid interface '$IFACE'"
[[ $KIND =~ ^(netem|tbf|prio|htb|hfsc|cake|red|sfq)$ ]] || rem_usage "invalid qdisc kind '$KIND'"
[[ -e /sys/class/net/$IFACE ]] || rem_die "$REM_EXIT_PRECONDITION" "no interface $IFACE"
command -v tc >/dev/null 2>&1 || rem_die "$REM_EXIT_PRECONDITION" "tc (iproute2) is not installed"

ours() { tc qdisc show dev "$IFACE" | grep -qE "^qdisc $KIND [0-9a-f]+:"; }

case $VERB in
  check)
    ours || rem_die "$REM_EXIT_PRECONDITION" "precondition: no $KIND qdisc on $IFACE any more"
    echo "ok: $IFACE has a $KIND qdisc: $(tc qdisc show dev "$IFACE" | tr '\n' ';' | cut -c1-300)"
    ;;
  apply)
    ours || rem_die "$REM_EXIT_PRECONDITION" "precondition: no $KIND qdisc on $IFACE any more; nothing removed"
    echo "tree before removal:"
    tc qdisc show dev "$IFACE"
    tc class show dev "$IFACE" || true
    tc filter show dev "$IFACE" || true
    rem_log "tc qdisc del dev $IFACE root ($KIND attributed)"
    tc qdisc del dev "$IFACE" root || rem_die "$REM_EXIT_FAIL" "tc qdisc del dev $IFACE root failed"
    echo "removed the root qdisc of $IFACE: now $(tc qdisc show dev "$IFACE" root | head -n 1)"
    ;;
  verify)
    ! ours || rem_die "$REM_EXIT_UNVERIFIED" "a $KIND qdisc is still on $IFACE"
    echo "verified: no $KIND qdisc on $IFACE"
    ;;
  rollback)
    echo "nothing to roll back automatically: the removed tree is in the apply output, for a person to re-add"
    ;;
  *) rem_usage "unknown verb '$VERB'" ;;
esac
