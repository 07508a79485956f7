"""What runs on the host, read from /proc: processes, sockets, PostgreSQL instances (stdlib only).

Shared by discover.py, sampler.py and snapshot.py. Not executable on purpose (see _common.py).
Everything here tolerates processes that exit while they are being read, and an unprivileged
caller (who sees fewer fds, exes and data directories, and gets less detail, never an error).
"""
from __future__ import annotations

import glob
import os
import pwd
import re
import socket
import struct
import sys
import time
from typing import Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Set, Tuple

PF_KTHREAD = 0x00200000
SHELLS = frozenset("sh bash dash zsh ksh mksh fish tcsh csh busybox".split())
INTERPRETERS = re.compile(r"^(?:python[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node(?:js)?|java|php[0-9.]*(?:-cgi)?|bash|sh|dash)$")
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Where these collectors live: their processes are the coordinator's, never the host's services.
COLLECT_DIR = os.path.dirname(os.path.abspath(__file__))


class Proc(NamedTuple):
    pid: int
    ppid: int
    pgrp: int
    sid: int
    tty: int
    comm: str
    state: str
    kthread: bool
    start: int  # clock ticks after boot: (pid, start) names a process even when pids are reused
    threads: int
    argv: Tuple[str, ...]  # /proc/PID/cmdline split on NUL (capped)

    @property
    def argv0(self) -> str:
        """argv[0] as `ps` shows it (`exec -a NAME` sets it; servers rewrite it as a title)."""
        return self.argv[0] if self.argv else ""


def read_proc(pid: int) -> Optional[Proc]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read(16384)
    except OSError:
        return None
    r = data.rfind(b")")
    comm = data[data.find(b"(") + 1 : r].decode("utf-8", "replace")
    v = data[r + 2 :].split()
    if len(v) < 20:
        return None
    # v[0] is stat field 3 (state): ppid 4, pgrp 5, session 6, tty_nr 7, flags 9, num_threads 20, starttime 22.
    argv = tuple(a.decode("utf-8", "replace") for a in raw.rstrip(b"\0").split(b"\0")[:64]) if raw.strip(b"\0") else ()
    kthread = bool(int(v[6]) & PF_KTHREAD) or pid == 2 or int(v[1]) == 2
    return Proc(pid, int(v[1]), int(v[2]), int(v[3]), int(v[4]), comm, v[0].decode(), kthread, int(v[19]), int(v[17]), argv)


def list_procs() -> Dict[int, Proc]:
    out: Dict[int, Proc] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            p = read_proc(int(name))
            if p is not None:
                out[p.pid] = p
    return out


def exe_of(pid: int) -> Optional[str]:
    try:
        return os.readlink(f"/proc/{pid}/exe")[:1024]
    except OSError:
        return None


_USERS: Dict[int, str] = {}


def uid_of(pid: int) -> Optional[int]:
    """The effective uid, as ps's USER column shows it."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[2])
    except (OSError, ValueError, IndexError):
        pass
    return None


def user_name(uid: Optional[int]) -> Optional[str]:
    if uid is None:
        return None
    if uid not in _USERS:
        try:
            _USERS[uid] = pwd.getpwuid(uid).pw_name[:64]
        except KeyError:
            _USERS[uid] = str(uid)
    return _USERS[uid]


def user_of(pid: int) -> Optional[str]:
    return user_name(uid_of(pid))


def uptime_ticks() -> int:
    with open("/proc/uptime") as f:
        return int(float(f.read().split()[0]) * CLK_TCK)


def age_s(p: Proc, now_ticks: int) -> float:
    return max(0.0, (now_ticks - p.start) / CLK_TCK)


def short_name(argv0: str) -> str:
    """A readable short form of argv0: the basename of a path, a title kept as it is."""
    if argv0.startswith("/") and " " not in argv0:
        return os.path.basename(argv0) or argv0
    return argv0


# Well-known servers: the name a person calls them by, whatever their binary is called.
CANONICAL = {
    "postgres": "postgresql",
    "postmaster": "postgresql",
    "mysqld": "mysql",
    "mysqld_safe": "mysql",
    "mariadbd": "mariadb",
    "redis-server": "redis",
    "httpd": "apache2",
    "apache2": "apache2",
    "sshd": "ssh",
    "php-fpm": "php-fpm",
}


def service_name(p: Proc) -> str:
    """What to call the service a process leads: "nginx: master process ..." -> nginx,
    /usr/lib/postgresql/15/bin/postgres -> postgresql, python3 -m http.server -> http.server,
    python3 /srv/shop/app.py -> app, `exec -a shop-indexer perl ...` -> shop-indexer."""
    first = p.argv0 or p.comm
    title = re.match(r"^([A-Za-z0-9_.@+-]+):\s", first)
    if title:
        base = title.group(1)
    else:
        base = os.path.basename(first.split()[0]) if first.split() else p.comm
    base = base.lstrip("-") or p.comm
    if INTERPRETERS.match(base) and not title:
        script = script_of(p.argv[1:] if len(first.split()) <= 1 else first.split()[1:])
        if script:
            base = script
    base = CANONICAL.get(base, base)
    # Names are handed back to snapshot.py --expect, which wants a letter or digit first.
    base = re.sub(r"^[^A-Za-z0-9]+", "", re.sub(r"[^A-Za-z0-9@._+-]", "_", base))[:128]
    return base or "process"


def script_of(args: Iterable[str]) -> Optional[str]:
    """The program an interpreter runs: `-m module`, `-jar x.jar`, or the first non-option argument."""
    it = iter(args)
    for a in it:
        if a in ("-m", "-jar"):
            nxt = next(it, "")
            return re.sub(r"\.jar$", "", os.path.basename(nxt)) or None
        if a in ("-c", "-e", "-E"):
            return None  # inline code: no name to be had
        if a.startswith("-"):
            if a in ("-W", "-X", "-I", "-cp", "-classpath", "--require", "-r"):
                next(it, None)
            continue
        base = os.path.basename(a)
        return re.sub(r"\.(?:py|pl|rb|js|mjs|cjs|php|sh)$", "", base) or None
    return None


# --- sockets --------------------------------------------------------------------------------------

TCP_LISTEN = 0x0A
TCP_ESTABLISHED = 0x01
UDP_UNCONNECTED = 0x07


class Sock(NamedTuple):
    proto: str  # tcp | udp
    local: str
    lport: int
    remote: str
    rport: int
    state: int
    inode: int


def _addr(hexaddr: str) -> str:
    raw = bytes.fromhex(hexaddr)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1] if sys.byteorder == "little" else raw)
    # IPv6: four 32-bit words, each in host byte order.
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, raw)


def read_sockets(net_dir: str = "/proc/net", protos: Iterable[str] = ("tcp", "tcp6", "udp", "udp6")) -> List[Sock]:
    """The socket tables of one network namespace (/proc/net is the caller's, /proc/PID/net a process's)."""
    out: List[Sock] = []
    for proto in protos:
        try:
            with open(f"{net_dir}/{proto}") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            v = line.split()
            if len(v) < 10:
                continue
            try:
                la, lp = v[1].split(":")
                ra, rp = v[2].split(":")
                out.append(Sock(proto.rstrip("6"), _addr(la), int(lp, 16), _addr(ra), int(rp, 16), int(v[3], 16), int(v[9])))
            except ValueError:
                continue
    return out


def listening(socks: Iterable[Sock]) -> List[Sock]:
    return [s for s in socks if s.inode and ((s.proto == "tcp" and s.state == TCP_LISTEN) or (s.proto == "udp" and s.state == UDP_UNCONNECTED and s.rport == 0 and s.lport))]


def plain_addr(addr: str) -> str:
    """::ffff:127.0.0.1 -> 127.0.0.1: a v4 peer on a v6 socket is the same endpoint."""
    return addr[7:] if addr.startswith("::ffff:") and "." in addr else addr


def fd_targets(pid: int) -> Iterator[Tuple[str, str]]:
    """(fd, link target) of a process's open files; nothing when they cannot be read."""
    base = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(base)
    except OSError:
        return
    for fd in fds:
        try:
            yield fd, os.readlink(f"{base}/{fd}")
        except OSError:
            continue


def socket_inodes(pid: int) -> Set[int]:
    out: Set[int] = set()
    for _fd, target in fd_targets(pid):
        if target.startswith("socket:["):
            out.add(int(target[8:-1]))
    return out


def socket_owners(pids: Iterable[int], wanted: Optional[Set[int]] = None, deadline: Optional[float] = None) -> Dict[int, List[int]]:
    """inode -> pids holding it. With `wanted`, stops once every wanted inode is found."""
    owners: Dict[int, List[int]] = {}
    missing = set(wanted) if wanted is not None else None
    for pid in pids:
        if deadline is not None and time.monotonic() > deadline:
            break
        for ino in socket_inodes(pid):
            if wanted is None or ino in wanted:
                owners.setdefault(ino, []).append(pid)
                if missing is not None:
                    missing.discard(ino)
        if missing is not None and not missing:
            break
    return owners


def open_for_writing(pid: int, fd: str) -> bool:
    """Whether fd was opened for writing (O_WRONLY/O_RDWR/O_APPEND in fdinfo's octal flags)."""
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}") as f:
            for line in f:
                if line.startswith("flags:"):
                    flags = int(line.split()[1], 8)
                    return bool(flags & 0o3) or bool(flags & 0o2000)
    except (OSError, ValueError, IndexError):
        pass
    return False


def written_logs(pid: int, looks_like_log: Callable[[str], bool]) -> List[str]:
    """Log files a process has open for writing."""
    out: List[str] = []
    for fd, target in fd_targets(pid):
        if target.startswith("/") and not target.endswith(" (deleted)") and looks_like_log(target) and target not in out:
            if open_for_writing(pid, fd):
                out.append(target)
    return out


# --- PostgreSQL -----------------------------------------------------------------------------------

PG_BINARIES = ("postgres", "postmaster")


def is_postgres(p: Proc, exe: Optional[str] = None) -> bool:
    if exe:
        return os.path.basename(exe.replace(" (deleted)", "")) in PG_BINARIES
    return p.comm in PG_BINARIES


def postmasters(procs: Dict[int, Proc]) -> List[Proc]:
    """PostgreSQL server processes whose parent is not a PostgreSQL process (the others are its children)."""
    out = []
    for p in procs.values():
        if p.kthread or p.comm not in PG_BINARIES:
            continue
        parent = procs.get(p.ppid)
        if parent is not None and parent.comm in PG_BINARIES:
            continue
        # A backend title ("postgres: user db ...") never belongs to a postmaster.
        if p.argv0.startswith("postgres:"):
            continue
        out.append(p)
    return sorted(out, key=lambda p: p.pid)


def pg_cmdline_settings(argv: Tuple[str, ...]) -> Tuple[Optional[str], Dict[str, str]]:
    """(data dir, settings) from a postmaster's command line (postgres's getopt letters)."""
    # Option letters that take a value, and the setting they stand for ("" when none).
    with_arg: Dict[str, str] = {"B": "shared_buffers", "c": "", "D": "", "d": "", "h": "listen_addresses", "k": "unix_socket_directories",
                                "N": "max_connections", "p": "port", "r": "", "S": "work_mem", "t": "", "W": "", "C": "", "f": ""}
    data_dir: Optional[str] = None
    settings: Dict[str, str] = {}
    args = list(argv[1:])
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a.startswith("--") and "=" in a:
            k, _, v = a[2:].partition("=")
            settings[k.replace("-", "_").lower()] = v
            continue
        if len(a) < 2 or a[0] != "-" or a[1] not in with_arg:
            continue
        val = a[2:]
        if not val and i < len(args):
            val = args[i]
            i += 1
        if a[1] == "D":
            data_dir = val
        elif a[1] == "c" and "=" in val:
            k, _, v = val.partition("=")
            settings[k.replace("-", "_").lower()] = v
        elif with_arg[a[1]]:
            settings[with_arg[a[1]]] = val
    return data_dir, settings


_CONF_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=?\s*('(?:[^']|'')*'|[^#\s]*)")


def read_pg_conf(path: str, settings: Dict[str, str], root: str = "", depth: int = 0) -> bool:
    """postgresql.conf syntax with its include, include_if_exists and include_dir directives, in
    order: the last value of a name wins, as in the server. Paths are the server's own, read under
    `root` (its /proc/PID/root: a server in a container or another mount namespace). False when
    the file cannot be read."""
    if depth > 10:
        return False
    try:
        with open(root + path, encoding="utf-8", errors="replace") as f:
            lines = f.read(1 << 20).splitlines()
    except OSError:
        return False
    here = os.path.dirname(path)
    for line in lines:
        m = _CONF_LINE.match(line)
        if not m:
            continue
        name, value = m.group(1).lower(), m.group(2)
        if value.startswith("'"):
            value = value[1:-1].replace("''", "'")
        if name in ("include", "include_if_exists"):
            read_pg_conf(os.path.join(here, value), settings, root, depth + 1)
        elif name == "include_dir":
            d = os.path.join(here, value)
            for inc in sorted(glob.glob(os.path.join(glob.escape(root + d), "*.conf"))):
                read_pg_conf(inc[len(root):], settings, root, depth + 1)
        else:
            settings[name] = value
    return True


def _read_text(path: str, limit: int = 65536) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(limit)
    except OSError:
        return None


def _environ(pid: int) -> Dict[str, str]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            raw = f.read(65536)
    except OSError:
        return {}
    env = {}
    for item in raw.split(b"\0"):
        k, sep, v = item.partition(b"=")
        if sep:
            env[k.decode("utf-8", "replace")] = v.decode("utf-8", "replace")
    return env


class PgInstance(NamedTuple):
    pid: int
    start: int
    port: Optional[int]
    data_dir: Optional[str]
    version: Optional[str]
    max_connections: Optional[int]  # None when neither the configuration nor the command line could be read
    settings: Dict[str, str]


def pg_instance(p: Proc) -> PgInstance:
    """Where a postmaster keeps its data, which port it serves and how many connections it allows:
    command line, then postgresql.auto.conf, then postgresql.conf (with its includes), then the
    defaults, as the server itself resolves them; postmaster.pid says the port it actually uses."""
    data_dir, cmd = pg_cmdline_settings(p.argv)
    env = _environ(p.pid)
    data_dir = data_dir or env.get("PGDATA")
    # Its files as it sees them (a container, another mount namespace), when we may look there.
    root = f"/proc/{p.pid}/root"
    try:
        os.stat(root + "/")
    except OSError:
        root = ""
    # The postmaster runs in its data directory: the most reliable answer, for whoever may read it.
    try:
        cwd = os.readlink(f"/proc/{p.pid}/cwd")
        if os.path.isfile(root + os.path.join(cwd, "PG_VERSION")):
            data_dir = cwd
    except OSError:
        pass
    settings: Dict[str, str] = {}
    config_read = False
    config_file = cmd.get("config_file") or (os.path.join(data_dir, "postgresql.conf") if data_dir else None)
    if config_file:
        if data_dir and not os.path.isabs(config_file):
            config_file = os.path.join(data_dir, config_file)
        config_read = read_pg_conf(config_file, settings, root)
    if settings.get("data_directory") and not (data_dir and os.path.isfile(root + os.path.join(data_dir, "PG_VERSION"))):
        data_dir = settings["data_directory"]
    if data_dir:
        read_pg_conf(os.path.join(data_dir, "postgresql.auto.conf"), settings, root)
    settings.update(cmd)
    port: Optional[int] = None
    pidfile = _read_text(root + os.path.join(data_dir, "postmaster.pid")) if data_dir else None
    if pidfile:
        lines = pidfile.splitlines()
        if len(lines) >= 4 and lines[0].strip() == str(p.pid) and lines[3].strip().isdigit():
            port = int(lines[3].strip())
    if port is None:
        for candidate in (settings.get("port"), env.get("PGPORT")):
            if candidate and candidate.strip().isdigit():
                port = int(candidate.strip())
                break
    if port is None and config_read:
        port = 5432  # the server's default, when its configuration says nothing else
    version = None
    if data_dir:
        text = _read_text(root + os.path.join(data_dir, "PG_VERSION"), 32)
        version = text.strip() if text else None
    if version is None:
        m = re.search(r"/postgresql/(\d+(?:\.\d+)?)/bin/", exe_of(p.pid) or (p.argv0 or ""))
        version = m.group(1) if m else None
    # The default (100) only when the configuration was read: unprivileged, the data directory is
    # closed to us, and a guess would be a wrong limit rather than a missing one.
    max_conn: Optional[int] = None
    if "max_connections" in settings or config_read:
        try:
            max_conn = max(1, int(settings.get("max_connections", "100").strip()))
        except ValueError:
            max_conn = None
    return PgInstance(p.pid, p.start, port, data_dir, version, max_conn, settings)


def pg_log_files(inst: PgInstance, writers: Iterable[int], looks_like_log: Callable[[str], bool]) -> List[str]:
    """The instance's logs: files its processes write (pg_ctl -l, the logging collector's current
    file), its log_directory when the collector is on, and Debian's /var/log/postgresql."""
    out: List[str] = []
    for pid in writers:
        for path in written_logs(pid, looks_like_log):
            if path not in out:
                out.append(path)
    if inst.data_dir and inst.settings.get("logging_collector", "off").lower() in ("on", "true", "yes", "1"):
        log_dir = inst.settings.get("log_directory", "log")
        log_dir = log_dir if os.path.isabs(log_dir) else os.path.join(inst.data_dir, log_dir)
        files = [f for f in glob.glob(os.path.join(glob.escape(log_dir), "*")) if os.path.isfile(f) and not re.search(r"\.(?:gz|xz|bz2)$", f)]
        # Newest first: the collector rotates into new names, the last few hold what matters.
        for f in sorted(files, key=lambda f: _mtime(f), reverse=True)[:4]:
            if f not in out:
                out.append(f)
    # Debian's pg_ctlcluster logs to /var/log/postgresql/postgresql-<version>-<cluster>.log; its
    # clusters say cluster_name = '<version>/<cluster>'.
    cluster = inst.settings.get("cluster_name", "")
    if re.match(r"^\d+(?:\.\d+)?/[A-Za-z0-9_.-]+$", cluster):
        f = f"/var/log/postgresql/postgresql-{cluster.replace('/', '-')}.log"
        if os.path.isfile(f) and f not in out:
            out.append(f)
    return out[:16]


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


# --- Unix socket peers ----------------------------------------------------------------------------

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
UDIAG_SHOW_PEER = 0x04
UNIX_DIAG_PEER = 2
NLMSG_DONE, NLMSG_ERROR = 3, 2
NLM_F_REQUEST, NLM_F_DUMP = 0x01, 0x300


def unix_peers() -> Dict[int, int]:
    """inode -> the inode at the other end, for every connected Unix stream socket of this network
    namespace (sock_diag, as `ss -xp` reads it): who is behind a local-socket connection."""
    peers: Dict[int, int] = {}
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    except (OSError, AttributeError):
        return peers
    with s:
        s.settimeout(2)
        req = struct.pack("=BBHIIIII", socket.AF_UNIX, 0, 0, 0xFFFFFFFF, 0, UDIAG_SHOW_PEER, 0xFFFFFFFF, 0xFFFFFFFF)
        s.sendto(struct.pack("=IHHII", 16 + len(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + req, (0, 0))
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                data = s.recv(1 << 16)
            except OSError:
                break
            off = 0
            while off + 16 <= len(data):
                length, kind, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, off)
                if length < 16 or kind in (NLMSG_DONE, NLMSG_ERROR):
                    return peers
                # unix_diag_msg: family, type, state, pad, ino, cookie[2]; then attributes.
                stype = data[off + 16 + 1]
                ino = struct.unpack_from("=I", data, off + 16 + 4)[0]
                a = off + 16 + 16
                end = off + length
                while a + 4 <= end:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    # Connections only: a datagram peer is a syslog socket, not a client.
                    if atype == UNIX_DIAG_PEER and alen >= 8 and stype == socket.SOCK_STREAM:
                        peers[ino] = struct.unpack_from("=I", data, a + 4)[0]
                    a += (alen + 3) & ~3
                off += (length + 3) & ~3
    return peers
