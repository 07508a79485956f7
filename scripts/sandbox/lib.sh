# shellcheck shell=bash
# shellcheck disable=SC2034  # constants used by the scripts that source this file
# Shared by scripts/sandbox/{up,down,status}.sh. Sourced, not executed.
#
# The sandbox is one process tree in its own namespaces, all entered through its init process:
#   net   chsbx (ip netns), eth0 10.213.7.2/30 <-veth-> chsbx-h 10.213.7.1/30 on the host
#   pid   own /proc; its init (init.py) reaps orphans; killing it kills the whole sandbox
#   mnt   private /tmp (1 GiB ext4 image on a loop device), /run (tmpfs), /var/log (a state folder),
#         /etc/hosts, /etc/hostname; everything else is the host's filesystem
#   uts   hostname chaos-sandbox
#   ipc   own SysV IPC (PostgreSQL)
# State lives in /var/lib/chaos-sandbox; the coordinator's view in <repo>/config/.

SBX_NS=chsbx
SBX_HOST_IF=chsbx-h
SBX_PEER_IF=chsbx-s           # renamed eth0 once inside the namespace
SBX_HOST_ADDR=10.213.7.1
SBX_ADDR=10.213.7.2
SBX_CIDR=10.213.7.0/30
SBX_PREFIX=30
SBX_HOSTNAME=chaos-sandbox
SBX_USER=sre-demo
SBX_STATE=/var/lib/chaos-sandbox
SBX_LOCK=/run/chaos-sandbox.lock
SBX_TMP_IMG=$SBX_STATE/tmp.img
SBX_TARGET=sandbox
SBX_KEY_NAME=sandbox_ed25519
SBX_API_PORT=8080
SBX_PG_PORT=5432

SBX_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SBX_REPO=${CHAOS_REPO_DIR:-$(cd "$SBX_HERE/../.." && pwd)}
SBX_CONFIG=$SBX_REPO/config

say() { printf '[sandbox] %s\n' "$*"; }
warn() { printf '[sandbox] warning: %s\n' "$*" >&2; }
die() { printf '[sandbox] error: %s\n' "$*" >&2; exit 1; }

require_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (try: sudo $0)"; }

# Serialises up/down/status of the one sandbox on this machine. fd 9 is closed for every child
# (see sbx_exec) so that no daemon inherits, and holds, the lock.
take_lock() {
  exec 9>"$SBX_LOCK"
  flock -w 300 9 || die "another sandbox up/down is still running (lock $SBX_LOCK)"
}

# True when host pid $1 is the sandbox init: our init script, and pid 1 of its own pid namespace.
is_init() {
  [[ -n $1 && -r /proc/$1/status ]] || return 1
  grep -q 'chaos-sandbox-init' "/proc/$1/cmdline" 2>/dev/null || return 1
  awk '/^NSpid:/ { ok = (NF == 3 && $3 == 1) } END { exit !ok }' "/proc/$1/status"
}

# Host pid of the sandbox init, from the state file, if it is alive and still the process we started.
init_pid() {
  local pid
  [[ -r $SBX_STATE/init.pid ]] || return 1
  pid=$(tr -dc '0-9' <"$SBX_STATE/init.pid")
  is_init "$pid" || return 1
  echo "$pid"
}

# Finds the init by scanning processes (right after starting it, or when the state file is gone).
find_init_pid() {
  local p
  for p in $(pgrep -f 'chaos-sandbox-init' || true); do
    if is_init "$p"; then echo "$p"; return 0; fi
  done
  return 1
}

# Runs a command inside the sandbox namespaces, as root, with fd 9 closed.
sbx_exec() {
  local pid
  pid=$(init_pid) || die "sandbox is not running"
  nsenter -t "$pid" -m -u -i -n -p --wd=/ -- "$@" 9>&-
}

netns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$SBX_NS"; }

# The repo owner, so that a non-root coordinator can read its config after `sudo up.sh`.
repo_owner() { stat -c '%u:%g' "$SBX_REPO"; }

host_key_line() { awk '{print $1" "$2}' "$SBX_STATE/ssh_host_ed25519_key.pub"; }
