#!/usr/bin/env bash
# Chaos-Handler host provisioning: makes a Debian/Ubuntu host (your own, a droplet, a VM, or the local
# sandbox) a target the coordinator can reach and read. Idempotent: run it again after changing anything.
#
#   !!! NEVER RUN THIS ON A PRODUCTION HOST. It gives a remote user root access to fault-injection
#   !!! scripts (CPU burn, disk fill, killing services, exhausting database connections), and with
#   !!! --victim it installs a deliberately breakable service stack.
#
# What it does (as root):
#   1. installs missing packages with apt-get: python3 iproute2 procps psmisc sudo stress-ng (the
#      collectors and the scenarios; db_conn_exhaust also needs psql, there wherever PostgreSQL is),
#      plus postgresql python3-psycopg2 with --victim;
#   2. creates the login user (any name, --user; default sre-demo) with exactly the given SSH public
#      key(s) and no password, and /etc/sudoers.d/chaos-handler allowing it, NOPASSWD, exactly
#      /opt/chaos-scripts/*.sh, /opt/chaos-scripts/collect/* and the approval-gated fixes in
#      /opt/chaos-scripts/remediate/*.sh (checked with visudo -cf);
#   3. copies the repo's chaos-scripts/ to /opt/chaos-scripts/ (root-owned; 0755 for directories and
#      files with a #! line, 0644 otherwise);
#   and only with --victim (the local sandbox and the demo droplet ask for it; a host with services of
#   its own does not need it):
#   4. installs the victim stack: PostgreSQL (role and database "victim", table "items") and
#      victim-api (chaos-scripts/victim/victim_api.py, logging to /var/log/victim-api.log), as systemd
#      units where systemd runs, else through the pid-file contract:
#      /etc/chaos-handler/services/NAME.sh {start|stop|status|restart} keeping /var/run/NAME.pid
#      for NAME in victim-api and postgresql (a cluster of its own, run with pg_ctl);
#   5. starts everything and checks GET /health.
# Without --victim nothing else is installed, started or changed: the host's own services stay as
# they are (a victim stack installed by an earlier --victim run is left in place, too).
#
# The least privilege the collectors need (see vm_provisioning/DROPLET.md, "Your own host"):
#   * sudo for /opt/chaos-scripts/*.sh and /opt/chaos-scripts/collect/* only (step 2): the collectors
#     read /proc, the kernel log, sockets and log files as root; the scenarios change the host. No
#     shell, no other command.
#   * PostgreSQL (optional, for `enroll --db`): a login role with pg_monitor and CONNECT on the
#     probed database, nothing more:
#       CREATE ROLE chaos_monitor LOGIN;  GRANT pg_monitor TO chaos_monitor;
#       GRANT CONNECT ON DATABASE app TO chaos_monitor;  \password chaos_monitor   (in psql)
#     Its password never goes in argv, in targets.json or in this script's options: it lives in
#     ~/.pgpass (mode 0600) of the login user on the host (or the file PGPASSFILE names), which the
#     collectors read under sudo as that user's.
set -euo pipefail

usage() {
  cat >&2 <<'EOF'
usage: provision.sh (--pubkey 'ssh-ed25519 AAAA...' | --pubkey-file FILE) [--victim] [options]
       provision.sh --packages-only [--victim]
options:
  --user NAME             login user for the coordinator (default sre-demo)
  --scripts-src DIR       chaos-scripts folder to install (default: <repo>/chaos-scripts)
  --packages-only         only install missing packages, then exit
  --no-packages           never run apt-get; fail if a package is missing
  --victim                also install and start the victim stack (PostgreSQL + victim-api); the
                          options below configure it and need --victim
victim stack options:
  --listen ADDR           address victim-api and PostgreSQL listen on, besides loopback for PostgreSQL
                          (default 127.0.0.1: nothing reachable from outside the host)
  --api-port N            victim-api port (default 8080)
  --pg-port N             PostgreSQL port (default 5432)
  --pg-allow CIDR         also let CIDR connect to database victim as role victim (repeatable)
  --pg-max-connections N  PostgreSQL max_connections (default 50)
  --pg-datadir DIR        pid-file mode: the victim cluster's data directory
                          (default /var/lib/chaos-handler/postgresql)
  --mode auto|systemd|pidfile   service manager (default auto: systemd if /run/systemd/system exists)
  --no-start              install and configure, start nothing
EOF
  exit 2
}

die() { echo "provision: error: $*" >&2; exit 1; }
say() { printf '[provision] %s\n' "$*"; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
USER_NAME=sre-demo
PUBKEYS=""
SCRIPTS_SRC="$HERE/../chaos-scripts"
LISTEN=127.0.0.1
API_PORT=8080
PG_PORT=5432
PG_ALLOW=()
PG_MAXCONN=50
PG_DATADIR=/var/lib/chaos-handler/postgresql
MODE=auto
PACKAGES=install
START=1
VICTIM=0
VICTIM_OPTIONS=()   # victim stack options given, refused without --victim

INSTALL_DIR=/opt/chaos-scripts          # fixed: the sudoers rule names it
ETC_DIR=/etc/chaos-handler
SUDOERS_FILE=/etc/sudoers.d/chaos-handler
VICTIM_OS_USER=victim
VICTIM_LOG=/var/log/victim-api.log
# The collectors and scenarios need these on any target.
PACKAGES_NEEDED=(stress-ng python3 iproute2 procps psmisc sudo)
PACKAGES_VICTIM=(postgresql python3-psycopg2)

while [[ $# -gt 0 ]]; do
  case $1 in
    --pubkey) [[ $# -ge 2 ]] || usage; PUBKEYS+="$2"$'\n'; shift 2 ;;
    --pubkey-file) [[ $# -ge 2 ]] || usage; [[ -r $2 ]] || die "cannot read $2"; PUBKEYS+="$(cat "$2")"$'\n'; shift 2 ;;
    --user) [[ $# -ge 2 ]] || usage; USER_NAME=$2; shift 2 ;;
    --scripts-src) [[ $# -ge 2 ]] || usage; SCRIPTS_SRC=$2; shift 2 ;;
    --victim) VICTIM=1; shift ;;
    --listen) [[ $# -ge 2 ]] || usage; LISTEN=$2; VICTIM_OPTIONS+=("$1"); shift 2 ;;
    --api-port) [[ $# -ge 2 ]] || usage; API_PORT=$2; VICTIM_OPTIONS+=("$1"); shift 2 ;;
    --pg-port) [[ $# -ge 2 ]] || usage; PG_PORT=$2; VICTIM_OPTIONS+=("$1"); shift 2 ;;
    --pg-allow) [[ $# -ge 2 ]] || usage; PG_ALLOW+=("$2"); VICTIM_OPTIONS+=("$1"); shift 2 ;;
    --pg-max-connections) [[ $# -ge 2 ]] || usage; PG_MAXCONN=$2; VICTIM_OPTIONS+=("$1"); shift 2 ;;
    --pg-datadir) [[ $# -ge 2 ]] || usage; PG_DATADIR=$2; VICTIM_OPTIONS+=("$1"); shift 2 ;;
    --mode) [[ $# -ge 2 ]] || usage; MODE=$2; VICTIM_OPTIONS+=("$1"); shift 2 ;;
    --packages-only) PACKAGES=only; shift ;;
    --no-packages) PACKAGES=never; shift ;;
    --no-start) START=0; VICTIM_OPTIONS+=("$1"); shift ;;
    -h|--help) usage ;;
    *) echo "provision: unknown argument: $1" >&2; usage ;;
  esac
done

# --- validation (every value below ends up in config files: accept only plain shapes) ----------
[[ $(id -u) -eq 0 ]] || die "must run as root"
command -v dpkg-query >/dev/null || die "this script supports Debian/Ubuntu (dpkg/apt) hosts only"
if [[ $VICTIM -eq 0 && ${#VICTIM_OPTIONS[@]} -gt 0 ]]; then
  die "${VICTIM_OPTIONS[*]}: victim stack options, which need --victim"
fi
if [[ $VICTIM -eq 1 ]]; then PACKAGES_NEEDED+=("${PACKAGES_VICTIM[@]}"); fi
is_port() { [[ $1 =~ ^[0-9]{1,5}$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); }
is_ipv4() { [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] &&
  ((BASH_REMATCH[1] <= 255 && BASH_REMATCH[2] <= 255 && BASH_REMATCH[3] <= 255 && BASH_REMATCH[4] <= 255)); }
is_cidr() { local bits=${1##*/}; [[ $1 == */* && $bits =~ ^[0-9]{1,2}$ ]] && ((10#$bits <= 32)) && is_ipv4 "${1%/*}"; }
if [[ $PACKAGES != only ]]; then
  [[ $USER_NAME =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "--user: invalid user name"
  [[ $USER_NAME != root ]] || die "--user: must not be root"
  is_ipv4 "$LISTEN" || die "--listen: expected an IPv4 address"
  is_port "$API_PORT" || die "--api-port: expected 1-65535"
  is_port "$PG_PORT" || die "--pg-port: expected 1-65535"
  if ! [[ $PG_MAXCONN =~ ^[0-9]+$ ]] || ((PG_MAXCONN < 10 || PG_MAXCONN > 10000)); then
    die "--pg-max-connections: expected 10-10000"
  fi
  for cidr in "${PG_ALLOW[@]+"${PG_ALLOW[@]}"}"; do
    if ! is_cidr "$cidr"; then die "--pg-allow: expected an IPv4 CIDR such as 10.0.0.0/24, got '$cidr'"; fi
  done
  [[ $PG_DATADIR =~ ^/[A-Za-z0-9._/-]+$ && $PG_DATADIR != */ ]] || die "--pg-datadir: expected an absolute path"
  case $MODE in
    auto) if [[ -d /run/systemd/system ]]; then MODE=systemd; else MODE=pidfile; fi ;;
    systemd) [[ -d /run/systemd/system ]] || die "--mode systemd: systemd is not running here" ;;
    pidfile) ;;
    *) die "--mode: expected auto, systemd or pidfile" ;;
  esac
  [[ -n ${PUBKEYS//[[:space:]]/} ]] || die "an SSH public key is required (--pubkey or --pubkey-file)"
  [[ -d $SCRIPTS_SRC && -d $SCRIPTS_SRC/collect && -f $SCRIPTS_SRC/victim/victim_api.py ]] ||
    die "--scripts-src: $SCRIPTS_SRC does not look like the repo's chaos-scripts/ folder"
  SCRIPTS_SRC=$(cd "$SCRIPTS_SRC" && pwd -P)
  [[ $SCRIPTS_SRC != "$INSTALL_DIR" ]] || die "--scripts-src must not be $INSTALL_DIR itself"
fi

# --- 1. packages -------------------------------------------------------------------------------
ensure_packages() {
  local missing=() p
  for p in "${PACKAGES_NEEDED[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then say "packages: all present (${PACKAGES_NEEDED[*]})"; return 0; fi
  [[ $PACKAGES != never ]] || die "missing packages: ${missing[*]} (and --no-packages was given)"
  say "packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  say "packages: installed ${missing[*]}"
}
ensure_packages
if [[ $PACKAGES == only ]]; then exit 0; fi

if [[ $VICTIM -eq 1 ]]; then
  PGVER=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
  [[ -n $PGVER && -x /usr/lib/postgresql/$PGVER/bin/pg_ctl ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
  PGBIN=/usr/lib/postgresql/$PGVER/bin
fi

# --- 2. login user, key, sudoers -----------------------------------------------------------------
setup_user() {
  local home keyfile tmp
  if id "$USER_NAME" >/dev/null 2>&1; then
    say "user: $USER_NAME exists"
  else
    useradd --create-home --shell /bin/bash --user-group "$USER_NAME"
    say "user: created $USER_NAME"
  fi
  # '*': no password can match, but the account is not "locked" ('!'), which sshd would refuse
  # even for key logins when it runs without PAM (as the sandbox's does).
  usermod -p '*' "$USER_NAME"
  home=$(getent passwd "$USER_NAME" | cut -d: -f6)
  install -d -o "$USER_NAME" -g "$USER_NAME" -m 0700 "$home/.ssh"
  tmp=$(mktemp)
  printf '%s' "$PUBKEYS" | sed -e 's/\r$//' -e '/^[[:space:]]*$/d' >"$tmp"
  if ! ssh-keygen -l -f "$tmp" >/dev/null 2>&1; then rm -f "$tmp"; die "the public key is not a valid OpenSSH public key"; fi
  keyfile="$home/.ssh/authorized_keys"
  install -o "$USER_NAME" -g "$USER_NAME" -m 0600 "$tmp" "$keyfile"
  say "user: authorized_keys set ($(ssh-keygen -l -f "$tmp" | awk '{print $2}' | paste -sd ' ' -))"
  rm -f "$tmp"
}

setup_sudoers() {
  local tmp
  tmp=$(mktemp)
  cat >"$tmp" <<EOF
# Managed by Chaos-Handler vm_provisioning/provision.sh; rewritten on every run.
# $USER_NAME may run the fault-injection scripts and the evidence collectors as root, and nothing else.
# ('*' in a sudoers path does not match '/': subfolders such as lib/ are not included.)
Cmnd_Alias CHAOS_HANDLER_CMDS = $INSTALL_DIR/*.sh, $INSTALL_DIR/collect/*, $INSTALL_DIR/remediate/*.sh
Defaults:$USER_NAME !requiretty, !lecture
$USER_NAME ALL=(root) NOPASSWD: CHAOS_HANDLER_CMDS
EOF
  if ! visudo -cqf "$tmp"; then rm -f "$tmp"; die "generated sudoers file does not validate"; fi
  install -o root -g root -m 0440 "$tmp" "$SUDOERS_FILE"
  rm -f "$tmp"
  visudo -cq || die "sudoers configuration invalid after installing $SUDOERS_FILE"
  say "sudo: $SUDOERS_FILE allows $USER_NAME: $INSTALL_DIR/*.sh, $INSTALL_DIR/collect/*, $INSTALL_DIR/remediate/*.sh (NOPASSWD)"
}

# --- 3. chaos-scripts ----------------------------------------------------------------------------
install_scripts() {
  local stage old f
  stage=$(mktemp -d /opt/.chaos-scripts.new.XXXXXX)
  (cd "$SCRIPTS_SRC" && tar --exclude=__pycache__ --exclude='*.pyc' --exclude=.git -cf - .) | tar -C "$stage" -xf - --no-same-owner
  chown -R root:root "$stage"
  find "$stage" -type d -exec chmod 0755 {} +
  while IFS= read -r -d '' f; do
    if [[ $(head -c 2 "$f") == '#!' ]]; then chmod 0755 "$f"; else chmod 0644 "$f"; fi
  done < <(find "$stage" -type f -print0)
  if [[ -e $INSTALL_DIR ]]; then
    old=$(mktemp -d /opt/.chaos-scripts.old.XXXXXX)
    mv "$INSTALL_DIR" "$old/"
    mv "$stage" "$INSTALL_DIR"
    rm -rf "$old"
  else
    mv "$stage" "$INSTALL_DIR"
  fi
  say "scripts: $SCRIPTS_SRC -> $INSTALL_DIR ($(find "$INSTALL_DIR" -type f | wc -l) files, root-owned)"
}

# --- 4. victim stack -----------------------------------------------------------------------------
setup_victim_user() {
  if ! id "$VICTIM_OS_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$VICTIM_OS_USER"
    say "victim: created system user $VICTIM_OS_USER"
  fi
  touch "$VICTIM_LOG"
  chown "$VICTIM_OS_USER":adm "$VICTIM_LOG"
  chmod 0640 "$VICTIM_LOG"
}

hba_lines() {
  local cidr
  echo "host    victim  victim  127.0.0.1/32  trust"
  echo "host    victim  victim  ::1/128       trust"
  [[ $LISTEN == 127.* ]] || echo "host    victim  victim  $LISTEN/32  trust"
  for cidr in "${PG_ALLOW[@]+"${PG_ALLOW[@]}"}"; do echo "host    victim  victim  $cidr  trust"; done
}

pg_settings() {
  local listen="localhost"
  [[ $LISTEN == 127.* ]] || listen="localhost,$LISTEN"
  cat <<EOF
# Managed by Chaos-Handler provision.sh
listen_addresses = '$listen'
max_connections = $PG_MAXCONN
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
log_connections = off
EOF
}

PG_CHANGED=0
WROTE=0
# write_if_changed FILE MODE OWNER < content: installs the content if it differs; WROTE=1 if it did.
# (Feed it with < <(...) or a heredoc, not a pipe: a pipe would run it in a subshell.)
write_if_changed() {
  local tmp
  tmp=$(mktemp)
  cat >"$tmp"
  WROTE=0
  if [[ ! -f $1 ]] || ! cmp -s "$tmp" "$1"; then
    install -m "$2" -o "${3%%:*}" -g "${3##*:}" "$tmp" "$1"
    WROTE=1
  fi
  rm -f "$tmp"
}

# The psql of the victim cluster, as the postgres superuser over the Unix socket.
pg_sql() { runuser -u postgres -- "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -p "$PG_PORT" "$@"; }

setup_pg_pidfile() {
  local conf
  if [[ ! -f $PG_DATADIR/PG_VERSION ]]; then
    install -d -o postgres -g postgres -m 0700 "$PG_DATADIR"
    runuser -u postgres -- "$PGBIN/initdb" -D "$PG_DATADIR" -E UTF8 --no-locale \
      --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    say "postgresql: initialised cluster $PGVER in $PG_DATADIR"
  fi
  conf=$PG_DATADIR/postgresql.conf
  grep -q "^include_if_exists = 'chaos-handler.conf'" "$conf" ||
    echo "include_if_exists = 'chaos-handler.conf'" >>"$conf"
  write_if_changed "$PG_DATADIR/chaos-handler.conf" 0600 postgres:postgres < <(
    pg_settings
    echo "port = $PG_PORT"
    echo "unix_socket_directories = '/var/run/postgresql'"
    echo "logging_collector = off"
    echo "log_timezone = 'UTC'"
  )
  PG_CHANGED=$((PG_CHANGED | WROTE))
  write_if_changed "$PG_DATADIR/pg_hba.conf" 0600 postgres:postgres < <(
    echo "# Managed by Chaos-Handler provision.sh"
    echo "# TYPE  DATABASE  USER  ADDRESS  METHOD"
    echo "local   all     all                   peer"
    hba_lines
    echo "host    all     all     127.0.0.1/32  scram-sha-256"
    echo "host    all     all     ::1/128       scram-sha-256"
  )
  PG_CHANGED=$((PG_CHANGED | WROTE))

  install -d -o root -g root -m 0755 "$ETC_DIR" "$ETC_DIR/services"
  write_if_changed "$ETC_DIR/postgresql.env" 0644 root:root <<EOF
# Managed by Chaos-Handler provision.sh: the victim cluster for services/postgresql.sh
PGBIN=$PGBIN
PGDATA=$PG_DATADIR
PGPORT=$PG_PORT
PGLOG=/var/log/postgresql/postgresql-victim.log
EOF
  install -o root -g root -m 0755 "$HERE/services/postgresql.sh" "$ETC_DIR/services/postgresql.sh"
  if [[ $START -eq 1 ]]; then
    if [[ $PG_CHANGED -eq 1 ]] && "$ETC_DIR/services/postgresql.sh" status >/dev/null 2>&1; then
      "$ETC_DIR/services/postgresql.sh" restart >/dev/null
      say "postgresql: configuration changed, restarted"
    fi
    say "postgresql: $("$ETC_DIR/services/postgresql.sh" start)"
  fi
}

setup_pg_systemd() {
  local cluster confdir hba tmp
  cluster=$(pg_lsclusters -h 2>/dev/null | awk -v v="$PGVER" '$1 == v {print $2; exit}')
  if [[ -z $cluster ]]; then
    pg_createcluster "$PGVER" main >/dev/null
    cluster=main
    say "postgresql: created cluster $PGVER/main"
  fi
  confdir=/etc/postgresql/$PGVER/$cluster
  PG_PORT=$(awk -F= '/^[[:space:]]*port[[:space:]]*=/ {gsub(/[^0-9]/, "", $2); print $2; exit}' "$confdir/postgresql.conf")
  install -d -o postgres -g postgres -m 0755 "$confdir/conf.d"
  write_if_changed "$confdir/conf.d/chaos-handler.conf" 0644 postgres:postgres < <(pg_settings)
  PG_CHANGED=$((PG_CHANGED | WROTE))
  # Our rules go first in pg_hba.conf (first match wins), between markers, replaced on every run.
  hba=$confdir/pg_hba.conf
  tmp=$(mktemp)
  { echo "# BEGIN chaos-handler (managed by provision.sh)"; hba_lines; echo "# END chaos-handler"
    sed '/^# BEGIN chaos-handler/,/^# END chaos-handler/d' "$hba"; } >"$tmp"
  if ! cmp -s "$tmp" "$hba"; then
    install -m 0640 -o postgres -g postgres "$tmp" "$hba"
    PG_CHANGED=1
  fi
  rm -f "$tmp"
  systemctl enable --quiet postgresql
  if [[ $START -eq 1 ]]; then
    if [[ $PG_CHANGED -eq 1 ]]; then systemctl restart "postgresql@$PGVER-$cluster"; else systemctl start postgresql; fi
    systemctl is-active --quiet "postgresql@$PGVER-$cluster" || die "postgresql@$PGVER-$cluster did not start"
    say "postgresql: postgresql@$PGVER-$cluster active (port $PG_PORT)"
  fi
}

setup_database() {
  local i
  for i in $(seq 1 30); do
    runuser -u postgres -- "$PGBIN/pg_isready" -q -h /var/run/postgresql -p "$PG_PORT" && break
    sleep 0.5
    : "$i"
  done
  pg_sql -d postgres <<'EOF'
SET client_min_messages = warning;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'victim') THEN CREATE ROLE victim LOGIN; END IF;
END $$;
-- lets the sampler, connected as victim, see the state of every session in pg_stat_activity
GRANT pg_read_all_stats TO victim;
EOF
  if [[ -z $(pg_sql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'victim'") ]]; then
    pg_sql -d postgres -c 'CREATE DATABASE victim OWNER victim'
    say "postgresql: created database victim"
  fi
  pg_sql -d victim -c 'SET ROLE victim' -f "$INSTALL_DIR/victim/schema.sql"
  say "postgresql: database victim ready ($(pg_sql -d victim -Atc 'SELECT count(*) FROM items') items)"
}

victim_dsn() { echo "host=127.0.0.1 port=$PG_PORT dbname=victim user=victim connect_timeout=2 application_name=victim-api"; }

setup_api_pidfile() {
  write_if_changed "$ETC_DIR/victim-api.env" 0644 root:root <<EOF
# Managed by Chaos-Handler provision.sh: settings of services/victim-api.sh
VICTIM_LISTEN=$LISTEN
VICTIM_PORT=$API_PORT
VICTIM_DSN='$(victim_dsn)'
VICTIM_LOG=$VICTIM_LOG
VICTIM_USER=$VICTIM_OS_USER
VICTIM_APP=$INSTALL_DIR/victim/victim_api.py
EOF
  install -o root -g root -m 0755 "$HERE/services/victim-api.sh" "$ETC_DIR/services/victim-api.sh"
  if [[ $START -eq 1 ]]; then
    # Always restart: the code under /opt/chaos-scripts was just replaced.
    say "victim-api: $("$ETC_DIR/services/victim-api.sh" restart | tail -n 1)"
  fi
}

setup_api_systemd() {
  write_if_changed /etc/systemd/system/victim-api.service 0644 root:root <<EOF
# Managed by Chaos-Handler provision.sh
[Unit]
Description=Chaos-Handler victim API (deliberately breakable demo service)
After=network-online.target postgresql.service
Wants=postgresql.service

[Service]
User=$VICTIM_OS_USER
ExecStart=/usr/bin/python3 $INSTALL_DIR/victim/victim_api.py --listen $LISTEN --port $API_PORT --db '$(victim_dsn)' --log $VICTIM_LOG
Restart=on-failure
RestartSec=2
NoNewPrivileges=yes
ProtectSystem=full
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
EOF
  systemctl daemon-reload
  systemctl enable --quiet victim-api
  if [[ $START -eq 1 ]]; then
    systemctl restart victim-api
    say "victim-api: systemd unit victim-api.service $(systemctl is-active victim-api)"
  fi
}

check_health() {
  local url="http://$LISTEN:$API_PORT/health" i out
  for i in $(seq 1 30); do
    if out=$(/usr/bin/python3 - "$url" <<'PY' 2>&1
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(sys.argv[1], timeout=2) as r:
    print(r.status, r.read().decode().strip())
PY
    ); then
      say "health: GET $url -> $out"
      return 0
    fi
    sleep 0.5
    : "$i"
  done
  die "victim-api did not answer GET $url: $out"
}

setup_user
setup_sudoers
install_scripts
if [[ $VICTIM -eq 0 ]]; then
  say "done: user=$USER_NAME, sudo for $INSTALL_DIR/*.sh and $INSTALL_DIR/collect/*; no victim stack (--victim not given)"
  exit 0
fi
setup_victim_user
if [[ $MODE == systemd ]]; then setup_pg_systemd; else setup_pg_pidfile; fi
if [[ $START -eq 1 ]]; then setup_database; fi
if [[ $MODE == systemd ]]; then setup_api_systemd; else setup_api_pidfile; fi
if [[ $START -eq 1 ]]; then check_health; fi

say "done: mode=$MODE user=$USER_NAME http=http://$LISTEN:$API_PORT/health db=postgresql://victim@$LISTEN:$PG_PORT/victim"
