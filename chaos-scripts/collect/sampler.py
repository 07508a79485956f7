#!/usr/bin/env python3
"""Chaos-Handler streaming host sampler (python3 stdlib only).

Usage: sampler.py [--interval 1] [--http URL] [--db CONNSTRING] [--max-seconds 3600] [--no-stdin-watch]

Prints one JSON line per interval, flushed:
  {"type":"sample","data":<MetricSample without "phase">}
and, when --http / --db are given, one line per probe per interval:
  {"type":"probe","data":<ProbeResult without "phase">}     (target "http" or "db")
(shapes: src/evidence/schema.ts). Diagnostics go to stderr.

It stops by itself when stdin reaches EOF (the SSH channel closed), when stdout breaks, on
SIGTERM/SIGHUP/SIGINT, or after --max-seconds: an SSH drop never leaves it running.

Notes:
  * cpu: /proc/stat over the interval; busy = user+nice+system+irq+softirq, iowait and steal apart.
  * top: the 5 busiest processes over the interval plus the 5 largest by RSS (union, <= 10),
    the sampler itself excluded.
  * db: counts client backends in pg_stat_activity over a persistent monitoring connection
    (application_name "chaos-sampler", its own session excluded) so that the sample survives the
    server refusing new connections. If that connection cannot be made, the backends are counted
    from the process table instead (application "(unknown)"), using the last max_connections seen.
  * db probe: a fresh connection + `select 1` each interval (application_name "chaos-probe").
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Dict, List, Optional, Tuple

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import _pgwire  # noqa: E402

TOOL = "sampler"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024
TOP_N = 5


def parse_args(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="sampler.py", description="Chaos-Handler streaming host sampler")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between samples (0.2-60, default 1)")
    p.add_argument("--http", help="URL probed with GET each interval (2 s timeout)")
    p.add_argument("--db", help="PostgreSQL connection string (URI or key=value) to sample and probe")
    p.add_argument("--max-seconds", type=float, default=3600.0, help="exit after this long (default 3600)")
    p.add_argument("--no-stdin-watch", action="store_true", help="do not exit when stdin reaches EOF")
    a = p.parse_args(argv)
    if not 0.2 <= a.interval <= 60:
        _common.die(TOOL, "--interval must be between 0.2 and 60 seconds")
    if a.max_seconds <= 0:
        _common.die(TOOL, "--max-seconds must be positive")
    if a.http and not re.match(r"^https?://[^\s/]+", a.http):
        _common.die(TOOL, "--http must be an http:// or https:// URL")
    if a.db:
        try:
            _pgwire.parse_dsn(a.db)
        except _pgwire.PgError as e:
            _common.die(TOOL, f"--db: {e}")
    return a


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


def read_meminfo() -> Dict[str, float]:
    info: Dict[str, int] = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, rest = line.partition(":")
            parts = rest.split()
            if parts:
                info[k] = int(parts[0])  # kB
    total = info.get("MemTotal", 0) / 1024
    avail = info.get("MemAvailable", info.get("MemFree", 0)) / 1024
    swap_used = max(0, info.get("SwapTotal", 0) - info.get("SwapFree", 0)) / 1024
    used_pct = 100.0 * (total - avail) / total if total else 0.0
    return {
        "total_mb": round(total, 1),
        "available_mb": round(avail, 1),
        "used_pct": round(min(100.0, max(0.0, used_pct)), 1),
        "swap_used_mb": round(swap_used, 1),
    }


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


def read_procs() -> Dict[ProcKey, Tuple[str, int, int]]:
    """(pid, start) -> (comm, utime+stime ticks, rss bytes) for every process."""
    procs: Dict[ProcKey, Tuple[str, int, int]] = {}
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
        # fields[0] is stat field 3 (state); utime=14, stime=15, starttime=22, rss=24.
        ticks = int(fields[11]) + int(fields[12])
        procs[(int(name), int(fields[19]))] = (comm, ticks, int(fields[21]) * PAGE)
    return procs


def read_args(pid: int) -> Optional[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read(4096)
    except OSError:
        return None
    text = raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()
    return text[:200] if text else None


def top_processes(prev: Dict[ProcKey, Tuple[str, int, int]], cur: Dict[ProcKey, Tuple[str, int, int]], dt: float) -> List[dict]:
    rows = []
    for key, (comm, ticks, rss) in cur.items():
        before = prev.get(key)
        # A process born during the interval: all its CPU time is from this interval.
        delta = ticks - before[1] if before else ticks
        rows.append((key[0], comm, max(0.0, 100.0 * delta / CLK_TCK / dt), rss))
    by_cpu = [r for r in sorted(rows, key=lambda r: -r[2])[:TOP_N] if r[2] > 0]
    by_rss = sorted(rows, key=lambda r: -r[3])[:TOP_N]
    chosen: Dict[int, tuple] = {}
    for r in by_cpu + by_rss:
        chosen.setdefault(r[0], r)
    out = []
    for pid, comm, cpu, rss in sorted(chosen.values(), key=lambda r: (-r[2], -r[3])):
        item = {"pid": pid, "comm": comm[:64], "cpu_pct": round(cpu, 1), "rss_mb": round(rss / MIB, 1)}
        args = read_args(pid)
        if args:
            item["args"] = args
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


def probe_http(url: str) -> dict:
    t0 = time.monotonic()
    res: dict = {"t": _common.iso_now(), "target": "http"}
    try:
        with _HTTP.open(urllib.request.Request(url, headers={"User-Agent": "chaos-handler-probe/1"}), timeout=2) as r:
            r.read(65536)
            status = r.status
        res.update(ok=200 <= status < 400, status=status)
    except urllib.error.HTTPError as e:
        res.update(ok=False, status=e.code, error=f"HTTP {e.code} {e.reason}"[:512])
    except Exception as e:  # noqa: BLE001 - any failure is the probe's result
        reason = getattr(e, "reason", e)
        res.update(ok=False, error=f"{type(reason).__name__}: {reason}"[:512])
        res["latency_ms"] = None
        return res
    res["latency_ms"] = round((time.monotonic() - t0) * 1000, 1)
    return res


class DbMonitor:
    """Fresh-connection probe plus pg_stat_activity counts over a persistent connection."""

    STATS_SQL = (
        "SELECT coalesce(nullif(application_name, ''), '(none)'), state, count(*) "
        "FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
        "GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 64"
    )

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.mon: Optional[_pgwire.Connection] = None
        self.max_connections: Optional[int] = None
        self.lock = threading.Lock()
        self.latest: Optional[Tuple[float, dict]] = None
        self.warned = ""

    def probe(self) -> dict:
        t0 = time.monotonic()
        res: dict = {"t": _common.iso_now(), "target": "db"}
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
            self._store(by_app)
            self.warned = ""
        except _pgwire.PgError as e:
            if self.mon is not None:
                self.mon.close()
                self.mon = None
            if str(e) != self.warned:
                sys.stderr.write(f"{TOOL}: db sample via SQL failed, counting backends from /proc: {e}\n")
                self.warned = str(e)
            self._store(count_backends_from_proc())

    def _store(self, by_app: Optional[List[dict]]) -> None:
        if by_app is None or not self.max_connections:
            with self.lock:
                self.latest = None
            return
        sample = {
            "connections": sum(x["count"] for x in by_app),
            "max_connections": self.max_connections,
            "by_application": by_app[:64],
        }
        with self.lock:
            self.latest = (time.monotonic(), sample)

    def current(self, max_age: float) -> Optional[dict]:
        with self.lock:
            if self.latest and time.monotonic() - self.latest[0] <= max_age:
                return self.latest[1]
        return None

    def close(self) -> None:
        if self.mon is not None:
            self.mon.close()


# Client backend process titles: "postgres: [cluster: ]user db host(port) activity".
_BACKEND_RE = re.compile(r"^postgres: (?:\S+: )?(\S+) (\S+) (\S+\(\d+\)|\[local\])(?: (.*))?$")


def count_backends_from_proc() -> Optional[List[dict]]:
    counts: Dict[Tuple[str, str], int] = {}
    found_postmaster = False
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                title = f.read(512).split(b"\0")[0].decode("utf-8", "replace").strip()
        except OSError:
            continue
        if not title.startswith("postgres"):
            continue
        found_postmaster = True
        m = _BACKEND_RE.match(title)
        if not m:
            continue
        activity = (m.group(4) or "").strip()
        state = activity if activity.startswith("idle") else "active"
        key = ("(unknown)", state)
        counts[key] = counts.get(key, 0) + 1
    if not found_postmaster:
        return None
    return [{"application": a, "state": s, "count": n} for (a, s), n in sorted(counts.items(), key=lambda kv: -kv[1])]


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
    args = parse_args(argv)
    stop = threading.Event()
    out = Output(stop)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    deadline = time.monotonic() + args.max_seconds

    threads = []
    if not args.no_stdin_watch and sys.stdin is not None and not sys.stdin.isatty():
        threads.append(threading.Thread(target=watch_stdin, args=(stop,), daemon=True))
    if args.http:
        url = args.http
        threads.append(
            threading.Thread(target=every, args=(args.interval, stop, lambda: out.line("probe", probe_http(url))), daemon=True)
        )
    db: Optional[DbMonitor] = None
    if args.db:
        db = DbMonitor(args.db)
        mon = db

        def db_tick() -> None:
            out.line("probe", mon.probe())
            mon.sample()

        threads.append(threading.Thread(target=every, args=(args.interval, stop, db_tick), daemon=True))
    for t in threads:
        t.start()

    prev_cpu, cores = read_cpu()
    prev_net = read_netdev()
    prev_procs = read_procs()
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
        data = {
            "t": _common.iso_now(),
            "cpu": {**cpu_pct(prev_cpu, cpu), "cores": cores},
            "load1": read_load1(),
            "mem": read_meminfo(),
            "disks": [d for d in (_common.disk_usage(m) for m in _common.fillable_mounts()) if d][:64],
            "net": net_rates(prev_net, net, dt),
            "top": top_processes(prev_procs, procs, dt),
        }
        if db is not None:
            dbs = db.current(max_age=3 * args.interval + 2)
            if dbs is not None:
                data["db"] = dbs
        out.line("sample", data)
        prev_cpu, prev_net, prev_procs, prev_t = cpu, net, procs, now
        nxt += args.interval
        if nxt < time.monotonic():
            nxt = time.monotonic() + args.interval
    stop.set()
    if db is not None:
        db.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
