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
#
# The functions below work on "the instance" these variables describe. Another instance built the
# same way (the foreign test host, tests/fixtures/foreign-host/lib.sh) sources this file and then
# sets its own values: a namespace, addresses, state dir, lock, init name, tag and memory cgroup.

SBX_TAG=sandbox               # message prefix, and how messages name the instance
SBX_INIT_NAME=chaos-sandbox-init   # file name of the init in the state dir: how its process is found
SBX_CGROUP=""                 # a cgroup-v1 memory cgroup dir every process of the instance joins (none)
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

say() { printf '[%s] %s\n' "$SBX_TAG" "$*"; }
warn() { printf '[%s] warning: %s\n' "$SBX_TAG" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$SBX_TAG" "$*" >&2; exit 1; }

require_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (try: sudo $0)"; }

# Closes every descriptor this script inherited beyond stdin/out/err: the long-lived daemons it
# starts (sshd, the services) would otherwise hold them for ever — a caller's `flock LOCK up.sh`
# lock among them, which then never frees. Call it first.
close_inherited_fds() {
  local fd
  for fd in "/proc/$$/fd"/*; do
    fd=${fd##*/}
    [[ $fd =~ ^[0-9]+$ && $fd -gt 2 && $fd -ne 255 ]] || continue
    eval "exec $fd>&-" 2>/dev/null || true
  done
}

# Serialises up/down/status of the one instance on this machine. fd 9 is closed for every child
# (see sbx_exec) so that no daemon inherits, and holds, the lock.
take_lock() {
  exec 9>"$SBX_LOCK"
  flock -w 300 9 || die "another $SBX_TAG up/down is still running (lock $SBX_LOCK)"
}

# True when host pid $1 is the instance's init: our init script, and pid 1 of its own pid namespace.
is_init() {
  [[ -n $1 && -r /proc/$1/status ]] || return 1
  grep -q -- "$SBX_INIT_NAME" "/proc/$1/cmdline" 2>/dev/null || return 1
  awk '/^NSpid:/ { ok = (NF == 3 && $3 == 1) } END { exit !ok }' "/proc/$1/status"
}

# Host pid of the instance's init, from the state file, if it is alive and still the process we started.
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
  for p in $(pgrep -f -- "$SBX_INIT_NAME" || true); do
    if is_init "$p"; then echo "$p"; return 0; fi
  done
  return 1
}

# Runs a command inside the instance's namespaces (and its memory cgroup, if it has one), as root,
# with fd 9 closed.
sbx_exec() {
  local pid
  pid=$(init_pid) || die "$SBX_TAG is not running"
  if [[ -n $SBX_CGROUP ]]; then
    # nsenter joins namespaces, not cgroups: the subshell joins the cgroup, then becomes nsenter.
    (echo "$BASHPID" >"$SBX_CGROUP/cgroup.procs" && exec nsenter -t "$pid" -m -u -i -n -p --wd=/ -- "$@") 9>&-
  else
    nsenter -t "$pid" -m -u -i -n -p --wd=/ -- "$@" 9>&-
  fi
}

netns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$SBX_NS"; }

# The repo owner, so that a non-root coordinator can read its config after `sudo up.sh`.
repo_owner() { stat -c '%u:%g' "$SBX_REPO"; }

host_key_line() { awk '{print $1" "$2}' "$SBX_STATE/ssh_host_ed25519_key.pub"; }

# --- building blocks of up.sh and down.sh, shared with other instances --------------------------

# The network namespace and its veth pair: $SBX_HOST_IF here, eth0 inside, a /$SBX_PREFIX between.
net_up() {
  if ! netns_exists; then
    ip netns add "$SBX_NS"
    say "net: created namespace $SBX_NS"
  fi
  if ! ip link show "$SBX_HOST_IF" >/dev/null 2>&1; then
    ip -n "$SBX_NS" link del eth0 2>/dev/null || true
    ip link add "$SBX_HOST_IF" type veth peer name "$SBX_PEER_IF"
    ip link set "$SBX_PEER_IF" netns "$SBX_NS"
    ip -n "$SBX_NS" link set "$SBX_PEER_IF" name eth0
    say "net: created veth $SBX_HOST_IF <-> $SBX_NS:eth0"
  fi
  ip addr replace "$SBX_HOST_ADDR/$SBX_PREFIX" dev "$SBX_HOST_IF"
  ip link set "$SBX_HOST_IF" up
  ip -n "$SBX_NS" addr replace "$SBX_ADDR/$SBX_PREFIX" dev eth0
  ip -n "$SBX_NS" link set eth0 up
  ip -n "$SBX_NS" link set lo up
  # No default route on purpose: the instance can reach the host side of the veth and nothing else.
  say "net: $SBX_HOST_IF $SBX_HOST_ADDR/$SBX_PREFIX <-> $SBX_NS eth0 $SBX_ADDR/$SBX_PREFIX (no default route)"
}

# The instance's init (scripts/sandbox/init.py, installed as $SBX_STATE/$SBX_INIT_NAME): pid, mount,
# uts and ipc namespaces inside the network namespace. Sets PID to its host pid.
init_up() {
  if PID=$(init_pid); then
    say "init: running (host pid $PID)"
    return 0
  fi
  # A dead or half-built instance from before: its namespaces are gone with its init; start clean.
  rm -f "$SBX_STATE/init.pid"
  install -m 0755 "$SBX_HERE/init.py" "$SBX_STATE/$SBX_INIT_NAME"
  # Forked away with `setsid -f` (like sshd): never a child this script could wait on. With a
  # memory cgroup, the launcher joins it before it execs, so the init and all it starts are in it.
  # shellcheck disable=SC2016  # expanded by the inner bash
  setsid -f bash -c 'if [[ -n $1 ]]; then echo "$$" >"$1/cgroup.procs"; fi; shift; exec "$@"' launcher "$SBX_CGROUP" \
    ip netns exec "$SBX_NS" unshare --pid --fork --mount --uts --ipc --mount-proc --propagation private \
    -- /usr/bin/python3 "$SBX_STATE/$SBX_INIT_NAME" </dev/null >>"$SBX_STATE/init.log" 2>&1 9>&-
  PID=""
  for _ in $(seq 1 50); do
    sleep 0.1
    PID=$(find_init_pid) && break
  done
  [[ -n $PID ]] || die "the $SBX_TAG init did not start (see $SBX_STATE/init.log)"
  echo "$PID" >"$SBX_STATE/init.pid"
  say "init: started (host pid $PID, pid 1 in the $SBX_TAG)"
}

# The sshd_config of an instance, on stdout: listening on $SBX_ADDR:$1, host key $2, only user $3,
# keys only, no forwarding, OpenSSH's default MaxSessions (the coordinator's pool stays below it).
# $4 names what generated it (the config's first line).
sshd_config_text() {
  local port=$1 host_key=$2 user=$3 generator=$4
  cat <<EOF
# $generator
ListenAddress $SBX_ADDR:$port
HostKey $host_key
PidFile /run/sshd.pid
AllowUsers $user
PermitRootLogin no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
# Without PAM: no pam_systemd/pam_loginuid in a namespace. provision.sh sets the password to '*'.
UsePAM no
PermitUserEnvironment no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTunnel no
UseDNS no
PrintMotd no
MaxSessions 10
MaxStartups 30:30:100
ClientAliveInterval 15
ClientAliveCountMax 3
LogLevel INFO
Subsystem sftp internal-sftp
EOF
}

# sshd inside the instance, from the config file $1 (PidFile /run/sshd.pid), listening on port $2:
# reloaded if it runs, else started. It logs to /var/log/auth.log inside ($SBX_STATE/log outside).
sshd_up() {
  local config=$1 port=$2 sshd_pid
  sshd_pid=$(sbx_exec cat /run/sshd.pid 2>/dev/null | tr -dc '0-9' || true)
  if [[ -n $sshd_pid ]] && sbx_exec kill -0 "$sshd_pid" 2>/dev/null; then
    sbx_exec kill -HUP "$sshd_pid"
    say "sshd: running (pid $sshd_pid in the $SBX_TAG), configuration reloaded"
    return 0
  fi
  # There is no syslog daemon in the instance: sshd logs to stderr (-e), and each line gets an
  # RFC 3339 timestamp and a syslog-like prefix, so logs.py can place it in time ("auth" stream).
  # `setsid -f` forks the launcher away, so it is never a child of this script: this script (and
  # whoever runs it and waits for its exit) can never end up waiting on the long-lived sshd.
  # shellcheck disable=SC2016  # expanded by the inner bash
  setsid -f bash -c 'if [[ -n $1 ]]; then echo "$$" >"$1/cgroup.procs"; fi; shift; exec "$@"' launcher "$SBX_CGROUP" \
    nsenter -t "$(init_pid)" -m -u -i -n -p --wd=/ -- bash -c '/usr/sbin/sshd -D -e -f "$1" 2>&1 </dev/null |
    while IFS= read -r line; do printf "%(%Y-%m-%dT%H:%M:%S%z)T %s sshd: %s\n" -1 "$2" "$line"; done >>/var/log/auth.log' \
    "$SBX_TAG-sshd" "$config" "$SBX_HOSTNAME" </dev/null >/dev/null 2>&1 9>&-
  for _ in $(seq 1 50); do
    sshd_pid=$(sbx_exec cat /run/sshd.pid 2>/dev/null | tr -dc '0-9' || true)
    [[ -n $sshd_pid ]] && break
    sleep 0.1
  done
  [[ -n $sshd_pid ]] || die "sshd did not start (see $SBX_STATE/log/auth.log)"
  say "sshd: started on $SBX_ADDR:$port (pid $sshd_pid in the $SBX_TAG; log $SBX_STATE/log/auth.log)"
}

# Kills the instance's init, and with it everything in its pid namespace, then whatever else
# entered its network namespace.
kill_instance() {
  local pid=$1 p
  if [[ -n $pid ]]; then
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
    say "processes: $SBX_TAG init (host pid $pid) and everything in its pid namespace killed"
  fi
  # Anything else that entered the network namespace (e.g. an `ip netns exec $SBX_NS ...` shell).
  if netns_exists; then
    for p in $(ip netns pids "$SBX_NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  fi
  for p in $(pgrep -f -- "$SBX_INIT_NAME" || true); do kill -KILL "$p" 2>/dev/null || true; done
}

net_down() {
  if ip link show "$SBX_HOST_IF" >/dev/null 2>&1; then ip link del "$SBX_HOST_IF"; say "net: deleted veth $SBX_HOST_IF"; fi
  if netns_exists; then
    for _ in $(seq 1 30); do [[ -z $(ip netns pids "$SBX_NS" 2>/dev/null) ]] && break; sleep 0.1; done
    ip netns del "$SBX_NS"
    say "net: deleted namespace $SBX_NS"
  fi
}
