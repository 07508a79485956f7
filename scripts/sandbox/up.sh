#!/usr/bin/env bash
# Brings up the local sandbox target: a host that behaves like a droplet, on this machine.
# Idempotent: on a running sandbox it re-provisions (new chaos-scripts are installed) and re-enrols.
#
# usage: sudo scripts/sandbox/up.sh [--tmp-size-mb N]      (or: sudo npm run sandbox:up)
#
# Result: sshd on 10.213.7.2:22 in network namespace chsbx, user sre-demo (key below), the victim
# stack (PostgreSQL + victim-api on 10.213.7.2:8080) provisioned by vm_provisioning/provision.sh,
# and the target enrolled in <repo>/config/targets.json as "sandbox" with its key in
# <repo>/config/keys/sandbox_ed25519. See scripts/sandbox/README.md.
set -euo pipefail
# shellcheck source=scripts/sandbox/lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: $0 [--tmp-size-mb N]   (as root)" >&2; exit 2; }
TMP_MB=1024
while [[ $# -gt 0 ]]; do
  case $1 in
    --tmp-size-mb)
      if [[ $# -lt 2 || ! $2 =~ ^[0-9]+$ ]] || (($2 < 64 || $2 > 65536)); then usage; fi
      TMP_MB=$2; shift 2 ;;
    -h|--help) usage ;;
    *) usage ;;
  esac
done

require_root
close_inherited_fds
for cmd in ip nsenter unshare setsid flock losetup mkfs.ext4 ssh-keygen ssh /usr/sbin/sshd python3 curl; do
  command -v "$cmd" >/dev/null || die "missing command: $cmd (apt-get install iproute2 util-linux e2fsprogs openssh-server openssh-client python3 curl)"
done
T0=$(date +%s%N)
elapsed() { echo "$(( ($(date +%s%N) - T0) / 1000000 )) ms"; }
take_lock

# --- packages: apt needs the host's network, so this runs outside the namespace -------------------
bash "$SBX_REPO/vm_provisioning/provision.sh" --packages-only --victim

# --- state and ownership record ---------------------------------------------------------------------
if [[ ! -d $SBX_STATE ]]; then
  install -d -m 0711 "$SBX_STATE"
  # What the sandbox creates on the shared filesystem, so that down.sh removes exactly that.
  {
    id "$SBX_USER" >/dev/null 2>&1 || echo "user $SBX_USER"
    id victim >/dev/null 2>&1 || echo "user victim"
    [[ -e /opt/chaos-scripts ]] || echo "path /opt/chaos-scripts"
    [[ -e /etc/chaos-handler ]] || echo "path /etc/chaos-handler"
    [[ -e /etc/sudoers.d/chaos-handler ]] || echo "path /etc/sudoers.d/chaos-handler"
  } >"$SBX_STATE/owned.list"
  say "state: created $SBX_STATE (will remove on down: $(paste -sd ',' "$SBX_STATE/owned.list"))"
  if grep -q '^user' "$SBX_STATE/owned.list"; then :; else warn "user $SBX_USER already existed: down.sh will leave it"; fi
else
  say "state: $SBX_STATE exists"
fi
install -d -m 0755 "$SBX_STATE/log" "$SBX_STATE/etc"
install -d -o postgres -g postgres -m 0700 "$SBX_STATE/pgdata"

# --- keys: generated once per sandbox lifetime (down.sh deletes them) ------------------------------
if [[ ! -f $SBX_STATE/ssh_host_ed25519_key ]]; then
  ssh-keygen -q -t ed25519 -N '' -C "chaos-sandbox-host" -f "$SBX_STATE/ssh_host_ed25519_key"
  say "keys: generated sshd host key $(ssh-keygen -l -f "$SBX_STATE/ssh_host_ed25519_key.pub" | awk '{print $2}')"
fi
if [[ ! -f $SBX_STATE/sre-demo_ed25519 ]]; then
  ssh-keygen -q -t ed25519 -N '' -C "chaos-handler-coordinator@sandbox" -f "$SBX_STATE/sre-demo_ed25519"
  say "keys: generated $SBX_USER key $(ssh-keygen -l -f "$SBX_STATE/sre-demo_ed25519.pub" | awk '{print $2}')"
fi
chmod 0600 "$SBX_STATE/ssh_host_ed25519_key" "$SBX_STATE/sre-demo_ed25519"

# --- network: namespace + veth ------------------------------------------------------------------------
net_up

# --- the sandbox's init: pid, mount, uts and ipc namespaces inside the network namespace ----------
init_up

# --- mounts and hostname inside --------------------------------------------------------------------
cat >"$SBX_STATE/etc/hosts" <<EOF
127.0.0.1	localhost
$SBX_ADDR	$SBX_HOSTNAME
$SBX_HOST_ADDR	chaos-coordinator
::1	localhost ip6-localhost ip6-loopback
EOF
echo "$SBX_HOSTNAME" >"$SBX_STATE/etc/hostname"
if ! sbx_exec findmnt -n /tmp >/dev/null 2>&1 || [[ $(sbx_exec findmnt -n -o SOURCE /tmp) != /dev/loop* ]]; then
  rm -f "$SBX_TMP_IMG"
  truncate -s "${TMP_MB}M" "$SBX_TMP_IMG"
  mkfs.ext4 -q -F -m 0 -L chsbx-tmp "$SBX_TMP_IMG"
fi
sbx_exec bash -euo pipefail -s -- "$SBX_STATE" "$SBX_TMP_IMG" "$SBX_HOSTNAME" <<'EOF'
state=$1 img=$2 name=$3
hostname "$name"
if ! findmnt -n -o SOURCE /tmp | grep -q '^/dev/loop'; then
  mount -o loop,nosuid,nodev "$img" /tmp && chmod 1777 /tmp
fi
if [[ $(findmnt -n -o FSTYPE /run) != tmpfs ]]; then
  mount -t tmpfs -o mode=0755,nosuid,nodev,size=64m sandbox-run /run
fi
install -d -m 0755 /run/sshd
install -d -m 1777 /run/lock
if ! findmnt -n /var/log >/dev/null; then mount --bind "$state/log" /var/log; fi
if ! findmnt -n /etc/hosts >/dev/null; then mount --bind "$state/etc/hosts" /etc/hosts; fi
if ! findmnt -n /etc/hostname >/dev/null; then mount --bind "$state/etc/hostname" /etc/hostname; fi
EOF
say "mounts: /tmp is a $(sbx_exec df -h --output=size /tmp | tail -n 1 | xargs) ext4 image on $(sbx_exec findmnt -n -o SOURCE /tmp); private /run, /var/log, /etc/hosts"

# --- provisioning: the same script as for a droplet, run inside the sandbox ----------------------
# The sandbox has a /tmp of its own, so a checkout under /tmp is invisible inside it: provision from
# a copy staged in the state dir, which both sides see.
say "provision: running vm_provisioning/provision.sh inside the sandbox"
rm -rf "$SBX_STATE/src"
install -d -m 0755 "$SBX_STATE/src"
cp -R "$SBX_REPO/vm_provisioning" "$SBX_REPO/chaos-scripts" "$SBX_STATE/src/"
sbx_exec bash "$SBX_STATE/src/vm_provisioning/provision.sh" --victim --no-packages --mode pidfile \
  --pubkey-file "$SBX_STATE/sre-demo_ed25519.pub" --user "$SBX_USER" \
  --listen "$SBX_ADDR" --api-port "$SBX_API_PORT" --pg-port "$SBX_PG_PORT" --pg-allow "$SBX_CIDR" \
  --pg-datadir "$SBX_STATE/pgdata" --scripts-src "$SBX_STATE/src/chaos-scripts" | sed 's/^/    /'

# --- sshd --------------------------------------------------------------------------------------------
sshd_config_text 22 "$SBX_STATE/ssh_host_ed25519_key" "$SBX_USER" "Chaos-Handler sandbox sshd, generated by scripts/sandbox/up.sh" >"$SBX_STATE/sshd_config"
/usr/sbin/sshd -t -f "$SBX_STATE/sshd_config" || die "sshd_config does not validate"
sshd_up "$SBX_STATE/sshd_config" 22

# --- enrol in the coordinator's config --------------------------------------------------------------
install -d -m 0755 "$SBX_CONFIG"
install -d -m 0700 "$SBX_CONFIG/keys"
install -m 0600 "$SBX_STATE/sre-demo_ed25519" "$SBX_CONFIG/keys/$SBX_KEY_NAME"
chown "$(repo_owner)" "$SBX_CONFIG" "$SBX_CONFIG/keys" "$SBX_CONFIG/keys/$SBX_KEY_NAME"
python3 - "$SBX_CONFIG/targets.json" "$(host_key_line)" "$(repo_owner)" <<EOF
import json, os, sys
path, host_key, owner = sys.argv[1], sys.argv[2], sys.argv[3]
entry = {
    "name": "$SBX_TARGET", "host": "$SBX_ADDR", "port": 22, "user": "$SBX_USER", "key": "$SBX_KEY_NAME",
    "host_keys": [host_key],
    "services": {"http": "http://$SBX_ADDR:$SBX_API_PORT/health", "db": "postgresql://victim@$SBX_ADDR:$SBX_PG_PORT/victim"},
}
try:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
except FileNotFoundError:
    data = {"targets": []}
except ValueError as e:
    sys.exit(f"[sandbox] error: {path} is not valid JSON ({e}); fix or remove it")
if not isinstance(data, dict) or not isinstance(data.get("targets"), list):
    sys.exit(f'[sandbox] error: {path} has no "targets" array; fix or remove it')
data["targets"] = [t for t in data["targets"] if not (isinstance(t, dict) and t.get("name") == entry["name"])] + [entry]
tmp = path + ".tmp"
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(data, f, indent=2)
    f.write("\n")
    f.flush()
    os.fsync(f.fileno())
uid, gid = (int(x) for x in owner.split(":"))
os.chown(tmp, uid, gid)
os.chmod(tmp, 0o644)
os.replace(tmp, path)
EOF
say "enrol: $SBX_CONFIG/targets.json target \"$SBX_TARGET\", key $SBX_CONFIG/keys/$SBX_KEY_NAME"
# Every checkout this sandbox enrolled into, so that down.sh (run from any of them) un-enrols all.
touch "$SBX_STATE/enrolled.list"
grep -qxF "$SBX_CONFIG" "$SBX_STATE/enrolled.list" || echo "$SBX_CONFIG" >>"$SBX_STATE/enrolled.list"

# --- verify ---------------------------------------------------------------------------------------------
if ! bash "$SBX_HERE/status.sh" | sed 's/^/    /'; then
  die "the sandbox came up but is not healthy (see above; logs in $SBX_STATE/log)"
fi
say "up in $(elapsed): ssh -i $SBX_CONFIG/keys/$SBX_KEY_NAME $SBX_USER@$SBX_ADDR ; curl http://$SBX_ADDR:$SBX_API_PORT/health"
