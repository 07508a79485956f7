#!/usr/bin/env bash
# Tears the local sandbox target down and leaves nothing behind: its processes (the whole pid
# namespace), the network namespace and veth, the loop device, the users, sudoers file,
# /opt/chaos-scripts and /etc/chaos-handler (each only if the sandbox created it), the "sandbox"
# entry of config/targets.json and its key, and /var/lib/chaos-sandbox. Safe to run at any time.
#
# usage: sudo scripts/sandbox/down.sh      (or: sudo npm run sandbox:down)
set -euo pipefail
# shellcheck source=scripts/sandbox/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 0 ]] || { echo "usage: $0   (as root)" >&2; exit 2; }
require_root
T0=$(date +%s%N)
take_lock

# --- processes: stop the services politely, then end the pid namespace ---------------------------
PID=$(init_pid || find_init_pid || true)
if [[ -n $PID ]]; then
  for svc in victim-api postgresql; do
    [[ -x /etc/chaos-handler/services/$svc.sh ]] || continue
    timeout 40 nsenter -t "$PID" -m -u -i -n -p --wd=/ -- "/etc/chaos-handler/services/$svc.sh" stop >/dev/null 2>&1 9>&- ||
      warn "$svc did not stop cleanly; it is killed with the sandbox"
  done
fi
kill_instance "$PID"

# --- network -----------------------------------------------------------------------------------------
net_down

# --- loop device (auto-cleared with the mount namespace; detach leftovers) --------------------------
if [[ -e $SBX_TMP_IMG ]]; then
  for dev in $(losetup -j "$SBX_TMP_IMG" -O NAME -n 2>/dev/null); do losetup -d "$dev" && say "loop: detached $dev"; done
fi

# --- what the provisioning created on the shared filesystem ----------------------------------------
if [[ -r $SBX_STATE/owned.list ]]; then
  while read -r kind what; do
    case $kind in
      user)
        if id "$what" >/dev/null 2>&1; then
          userdel -r "$what" >/dev/null 2>&1 || userdel "$what" || warn "could not delete user $what"
          if getent group "$what" >/dev/null; then groupdel "$what" 2>/dev/null || true; fi
          say "users: deleted $what"
        fi ;;
      path)
        case $what in
          /opt/chaos-scripts|/etc/chaos-handler|/etc/sudoers.d/chaos-handler)
            if [[ -e $what ]]; then rm -rf -- "$what"; say "files: removed $what"; fi ;;
          *) warn "ignoring unexpected path in owned.list: $what" ;;
        esac ;;
    esac
  done <"$SBX_STATE/owned.list"
elif [[ -d $SBX_STATE ]]; then
  warn "no $SBX_STATE/owned.list: leaving users, /opt/chaos-scripts and /etc/chaos-handler alone"
fi

# --- coordinator config: every checkout this sandbox enrolled into (enrolled.list), and this one ---
unenrol() {
  local config=$1
  if [[ -f $config/targets.json ]]; then
    if python3 - "$config/targets.json" "$SBX_TARGET" <<'EOF'
import json, os, sys
path, name = sys.argv[1], sys.argv[2]
try:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
except ValueError:
    sys.exit(f"[sandbox] warning: {path} is not valid JSON; left as it is")
targets = data.get("targets") if isinstance(data, dict) else None
if not isinstance(targets, list):
    sys.exit(0)
kept = [t for t in targets if not (isinstance(t, dict) and t.get("name") == name)]
if len(kept) == len(targets):
    sys.exit(0)
if not kept and set(data) == {"targets"}:
    os.remove(path)
    print(f"[sandbox] config: removed {path} (it only held the sandbox)")
    sys.exit(0)
data["targets"] = kept
st = os.stat(path)
tmp = path + ".tmp"
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(data, f, indent=2)
    f.write("\n")
    f.flush()
    os.fsync(f.fileno())
os.chown(tmp, st.st_uid, st.st_gid)
os.chmod(tmp, st.st_mode & 0o777)
os.replace(tmp, path)
print(f"[sandbox] config: removed target {name!r} from {path}")
EOF
    then :; else warn "could not update $config/targets.json"; fi
  fi
  if [[ -e $config/keys/$SBX_KEY_NAME ]]; then
    rm -f "$config/keys/$SBX_KEY_NAME"
    say "config: removed key $config/keys/$SBX_KEY_NAME"
  fi
  rmdir "$config/keys" 2>/dev/null || true
  rmdir "$config" 2>/dev/null || true
}
{ cat "$SBX_STATE/enrolled.list" 2>/dev/null || true; echo "$SBX_CONFIG"; } | sort -u | while IFS= read -r config; do
  if [[ $config == /* && -d $config ]]; then unenrol "$config"; fi
done

# --- state -----------------------------------------------------------------------------------------------
if [[ -d $SBX_STATE ]]; then rm -rf -- "$SBX_STATE"; say "state: removed $SBX_STATE"; fi
say "down in $(( ($(date +%s%N) - T0) / 1000000 )) ms"
# The lock file stays (an empty file in /run): removing it would let a waiting and a new run both "hold" it.
