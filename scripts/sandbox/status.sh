#!/usr/bin/env bash
# Prints a short summary of the local sandbox target; exits 0 when it is up and healthy:
# namespace and init alive, sshd answering with the enrolled host key and accepting the enrolled
# key, victim services running, GET /health answering 200 from the host over the veth.
#
# usage: sudo scripts/sandbox/status.sh      (or: sudo npm run sandbox:status)
set -euo pipefail
# shellcheck source=scripts/sandbox/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 0 ]] || { echo "usage: $0   (as root)" >&2; exit 2; }
require_root

FAIL=0
ok() { printf '  ok    %-10s %s\n' "$1" "$2"; }
bad() { printf '  FAIL  %-10s %s\n' "$1" "$2"; FAIL=1; }

echo "chaos sandbox ($SBX_ADDR, state $SBX_STATE)"
if netns_exists; then ok netns "$SBX_NS, $SBX_HOST_IF $SBX_HOST_ADDR <-> eth0 $SBX_ADDR"; else bad netns "namespace $SBX_NS missing"; fi

if PID=$(init_pid); then
  ok init "host pid $PID"
  SSHD_PID=$(sbx_exec cat /run/sshd.pid 2>/dev/null | tr -dc '0-9' || true)
  if [[ -n $SSHD_PID ]] && sbx_exec kill -0 "$SSHD_PID" 2>/dev/null; then ok sshd "pid $SSHD_PID, $SBX_ADDR:22"; else bad sshd "not running"; fi
  for svc in victim-api postgresql; do
    if out=$(sbx_exec "/etc/chaos-handler/services/$svc.sh" status 2>&1); then ok "$svc" "$out"; else bad "$svc" "${out:-no service script}"; fi
  done
else
  bad init "not running"
fi

KEY=$SBX_CONFIG/keys/$SBX_KEY_NAME
ENROLLED=$(python3 - "$SBX_CONFIG/targets.json" "$SBX_TARGET" <<'EOF' 2>/dev/null || true
import json, sys
for t in json.load(open(sys.argv[1]))["targets"]:
    if t.get("name") == sys.argv[2]:
        print(t["host"], t["port"], t["user"], t["key"])
        for k in t["host_keys"]:
            print(k)
EOF
)
if [[ -z $ENROLLED || ! -r $KEY ]]; then
  bad enrolled "no \"$SBX_TARGET\" entry in $SBX_CONFIG/targets.json or no key $KEY"
else
  ok enrolled "$SBX_CONFIG/targets.json, key $KEY"
  read -r HOST PORT USER_ _ <<<"$(head -n 1 <<<"$ENROLLED")"
  KNOWN=$(mktemp)
  trap 'rm -f "$KNOWN"' EXIT
  tail -n +2 <<<"$ENROLLED" | sed "s/^/$HOST /" >"$KNOWN"
  # shellcheck disable=SC2016  # expanded by the remote shell
  if out=$(timeout 15 ssh -i "$KEY" -p "$PORT" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5 \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KNOWN" -o GlobalKnownHostsFile=/dev/null \
    -o LogLevel=ERROR "$USER_@$HOST" 'echo "$(id -un)@$(hostname)"' 2>&1); then
    ok ssh "$out (host key checked)"
  else
    bad ssh "$(tail -n 1 <<<"$out")"
  fi
fi

if code=$(curl -s --noproxy '*' -m 3 -o /dev/null -w '%{http_code}' "http://$SBX_ADDR:$SBX_API_PORT/health"); [[ $code == 200 ]]; then
  ok health "GET http://$SBX_ADDR:$SBX_API_PORT/health -> 200"
else
  bad health "GET http://$SBX_ADDR:$SBX_API_PORT/health -> ${code:-no answer}"
fi

if [[ $FAIL -eq 0 ]]; then echo "sandbox: up and healthy"; else echo "sandbox: NOT healthy"; fi
exit "$FAIL"
