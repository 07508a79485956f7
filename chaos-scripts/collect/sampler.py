#!/usr/bin/env python3
"""Chaos-Handler streaming host sampler (python3 stdlib only).

Usage: sampler.py [--interval 1] [--probe KIND=SPEC]... [--http URL] [--db DSN]
                  [--max-seconds 3600] [--no-stdin-watch]

  --probe http=URL         GET each interval (2 s timeout, redirects reported, not followed);
                           http:// or https://, no user:password@ in it.
  --probe tcp=HOST:PORT    a TCP connect each interval (2 s timeout); HOST a name or an address,
                           an IPv6 address in brackets: tcp=[::1]:5432.
  --probe db=DSN           PostgreSQL: a fresh connection + `select 1` each interval; the first db
                           probe also feeds the db statistics. URI or key=value form; keys host,
                           port, user, dbname, connect_timeout, application_name, sslmode
                           (disable/allow/prefer). A DSN with a password is refused (exit 2): the
                           password comes from PGPASSFILE or ~/.pgpass of the invoking user (the
                           SUDO_USER's under sudo), mode 0600, as libpq reads it.
  --http URL, --db DSN     aliases of --probe http=URL and --probe db=DSN.
  At most 32 probes; any number of each kind.

Prints one JSON line per interval, flushed:
  {"type":"sample","data":<MetricSample without "phase">}
and one line per probe per interval:
  {"type":"probe","data":<ProbeResult without "phase">}
with kind http|tcp|db and target "http://127.0.0.1:8080/health", "tcp 127.0.0.1:5432" or
"db app@127.0.0.1:5432/app" (shapes: src/evidence/schema.ts). Diagnostics go to stderr.

It stops by itself when stdin reaches EOF (the SSH channel closed), when stdout breaks, on
SIGTERM/SIGHUP/SIGINT, or after --max-seconds: an SSH drop never leaves it running.

Notes:
  * cpu: /proc/stat over the interval; busy = user+nice+system+irq+softirq, iowait and steal apart.
  * mem: when the sampler's own memory cgroup (v1 memory.limit_in_bytes, v2 memory.max, or an
    ancestor's) is limited below MemTotal, total/available/used are against that limit (scope
    "cgroup", used = usage - inactive_file) and oom_kills are the cgroup's (oom_control /
    memory.events); else the host's (/proc/meminfo, /proc/vmstat oom_kill; scope "host").
    swap_in/out_per_s: pswpin/pswpout over the interval.
  * limits: open files (fs/file-nr vs fs/file-max), tasks (threads, from /proc/loadavg) vs
    min(kernel.pid_max, kernel.threads-max).
  * disks: every filesystem that can fill, tmpfs included, with fstype and inodes.
  * top: the 5 busiest processes over the interval plus the 5 largest by RSS (union, <= 10),
    the sampler itself excluded, with argv0 (as ps shows it), exe and user.
  * db: with a db probe, client backends in pg_stat_activity over a persistent monitoring
    connection (application_name "chaos-sampler", its own session excluded). Without one, or
    when that connection cannot be made (slots used up), the backends are counted from the
    process titles of the PostgreSQL instance on the probe's port (without a probe: the fullest
    instance on the host), against max_connections from its configuration; each is attributed to
    the local process at the other end of its connection (its argv0: the client end of a TCP
    connection, the peer of a Unix-socket one), else "(client ADDRESS)" for a remote client or
    "(local socket)"; backends still starting or authenticating and walsenders are not counted.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Dict, List, NamedTuple, Optional, Tuple
from urllib.parse import urlsplit

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import _host  # noqa: E402
import _pgwire  # noqa: E402

TOOL = "sampler"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024
TOP_N = 5
MAX_PROBES = 32
DSN_KEYS = frozenset({"host", "port", "user", "dbname", "connect_timeout", "application_name", "sslmode"})


class Probe(NamedTuple):
    kind: str  # http | tcp | db
    spec: str  # URL, (host, port) as "host:port", or DSN
    target: str  # the readable name: never a secret


def http_probe(url: str) -> Probe:
    if len(url) > 2048 or not re.match(r"^https?://[^\s/]+", url) or re.search(r"\s", url):
        raise ValueError("an http probe needs an http:// or https:// URL")
    u = urlsplit(url)
    if u.username is not None or u.password is not None:
        raise ValueError("an http probe URL must not carry credentials (they would be visible in the process list)")
    try:
        u.port
    except ValueError as e:
        raise ValueError(f"bad port in {url!r}") from e
    return Probe("http", url, url[:256])


_TCP_RE = re.compile(r"^(?:\[([0-9A-Fa-f:.]{2,45})\]|([A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})?)):(\d{1,5})$")


def tcp_probe(spec: str) -> Probe:
    m = _TCP_RE.match(spec)
    if not m or not 1 <= int(m.group(3)) <= 65535:
        raise ValueError("a tcp probe needs HOST:PORT (an IPv6 address in brackets: [::1]:5432)")
    host = m.group(1) or m.group(2)
    if m.group(1):
        try:
            socket.inet_pton(socket.AF_INET6, host)
        except OSError as e:
            raise ValueError(f"not an IPv6 address: {host!r}") from e
    shown = f"[{host}]" if m.group(1) else host
    return Probe("tcp", spec, f"tcp {shown}:{int(m.group(3))}")


def db_probe(dsn: str) -> Probe:
    if len(dsn) > 1024:
        raise ValueError("the connection string is too long")
    try:
        p = _pgwire.parse_dsn(dsn)
    except (_pgwire.PgError, ValueError) as e:
        raise ValueError(str(e)) from e
    if "password" in p:
        raise ValueError(
            "the connection string carries a password, which would be visible in the process list: "
            "remove it and put it in ~/.pgpass (mode 0600) of the login user, or PGPASSFILE"
        )
    unknown = sorted(set(p) - DSN_KEYS)
    if unknown:
        raise ValueError(f"unsupported connection parameter(s): {', '.join(unknown)} (allowed: {', '.join(sorted(DSN_KEYS))})")
    if p.get("sslmode", "prefer") not in ("disable", "allow", "prefer"):
        raise ValueError("sslmode must be disable, allow or prefer (this client speaks no TLS)")
    if not p["port"].isdigit() or not 1 <= int(p["port"]) <= 65535:
        raise ValueError(f"bad port {p['port']!r}")
    if p.get("connect_timeout") and not p["connect_timeout"].isdigit():
        raise ValueError("connect_timeout must be a number of seconds")
    for k in ("host", "user", "dbname"):
        if not re.match(r"^[A-Za-z0-9_.@/:%+-]{1,255}$", p[k]):
            raise ValueError(f"bad {k} {p[k]!r}")
    host = p["host"] if p["host"].startswith("/") or ":" not in p["host"] else f"[{p['host']}]"
    return Probe("db", dsn, f"db {p['user']}@{host}:{p['port']}/{p['dbname']}"[:256])


def parse_args(argv: List[str]) -> Tuple[argparse.Namespace, List[Probe]]:
    p = argparse.ArgumentParser(prog="sampler.py", description="Chaos-Handler streaming host sampler")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between samples (0.2-60, default 1)")
    p.add_argument("--probe", action="append", default=[], metavar="KIND=SPEC", help="http=URL, tcp=HOST:PORT or db=DSN (repeatable)")
    p.add_argument("--http", action="append", default=[], metavar="URL", help="alias of --probe http=URL")
    p.add_argument("--db", action="append", default=[], metavar="DSN", help="alias of --probe db=DSN")
    p.add_argument("--max-seconds", type=float, default=3600.0, help="exit after this long (default 3600)")
    p.add_argument("--no-stdin-watch", action="store_true", help="do not exit when stdin reaches EOF")
    a = p.parse_args(argv)
    if not 0.2 <= a.interval <= 60:
        _common.die(TOOL, "--interval must be between 0.2 and 60 seconds")
    if a.max_seconds <= 0:
        _common.die(TOOL, "--max-seconds must be positive")
    specs = [(kind, value) for kind, _, value in (x.partition("=") for x in a.probe)]
    specs += [("http", u) for u in a.http] + [("db", d) for d in a.db]
    if len(specs) > MAX_PROBES:
        _common.die(TOOL, f"at most {MAX_PROBES} probes")
    makers = {"http": http_probe, "tcp": tcp_probe, "db": db_probe}
    probes: List[Probe] = []
    for kind, value in specs:
        if kind not in makers:
            _common.die(TOOL, f"--probe {kind!r}: expected http=URL, tcp=HOST:PORT or db=DSN")
        try:
            probes.append(makers[kind](value))
        except ValueError as e:
            _common.die(TOOL, f"--probe {kind}: {e}")
    return a, probes


# --- /proc readers --------------------------------------------------------------------------------


def read_cpu() -> Tuple[List[int], int]:
    with open("/proc/stat") as f:
        lines = f.read().splitlines()
    vals = [int(v) for v in lines[0].split()[1:9]]
    vals += [0] * (8 - len(vals))
    cores = sum(1 for ln in lines if ln.startswith("cpu") and ln[3:4].isdigit())
    return vals, cores or (os.cpu_count() or 1)


def cpu_pct(prev: List[int], cur: List[int]) -> Dict[str, float]:
    d = [max(0, c - p) for p, c in zip(prev, cur)]
    user, nice, system, idle, iowait, irq, softirq, steal = d
    total = sum(d) or 1
    busy = user + nice + system + irq + softirq

    def pct(x: int) -> float:
        return round(min(100.0, 100.0 * x / total), 1)

    return {"busy_pct": pct(busy), "iowait_pct": pct(iowait), "steal_pct": pct(steal)}


def read_kv(path: str) -> Dict[str, int]:
    """"key value" (or "key: value kB") lines as integers; nothing when unreadable."""
    out: Dict[str, int] = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.replace(":", " ").split()
                if len(parts) >= 2:
                    try:
                        out[parts[0]] = int(parts[1])
                    except ValueError:
                        continue
    except OSError:
        pass
    return out


def read_first_int(path: str) -> Optional[int]:
    try:
        with open(path) as f:
            text = f.read().strip().split()
    except OSError:
        return None
    if not text or not text[0].isdigit():
        return None  # v2 "max": no limit
    return int(text[0])


class MemoryScope:
    """Where the sampler's memory limit is: the memory cgroup it runs in (a container, a
    systemd slice with MemoryMax) when that or an ancestor is limited below the machine's RAM."""

    def __init__(self, mem_total: int) -> None:
        self.dir: Optional[str] = None
        self.v2 = False
        self.limit = 0
        for d, v2 in self._candidates():
            lim = read_first_int(os.path.join(d, "memory.max" if v2 else "memory.limit_in_bytes"))
            if lim is not None and 0 < lim < mem_total and (self.dir is None or lim < self.limit):
                self.dir, self.v2, self.limit = d, v2, lim

    @staticmethod
    def _candidates() -> List[Tuple[str, bool]]:
        try:
            with open("/proc/self/cgroup") as f:
                groups = [line.rstrip("\n").split(":", 2) for line in f]
            with open("/proc/self/mountinfo") as f:
                mounts = [line.split() for line in f]
        except OSError:
            return []
        out: List[Tuple[str, bool]] = []
        for g in groups:
            if len(g) != 3:
                continue
            v2 = g[0] == "0" and g[1] == ""
            if not v2 and "memory" not in g[1].split(","):
                continue
            for m in mounts:
                sep = m.index("-") if "-" in m else -1
                if sep < 0 or len(m) < sep + 4:
                    continue
                fstype, opts = m[sep + 1], m[sep + 3].split(",")
                if (v2 and fstype != "cgroup2") or (not v2 and (fstype != "cgroup" or "memory" not in opts)):
                    continue
                root, mnt = m[3], m[4]
                path = g[2]
                # Inside a container the mount's root is the container's own cgroup.
                rel = path[len(root):] if root != "/" and (path == root or path.startswith(root + "/")) else path
                cur = os.path.normpath(mnt + "/" + rel.lstrip("/"))
                while True:
                    if os.path.isdir(cur):
                        out.append((cur, v2))
                    if cur == mnt or len(cur) <= len(mnt):
                        break
                    cur = os.path.dirname(cur)
        return out

    def read(self) -> Optional[Dict[str, float]]:
        if self.dir is None:
            return None
        usage = read_first_int(os.path.join(self.dir, "memory.current" if self.v2 else "memory.usage_in_bytes"))
        if usage is None:
            return None
        st = read_kv(os.path.join(self.dir, "memory.stat"))
        # Page cache the kernel can drop is not pressure (docker stats and kubelet do the same).
        inactive = st.get("inactive_file" if self.v2 else "total_inactive_file", st.get("inactive_file", 0))
        used = max(0, usage - inactive)
        events = read_kv(os.path.join(self.dir, "memory.events" if self.v2 else "memory.oom_control"))
        return {
            "total": self.limit / MIB,
            "available": max(0, self.limit - used) / MIB,
            "oom_kills": float(events.get("oom_kill", 0)),
        }


def read_memory(scope: MemoryScope, vm: Dict[str, int]) -> dict:
    info = read_kv("/proc/meminfo")  # kB
    total = info.get("MemTotal", 0) / 1024
    avail = info.get("MemAvailable", info.get("MemFree", 0)) / 1024
    swap_used = max(0, info.get("SwapTotal", 0) - info.get("SwapFree", 0)) / 1024
    oom = float(vm.get("oom_kill", 0))
    where = "host"
    limited = scope.read()
    if limited is not None:
        total, avail, oom, where = limited["total"], limited["available"], limited["oom_kills"], "cgroup"
    used_pct = 100.0 * (total - avail) / total if total else 0.0
    return {
        "total_mb": round(max(total, 0.1), 1),
        "available_mb": round(max(0.0, avail), 1),
        "used_pct": round(min(100.0, max(0.0, used_pct)), 1),
        "swap_used_mb": round(swap_used, 1),
        "oom_kills": int(oom),
        "scope": where,
    }


def swap_rates(prev: Dict[str, int], cur: Dict[str, int], dt: float) -> Dict[str, float]:
    return {
        "swap_in_per_s": round(max(0, cur.get("pswpin", 0) - prev.get("pswpin", 0)) / dt, 1),
        "swap_out_per_s": round(max(0, cur.get("pswpout", 0) - prev.get("pswpout", 0)) / dt, 1),
    }


def read_limits() -> Optional[dict]:
    """System-wide tables: open files against fs.file-max, threads against the pid/thread limits."""
    try:
        with open("/proc/sys/fs/file-nr") as f:
            allocated, unused, files_max = (int(x) for x in f.read().split()[:3])
        with open("/proc/loadavg") as f:
            tasks = int(f.read().split()[3].split("/")[1])  # "running/total" scheduling entities
    except (OSError, ValueError, IndexError):
        return None
    caps = [v for v in (read_first_int("/proc/sys/kernel/pid_max"), read_first_int("/proc/sys/kernel/threads-max")) if v]
    if files_max <= 0 or not caps:
        return None
    return {"files_open": max(0, allocated - unused), "files_max": files_max, "tasks": tasks, "tasks_max": min(caps)}


def read_load1() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def read_netdev() -> Dict[str, List[int]]:
    out: Dict[str, List[int]] = {}
    with open("/proc/net/dev") as f:
        for line in f.read().splitlines()[2:]:
            name, _, rest = line.partition(":")
            v = rest.split()
            name = name.strip()
            if name == "lo" or len(v) < 12:
                continue
            # rx_bytes rx_errs rx_drop tx_bytes tx_errs tx_drop
            out[name] = [int(v[0]), int(v[2]), int(v[3]), int(v[8]), int(v[10]), int(v[11])]
    return out


def net_rates(prev: Dict[str, List[int]], cur: Dict[str, List[int]], dt: float) -> List[dict]:
    res = []
    for name in sorted(cur):
        if name not in prev:
            continue
        d = [max(0, c - p) for p, c in zip(prev[name], cur[name])]  # counter reset -> 0
        res.append(
            {
                "iface": name[:64],
                "rx_kbps": round(d[0] * 8 / 1000 / dt, 1),
                "tx_kbps": round(d[3] * 8 / 1000 / dt, 1),
                "rx_errs": d[1],
                "tx_errs": d[4],
                "rx_drop": d[2],
                "tx_drop": d[5],
            }
        )
    return res[:64]


ProcKey = Tuple[int, int]  # (pid, starttime): a recycled pid is another process


class ProcStat(NamedTuple):
    comm: str
    ticks: int  # utime + stime
    rss: int  # bytes
    ppid: int


def read_procs() -> Dict[ProcKey, ProcStat]:
    procs: Dict[ProcKey, ProcStat] = {}
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        r = data.rfind(b")")
        comm = data[data.find(b"(") + 1 : r].decode("utf-8", "replace")
        fields = data[r + 2 :].split()
        if len(fields) < 22:
            continue
        # fields[0] is stat field 3 (state): ppid=4, utime=14, stime=15, starttime=22, rss=24.
        procs[(int(name), int(fields[19]))] = ProcStat(comm, int(fields[11]) + int(fields[12]), int(fields[21]) * PAGE, int(fields[1]))
    return procs


def read_cmdline(pid: int) -> List[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read(4096)
    except OSError:
        return []
    return [a.decode("utf-8", "replace") for a in raw.rstrip(b"\0").split(b"\0")] if raw.strip(b"\0") else []


def top_processes(prev: Dict[ProcKey, ProcStat], cur: Dict[ProcKey, ProcStat], dt: float) -> List[dict]:
    rows = []
    for key, st in cur.items():
        before = prev.get(key)
        # A process born during the interval: all its CPU time is from this interval.
        delta = st.ticks - before.ticks if before else st.ticks
        rows.append((key[0], st.comm, max(0.0, 100.0 * delta / CLK_TCK / dt), st.rss))
    by_cpu = [r for r in sorted(rows, key=lambda r: -r[2])[:TOP_N] if r[2] > 0]
    by_rss = sorted(rows, key=lambda r: -r[3])[:TOP_N]
    chosen: Dict[int, tuple] = {}
    for r in by_cpu + by_rss:
        chosen.setdefault(r[0], r)
    out = []
    for pid, comm, cpu, rss in sorted(chosen.values(), key=lambda r: (-r[2], -r[3])):
        item: dict = {"pid": pid, "comm": comm[:64], "cpu_pct": round(cpu, 1), "rss_mb": round(rss / MIB, 1)}
        argv = read_cmdline(pid)
        if argv:
            item["args"] = " ".join(argv).strip()[:200]
            item["argv0"] = argv[0][:256]
        exe = _host.exe_of(pid)
        if exe:
            item["exe"] = exe
        user = _host.user_of(pid)
        if user:
            item["user"] = user
        out.append(item)
    return out


# --- output ---------------------------------------------------------------------------------------


class Output:
    def __init__(self, stop: threading.Event) -> None:
        self.lock = threading.Lock()
        self.stop = stop

    def line(self, kind: str, data: dict) -> None:
        with self.lock:
            if self.stop.is_set():
                return
            try:
                _common.emit({"type": kind, "data": data})
            except (BrokenPipeError, OSError):
                # The reader is gone (SSH channel closed): stop everything.
                self.stop.set()


# --- probes ---------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # a probe reports the redirect status, it does not follow it elsewhere


# No proxies: a probe must reach the victim directly, never another address.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def probe_http(probe: Probe) -> dict:
    t0 = time.monotonic()
    res: dict = {"t": _common.iso_now(), "target": probe.target, "kind": "http"}
    try:
        with _HTTP.open(urllib.request.Request(probe.spec, headers={"User-Agent": "chaos-handler-probe/1"}), timeout=2) as r:
            r.read(65536)
            status = r.status
        res.update(ok=200 <= status < 400, status=status)
    except urllib.error.HTTPError as e:
        res.update(ok=False, status=e.code, error=f"HTTP {e.code} {e.reason}"[:512])
    except Exception as e:  # noqa: BLE001 - any failure is the probe's result
        reason = getattr(e, "reason", e)
        res.update(ok=False, latency_ms=None, error=f"{type(reason).__name__}: {reason}"[:512])
        return res
    res["latency_ms"] = round((time.monotonic() - t0) * 1000, 1)
    return res


def probe_tcp(probe: Probe) -> dict:
    host, _, port = probe.spec.rpartition(":")
    host = host.strip("[]")
    res: dict = {"t": _common.iso_now(), "target": probe.target, "kind": "tcp"}
    t0 = time.monotonic()
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            pass
    except OSError as e:
        res.update(ok=False, latency_ms=None, error=f"{type(e).__name__}: {e.strerror or e}"[:512])
        return res
    res.update(ok=True, latency_ms=round((time.monotonic() - t0) * 1000, 1))
    return res


def is_local_host(host: str) -> bool:
    """Whether a DSN's host is this machine: a Unix socket directory, or an address we can bind."""
    if host.startswith("/"):
        return True
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    for family, _type, _proto, _name, addr in infos:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.bind((addr[0], 0))
                return True
        except OSError:
            continue
    return False


class DbMonitor:
    """Fresh-connection probe plus pg_stat_activity counts over a persistent connection."""

    # Without pg_monitor, other roles' sessions show with backend_type and state NULL but their
    # user, database and application_name visible: still connections, so still counted.
    STATS_SQL = (
        "SELECT coalesce(nullif(application_name, ''), '(none)'), state, count(*) "
        "FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (backend_type = 'client backend' "
        "OR (backend_type IS NULL AND datname IS NOT NULL AND usename IS NOT NULL)) "
        "GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 64"
    )

    def __init__(self, probe: Probe, stats: bool, proc_db: "ProcDb") -> None:
        self.probe_def = probe
        self.dsn = probe.spec
        self.stats = stats
        params = _pgwire.parse_dsn(probe.spec)
        self.port = int(params["port"])
        # The process table only knows this host's servers: no fallback for a remote database.
        self.local = is_local_host(params["host"])
        self.proc_db = proc_db
        self.mon: Optional[_pgwire.Connection] = None
        self.max_connections: Optional[int] = None
        self.lock = threading.Lock()
        self.latest: Optional[Tuple[float, dict]] = None
        self.warned = ""

    def tick(self, out: "Output") -> None:
        out.line("probe", self.probe())
        if self.stats:
            self.sample()

    def probe(self) -> dict:
        t0 = time.monotonic()
        res: dict = {"t": _common.iso_now(), "target": self.probe_def.target, "kind": "db"}
        try:
            conn = _pgwire.Connection(self.dsn, timeout=2, application_name="chaos-probe")
            try:
                conn.query("select 1")
            finally:
                conn.close()
        except _pgwire.PgError as e:
            res.update(ok=False, latency_ms=None, error=str(e)[:512])
            return res
        res.update(ok=True, latency_ms=round((time.monotonic() - t0) * 1000, 1))
        return res

    def sample(self) -> None:
        try:
            if self.mon is None:
                self.mon = _pgwire.Connection(self.dsn, timeout=2, application_name="chaos-sampler")
                self.mon.query("SET statement_timeout = 1500")
                self.max_connections = int(self.mon.query("SHOW max_connections")[0][0] or 0) or None
            rows = self.mon.query(self.STATS_SQL)
            by_app = []
            for app, state, n in rows:
                item = {"application": (app or "(none)")[:128], "count": int(n or 0)}
                if state:
                    item["state"] = state[:64]
                by_app.append(item)
            self._store(self._sample_of(by_app, self.max_connections))
            self.warned = ""
        except _pgwire.PgError as e:
            if self.mon is not None:
                self.mon.close()
                self.mon = None
            if str(e) != self.warned:
                sys.stderr.write(f"{TOOL}: db sample via SQL failed, counting backends from /proc: {e}\n")
                self.warned = str(e)
            # Connection slots used up is exactly when SQL cannot answer: the process table still can.
            self._store(self.proc_db.sample(read_procs(), port=self.port, max_connections=self.max_connections) if self.local else None)

    @staticmethod
    def _sample_of(by_app: List[dict], max_connections: Optional[int]) -> Optional[dict]:
        if not max_connections:
            return None
        return {"connections": sum(x["count"] for x in by_app), "max_connections": max_connections, "by_application": by_app[:64]}

    def _store(self, sample: Optional[dict]) -> None:
        with self.lock:
            self.latest = (time.monotonic(), sample) if sample is not None else None

    def current(self, max_age: float) -> Optional[dict]:
        with self.lock:
            if self.latest and time.monotonic() - self.latest[0] <= max_age:
                return self.latest[1]
        return None

    def close(self) -> None:
        if self.mon is not None:
            self.mon.close()


# Client backend process titles: "postgres: [cluster: ]user db host(port) activity".
_BACKEND_RE = re.compile(r"^postgres: (?:\S+: )?(\S+) (\S+) (?:(\S+)\((\d+)\)|(\[local\]))(?: (.*))?$")


class ProcDb:
    """PostgreSQL connections counted from the process table, for when SQL cannot tell: no db
    probe was given, or the server has no slot left for the sampler. max_connections comes from
    the instance's configuration; each backend is attributed to its client process."""

    def __init__(self) -> None:
        self.instances: Dict[ProcKey, _host.PgInstance] = {}
        self.clients: Dict[ProcKey, str] = {}
        # Backends whose client was looked for in vain, and when: not searched again every second.
        self.misses: Dict[ProcKey, float] = {}

    def sample(self, procs: Dict[ProcKey, ProcStat], port: Optional[int] = None, max_connections: Optional[int] = None) -> Optional[dict]:
        by_pid = {k[0]: (k, st) for k, st in procs.items()}
        postmasters = [
            (k, st) for k, st in procs.items()
            if st.comm in _host.PG_BINARIES and by_pid.get(st.ppid, (None, ProcStat("", 0, 0, 0)))[1].comm not in _host.PG_BINARIES
        ]
        if not postmasters:
            return None
        children: Dict[int, List[ProcKey]] = {}
        for k, st in procs.items():
            if st.comm in _host.PG_BINARIES:
                children.setdefault(st.ppid, []).append(k)
        best: Optional[dict] = None
        for key, _st in postmasters:
            inst = self._instance(key)
            if inst is None or (port is not None and inst.port != port):
                continue
            counts = self._count(key, children.get(key[0], []))
            if counts is None:
                continue
            limit = max_connections or inst.max_connections
            if not limit:
                continue  # no limit known (unprivileged): a count without it says nothing
            sample = {
                "connections": sum(c["count"] for c in counts),
                "max_connections": limit,
                "by_application": counts[:64],
            }
            ratio = (sample["connections"] / limit, sample["connections"])
            if best is None or ratio > (best["connections"] / best["max_connections"], best["connections"]):
                best = sample
        live = set(procs)
        self.instances = {k: v for k, v in self.instances.items() if k in live}
        self.clients = {k: v for k, v in self.clients.items() if k in live}
        self.misses = {k: v for k, v in self.misses.items() if k in live}
        return best

    def _instance(self, key: ProcKey) -> Optional[_host.PgInstance]:
        if key not in self.instances:
            p = _host.read_proc(key[0])
            if p is None or p.start != key[1]:
                return None
            self.instances[key] = _host.pg_instance(p)
        return self.instances[key]

    def _count(self, postmaster: ProcKey, backends: List[ProcKey]) -> Optional[List[dict]]:
        parsed: List[Tuple[ProcKey, str, Optional[Tuple[str, int]]]] = []
        for key in backends:
            argv = read_cmdline(key[0])
            m = _BACKEND_RE.match(argv[0].strip()) if argv else None
            activity = (m.group(6) or "").strip() if m else ""
            # Walsenders use max_wal_senders, not connection slots; a backend still starting or
            # authenticating holds no slot yet (with the slots used up, those are the refused ones).
            if not m or m.group(1) == "walsender" or activity.startswith(("startup", "authentication")):
                continue
            state = activity if activity.startswith("idle") else "active"
            client = (m.group(3), int(m.group(4))) if m.group(3) else None
            parsed.append((key, state[:64], client))
        now = time.monotonic()
        self._resolve_clients(postmaster, [(k, c) for k, _s, c in parsed if k not in self.clients and now - self.misses.get(k, -1e9) > 10])
        counts: Dict[Tuple[str, str], int] = {}
        for key, state, client in parsed:
            app = self.clients.get(key) or ("(local socket)" if client is None else f"(client {client[0]})")
            counts[(app, state)] = counts.get((app, state), 0) + 1
        return [{"application": a[:128], "state": s, "count": n} for (a, s), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    def _resolve_clients(self, postmaster: ProcKey, pending: List[Tuple[ProcKey, Optional[Tuple[str, int]]]]) -> None:
        """Backend -> the argv0 of the local process at the other end of its connection: for TCP
        the client's socket in the server's network namespace, for a Unix socket the peer of the
        backend's socket (sock_diag); then the process holding that socket."""
        if not pending:
            return
        for key, _client in pending:
            self.misses[key] = time.monotonic()
        wanted: Dict[int, List[ProcKey]] = {}
        if any(c is not None for _k, c in pending):
            socks = _host.read_sockets(f"/proc/{postmaster[0]}/net", ("tcp", "tcp6"))
            by_end = {(_host.plain_addr(s.local), s.lport): s.inode for s in socks if s.state == _host.TCP_ESTABLISHED and s.inode}
            for key, client in pending:
                inode = by_end.get((_host.plain_addr(client[0]), client[1])) if client else None
                if inode:
                    wanted.setdefault(inode, []).append(key)
        if any(c is None for _k, c in pending):
            peers = _host.unix_peers()
            for key, client in pending:
                if client is not None:
                    continue
                peer = next((peers[ino] for ino in _host.socket_inodes(key[0]) if ino in peers), None)
                if peer:
                    wanted.setdefault(peer, []).append(key)
        if not wanted:
            return
        pids = sorted((int(n) for n in os.listdir("/proc") if n.isdigit()), reverse=True)
        owners = _host.socket_owners(pids, set(wanted), deadline=time.monotonic() + 0.5)
        for inode, keys in wanted.items():
            holders = owners.get(inode)
            if not holders:
                continue
            argv = read_cmdline(holders[0])
            name = _host.short_name(argv[0]) if argv else ""
            if not name:
                try:
                    with open(f"/proc/{holders[0]}/comm") as f:
                        name = f.read().strip()
                except OSError:
                    continue
            for key in keys:
                self.clients[key] = name[:128]


def every(interval: float, stop: threading.Event, fn) -> None:  # type: ignore[no-untyped-def]
    """Calls fn() every interval until stop; skips ticks it missed instead of bunching up."""
    nxt = time.monotonic()
    while not stop.is_set():
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - a broken probe must not kill the sampler
            sys.stderr.write(f"{TOOL}: {type(e).__name__}: {e}\n")
        nxt += interval
        now = time.monotonic()
        if nxt < now:
            nxt = now + interval - ((now - nxt) % interval)
        stop.wait(nxt - now)


def watch_stdin(stop: threading.Event) -> None:
    try:
        fd = sys.stdin.fileno()
        while os.read(fd, 4096):
            pass
    except OSError:
        pass
    sys.stderr.write(f"{TOOL}: stdin closed, exiting\n")
    stop.set()


def main(argv: List[str]) -> int:
    args, probes = parse_args(argv)
    stop = threading.Event()
    out = Output(stop)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    deadline = time.monotonic() + args.max_seconds

    threads = []
    if not args.no_stdin_watch and sys.stdin is not None and not sys.stdin.isatty():
        threads.append(threading.Thread(target=watch_stdin, args=(stop,), daemon=True))
    proc_db = ProcDb()
    monitors: List[DbMonitor] = []
    for probe in probes:
        if probe.kind == "db":
            # The first database probed feeds the db statistics; the others are probed only.
            mon = DbMonitor(probe, stats=not monitors, proc_db=proc_db)
            monitors.append(mon)
            tick = (lambda m: lambda: m.tick(out))(mon)
        else:
            fn = probe_http if probe.kind == "http" else probe_tcp
            tick = (lambda f, pr: lambda: out.line("probe", f(pr)))(fn, probe)
        threads.append(threading.Thread(target=every, args=(args.interval, stop, tick), daemon=True))
    for t in threads:
        t.start()

    scope = MemoryScope(int(read_kv("/proc/meminfo").get("MemTotal", 0)) * 1024)
    prev_cpu, cores = read_cpu()
    prev_net = read_netdev()
    prev_procs = read_procs()
    prev_vm = read_kv("/proc/vmstat")
    prev_t = time.monotonic()
    nxt = prev_t + args.interval
    while not stop.is_set():
        if stop.wait(max(0.0, nxt - time.monotonic())):
            break
        if time.monotonic() >= deadline:
            sys.stderr.write(f"{TOOL}: --max-seconds reached, exiting\n")
            break
        now = time.monotonic()
        dt = max(1e-3, now - prev_t)
        cpu, cores = read_cpu()
        net = read_netdev()
        procs = read_procs()
        vm = read_kv("/proc/vmstat")
        data = {
            "t": _common.iso_now(),
            "cpu": {**cpu_pct(prev_cpu, cpu), "cores": cores},
            "load1": read_load1(),
            "mem": {**read_memory(scope, vm), **swap_rates(prev_vm, vm, dt)},
            "disks": [d for d in (_common.disk_usage(m) for m in _common.fillable_mounts()) if d][:64],
            "net": net_rates(prev_net, net, dt),
            "top": top_processes(prev_procs, procs, dt),
        }
        limits = read_limits()
        if limits is not None:
            data["limits"] = limits
        if monitors:
            dbs = monitors[0].current(max_age=3 * args.interval + 2)
        else:
            dbs = proc_db.sample(procs)
        if dbs is not None:
            data["db"] = dbs
        out.line("sample", data)
        prev_cpu, prev_net, prev_procs, prev_vm, prev_t = cpu, net, procs, vm, now
        nxt += args.interval
        if nxt < time.monotonic():
            nxt = time.monotonic() + args.interval
    stop.set()
    for mon in monitors:
        mon.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
