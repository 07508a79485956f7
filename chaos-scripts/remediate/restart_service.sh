#!/usr/bin/env bash
# Starts a service that is down, or restarts one that runs: systemd where /run/systemd/system
# exists, else the pid-file contract (/etc/chaos-handler/services/NAME.sh, see
# vm_provisioning/services/). Whether it was running before is kept, so the rollback puts it
# back as it was.
# usage: restart_service.sh {check|apply|verify|rollback} NAME
# shellcheck source-path=SCRIPTDIR
REM_NAME=restart_service
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

(($# == 2)) || rem_usage "usage: restart_service.sh {check|apply|verify|rollback} NAME"
VERB=$1 NAME=${2%.service}
[[ $NAME =~ ^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$ ]] || rem_usage "invalid service name '$2'"
# The host's own control path is never touched (the same list service_kill.sh refuses).
for r in ssh sshd openssh-server dbus dbus-broker networking NetworkManager getty cron rsyslog cloud-init chaos-handler; do
  [[ $NAME == "$r" || $NAME == "$r@"* ]] && rem_usage "refusing to restart $NAME: the host or its SSH control path needs it"
done
[[ $NAME == systemd-* ]] && rem_usage "refusing to restart systemd's own services"
SERVICES_DIR=/etc/chaos-handler/services
WAS_FILE=$REM_STATE_DIR/restart_service.$NAME.was

if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then MODE=systemd; else MODE=pidfile; fi

exists() {
  if [[ $MODE == systemd ]]; then
    [[ $(systemctl show -p LoadState --value "$NAME.service" 2>/dev/null) == loaded ]]
  else
    [[ -f $SERVICES_DIR/$NAME.sh && -x $SERVICES_DIR/$NAME.sh ]]
  fi
}
running() {
  if [[ $MODE == systemd ]]; then systemctl is-active --quiet "$NAME.service"; else timeout 30 "$SERVICES_DIR/$NAME.sh" status >/dev/null 2>&1 </dev/null; fi
}
ctl() {
  if [[ $MODE == systemd ]]; then timeout 120 systemctl "$1" "$NAME.service" 2>&1; else timeout 120 "$SERVICES_DIR/$NAME.sh" "$1" 2>&1 </dev/null; fi
}

exists || rem_die "$REM_EXIT_PRECONDITION" "precondition: $NAME is not a service of this host ($MODE)"
case $VERB in
  check)
    if running; then echo "ok: $NAME is running ($MODE); apply restarts it"; else echo "ok: $NAME is down ($MODE); apply starts it"; fi
    ;;
  apply)
    rem_state_dir
    if running; then was=running verb=restart; else was=stopped verb=start; fi
    printf '%s\n' "$was" >"$WAS_FILE"
    rem_log "$verb $NAME ($MODE, was $was)"
    out=$(ctl "$verb") || rem_die "$REM_EXIT_FAIL" "$verb $NAME failed: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
    echo "$NAME was $was; $verb ($MODE): $(tail -n 2 <<<"$out" | tr '\n' ' ')"
    ;;
  verify)
    for _ in $(seq 1 25); do
      running && { echo "verified: $NAME is running"; exit 0; }
      sleep 0.2
    done
    rem_die "$REM_EXIT_UNVERIFIED" "$NAME is not running"
    ;;
  rollback)
    was=""
    { read -r was <"$WAS_FILE"; } 2>/dev/null || true
    if [[ $was == stopped ]]; then
      rem_log "stop $NAME (rollback: it was down before the fix)"
      out=$(ctl stop) || rem_die "$REM_EXIT_FAIL" "stop $NAME failed: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
      echo "rolled back: $NAME stopped again, as it was before the fix"
    else
      echo "nothing to roll back: $NAME was running before the fix (it was restarted)"
    fi
    rm -f -- "$WAS_FILE"
    ;;
  *) rem_usage "unknown verb '$VERB'" ;;
esac
