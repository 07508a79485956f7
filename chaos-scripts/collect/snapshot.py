#!/usr/bin/env python3
"""Chaos-Handler host snapshot (python3 stdlib only): what a human would look at next.

Usage: snapshot.py [--baseline-disk JSON|@FILE] [--service NAME]... [--expect SPEC]... [--time-budget 15]

Prints one JSON object, a HostSnapshot of src/evidence/schema.ts:
  {"t", "hostname", "kernel", "largest_files": [{"mount", "files": [{"path", "size_mb"}]}],
   "services": [{"name", "active", "manager", "pid"?, "detail"?}], "qdiscs": [{"iface", "kind", "detail"}],
   "listeners": ["tcp 10.213.7.2:8080 python3(812)", ...], "fd_pressure": [...], "service_errors": [...]}

largest_files: for each fillable mount (tmpfs included) over 80 % used, or over 80 % of its
inodes, or grown since the baseline by >= 50 MiB or >= 5 percentage points: the 10 largest files
by allocated size, plus deleted files still held open by a process, listed as
"<path> (deleted, held open by pid N comm)"; when its inodes are the problem, the 10 directories
with the most entries, as "<dir> (N files)" with size_mb 0. Walks stay on that filesystem and
within --time-budget seconds in total. --baseline-disk takes the baseline's `disks` (a JSON array
of DiskSample, or an object {"mount": used_mb}); `@path` reads it from a file.

services: with systemd (/run/systemd/system), the units victim-api and postgresql (the
postgresql@* cluster units decide whether postgresql is active) plus any --service; without
systemd, every /etc/chaos-handler/services/NAME.sh, read through its pid file /var/run/NAME.pid.

--expect NAME=[PORT[/tcp|/udp][,PORT...]][:LOG[,LOG...]]   (repeatable, at most 16; an invalid one: exit 2)
  A service the known-good reference says should run, e.g.
    --expect nginx=80,443:/var/log/nginx/error.log,/var/log/nginx/access.log
    --expect shop-indexer=:/srv/shop/log/indexer.log      --expect unbound=53/udp
  NAME: [A-Za-z0-9][A-Za-z0-9@._+-]{0,127} (never a leading "-": it is passed to systemctl); at most
  16 ports (1-65535; a bare PORT listens on TCP or UDP, as discovery's service ports do; PORT/tcp
  or PORT/udp only that protocol); at most 8 logs,
  absolute paths that look like logs (under /var/log, *.log, or in a log/ or logs/ directory).
  Each is reported in `services`: through its systemd unit (NAME.service) or pid file when one
  knows it, else as manager "process", found by name (what discover.py would call it, argv0 or
  comm). It is active when it runs and every expected port listens (with ports but no process
  found by name, the ports decide). For each expected service that is down, `service_errors`
  gets the last error lines (at most 20: [emerg]/[error], FATAL, ERROR, failed, Traceback,
  unknown directive, ...) of each of its logs (plus the usual logs of well-known servers), and on
  systemd hosts of `journalctl -u NAME.service -n 50` and `systemctl status NAME.service`.

fd_pressure: processes whose open fds reach 80 % of their soft RLIMIT_NOFILE (/proc/PID/limits),
fullest first, with argv0 and exe.

qdiscs: every qdisc with its options and, in tc -s's own words, its counters since it was added:
"handle 20: parent 1:2 {...} Sent 28164 bytes 43 pkt (dropped 70, overlimits 103 requeues 0) backlog 0b 0p".

Unprivileged it still works, with fewer files walked and no listener processes or fd counts of
other users' processes. Exits 0, or 2 on bad arguments.
"""
from __future__ import annotations

import argparse
import glob
import heapq
import json
import os
import re
import shutil
import socket
import stat
import sys
import time
from typing import Dict, List, NamedTuple, Optional, Tuple

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import _host  # noqa: E402

TOOL = "snapshot"
MIB = 1024 * 1024
SERVICES_DIR = "/etc/chaos-handler/services"
DEFAULT_UNITS = ["victim-api", "postgresql"]
GROWTH_MB = 50.0
GROWTH_PP = 5.0
FULL_PCT = 80.0
FD_PRESSURE = 0.8
ERROR_LINES = 20
TAIL_BYTES = 512 * 1024
ERROR_RE = re.compile(
    r"\[(?:emerg|alert|crit|error)\]|\b(?:FATAL|PANIC|ERROR|CRITICAL|SEVERE|EMERG)\b"
    r"|(?i:\bfail(?:ed|ure|s)?\b|traceback|unknown directive|\w+(?:error|exception)\b|\bcannot\b|could not"
    r"|permission denied|no such file|address already in use|syntax error|too many open files|out of memory"
    r"|segfault|\berror:|\binvalid\b|\bdenied\b)"
)


def run(cmd: List[str], timeout: float = 10) -> Tuple[int, str]:
    return _common.run(cmd, timeout)


# --- disks ----------------------------------------------------------------------------------------


def load_baseline(arg: Optional[str]) -> Dict[str, float]:
    if not arg:
        return {}
    text = arg
    if arg.startswith("@"):
        with open(arg[1:], encoding="utf-8") as f:
            text = f.read()
    data = json.loads(text)
    if isinstance(data, dict) and "disks" in data:
        data = data["disks"]
    if isinstance(data, dict):
        return {str(k): float(v) for k, v in data.items()}
    if isinstance(data, list):
        return {str(d["mount"]): float(d["used_mb"]) for d in data if isinstance(d, dict) and "mount" in d and "used_mb" in d}
    raise ValueError("expected a JSON array of {mount, used_mb} or an object {mount: used_mb}")


class Interesting(NamedTuple):
    mount: _common.Mount
    why: str
    blocks: bool  # its space is the problem (or it grew): largest files
    inodes: bool  # its inodes are: the directories with the most entries


def interesting_mounts(baseline: Dict[str, float]) -> List[Interesting]:
    out: List[Tuple[float, Interesting]] = []
    for m in _common.fillable_mounts():
        d = _common.disk_usage(m)
        if d is None:
            continue
        reasons = []
        blocks = inodes = False
        if d["used_pct"] > FULL_PCT:
            reasons.append(f"{d['used_pct']}% used")
            blocks = True
        if d.get("inodes_used_pct", 0) > FULL_PCT:
            reasons.append(f"{d['inodes_used_pct']}% of inodes used")
            inodes = True
        if m.mount in baseline:
            grown = d["used_mb"] - baseline[m.mount]
            if grown >= GROWTH_MB or (d["size_mb"] and 100.0 * grown / d["size_mb"] >= GROWTH_PP):
                reasons.append(f"grew {grown:.0f} MiB since baseline")
                blocks = True
        if reasons:
            fullness = max(d["used_pct"], d.get("inodes_used_pct", 0))
            out.append((fullness, Interesting(m, ", ".join(reasons), blocks, inodes)))
    # Fullest first, so that the time budget goes to them.
    return [item for _f, item in sorted(out, key=lambda x: -x[0])][:16]


def walk(m: _common.Mount, deadline: float, n: int = 10) -> Tuple[List[dict], List[dict]]:
    """(largest files, directories with the most entries) of one filesystem, bounded in time."""
    heap: List[Tuple[int, str]] = []
    dirs: List[Tuple[int, str]] = []
    stack = [m.mount]
    while stack and time.monotonic() < deadline:
        path = stack.pop()
        try:
            it = os.scandir(path)
        except OSError:
            continue
        entries = 0
        with it:
            for e in it:
                entries += 1
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                if st.st_dev != m.dev:
                    continue  # another filesystem mounted below: not this disk
                if stat.S_ISDIR(st.st_mode):
                    stack.append(e.path)
                elif stat.S_ISREG(st.st_mode):
                    size = st.st_blocks * 512
                    if len(heap) < n:
                        heapq.heappush(heap, (size, e.path))
                    elif size > heap[0][0]:
                        heapq.heapreplace(heap, (size, e.path))
        if len(dirs) < n:
            heapq.heappush(dirs, (entries, path))
        elif entries > dirs[0][0]:
            heapq.heapreplace(dirs, (entries, path))
    files = [{"path": p[:1024], "size_mb": round(s / MIB, 1)} for s, p in sorted(heap, reverse=True)]
    crowded = [{"path": f"{p} ({c} files)"[:1024], "size_mb": 0} for c, p in sorted(dirs, reverse=True) if c > 0]
    return files, crowded


def largest_files(item: Interesting, deadline: float) -> List[dict]:
    files, crowded = walk(item.mount, deadline)
    out: List[dict] = []
    if item.inodes:
        out += crowded
    if item.blocks or not item.inodes:
        out += files + deleted_open_files(item.mount)[: max(0, 20 - len(files))]
    return out[:20]


def deleted_open_files(m: _common.Mount) -> List[dict]:
    """Deleted files that a process keeps open: the space df counts and du cannot find."""
    found: Dict[Tuple[int, int], dict] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
                if not target.endswith(" (deleted)") or not target.startswith("/"):
                    continue
                st = os.stat(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if st.st_dev != m.dev or not stat.S_ISREG(st.st_mode) or st.st_blocks * 512 < MIB:
                continue
            try:
                with open(f"/proc/{pid}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                comm = "?"
            path = target[: -len(" (deleted)")]
            found.setdefault(
                (st.st_dev, st.st_ino),
                {"path": f"{path} (deleted, held open by pid {pid} {comm})"[:1024], "size_mb": round(st.st_blocks * 512 / MIB, 1)},
            )
    return sorted(found.values(), key=lambda f: -f["size_mb"])[:5]


# --- services -------------------------------------------------------------------------------------


def systemd_state(unit: str) -> Optional[Dict[str, str]]:
    rc, out = run(["systemctl", "show", unit, "--no-pager", "-p", "LoadState,ActiveState,SubState,MainPID"])
    if rc != 0:
        return None
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    if props.get("LoadState") in (None, "", "not-found"):
        return None
    return props


def systemd_services(names: List[str]) -> List[dict]:
    out = []
    for name in names:
        props = systemd_state(name + ".service")
        if props is None:
            continue
        active = props.get("ActiveState") == "active"
        detail = f"{name}.service: {props.get('ActiveState')} ({props.get('SubState')})"
        pid = int(props.get("MainPID") or 0)
        if name == "postgresql":
            # Debian/Ubuntu: postgresql.service is an umbrella oneshot; the clusters are instances.
            rc, listing = run(["systemctl", "list-units", "--all", "--plain", "--no-legend", "--no-pager", "postgresql@*"])
            clusters = [ln.split()[0] for ln in listing.splitlines() if ln.strip()] if rc == 0 else []
            if clusters:
                states = []
                pid = 0
                for unit in clusters:
                    cp = systemd_state(unit) or {}
                    ok = cp.get("ActiveState") == "active"
                    active = active and ok
                    pid = pid or (int(cp.get("MainPID") or 0) if ok else 0)
                    states.append(f"{unit}: {cp.get('ActiveState')} ({cp.get('SubState')})")
                detail = "; ".join([detail] + states)
        item: dict = {"name": name[:128], "active": active, "manager": "systemd", "detail": detail[:512]}
        if pid > 0:
            item["pid"] = pid
        out.append(item)
    return out


def proc_alive(pid: int) -> Tuple[bool, str]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return False, ""
    r = data.rfind(b")")
    comm = data[data.find(b"(") + 1 : r].decode("utf-8", "replace")
    state = data[r + 2 : r + 3]
    return state not in (b"Z", b"X"), comm


def pidfile_services(extra: List[str]) -> List[dict]:
    names = []
    if os.path.isdir(SERVICES_DIR):
        names = sorted(f[:-3] for f in os.listdir(SERVICES_DIR) if f.endswith(".sh"))
    names += [n for n in extra if n not in names]
    out = []
    for name in names:
        pidfile = f"/var/run/{name}.pid"
        item: dict = {"name": name[:128], "active": False, "manager": "pidfile"}
        try:
            with open(pidfile) as f:
                pid = int(f.read().split()[0])
        except FileNotFoundError:
            item["detail"] = f"no pid file {pidfile}"
        except (OSError, ValueError, IndexError) as e:
            item["detail"] = f"unreadable pid file {pidfile}: {e}"[:512]
        else:
            alive, comm = proc_alive(pid)
            if alive:
                item.update(active=True, pid=pid, detail=f"running, pid {pid} ({comm}) from {pidfile}"[:512])
            else:
                item["detail"] = f"stale pid file {pidfile}: pid {pid} is not running"[:512]
        out.append(item)
    return out[:32]


class Expectation(NamedTuple):
    name: str
    ports: Tuple[Tuple[str, int], ...]  # (proto, port); proto "any" for a bare PORT
    logs: Tuple[str, ...]


# A name starts with a letter or digit: it becomes a systemctl/journalctl argument, never an option.
_EXPECT_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9@._+-]{0,127})=([0-9a-z/,]*)(?::(.*))?$", re.S)


def parse_expect(spec: str) -> Expectation:
    m = _EXPECT_RE.match(spec)
    if not m:
        raise ValueError("expected NAME=[PORT[/udp][,PORT...]][:LOG[,LOG...]], e.g. nginx=80,443:/var/log/nginx/error.log")
    name, ports_text, logs_text = m.group(1), m.group(2), m.group(3) or ""
    ports: List[Tuple[str, int]] = []
    for item in filter(None, ports_text.split(",")):
        pm = re.match(r"^(\d{1,5})(?:/(tcp|udp))?$", item)
        if not pm or not 1 <= int(pm.group(1)) <= 65535:
            raise ValueError(f"bad port {item!r} (1-65535, optionally /tcp or /udp)")
        key = (pm.group(2) or "any", int(pm.group(1)))
        if key not in ports:
            ports.append(key)
    logs: List[str] = []
    for path in filter(None, logs_text.split(",")):
        if len(path) > 1024 or not _common.looks_like_log(path):
            raise ValueError(f"log {path[:100]!r} is not an absolute path that looks like a log file (/var/log/..., *.log, .../log/...)")
        if path not in logs:
            logs.append(path)
    if len(ports) > 16 or len(logs) > 8:
        raise ValueError("at most 16 ports and 8 logs per service")
    return Expectation(name, tuple(ports), tuple(logs))


def listening_ports() -> Dict[Tuple[str, int], List[int]]:
    """(proto, port) -> the pids holding a listening socket on it (empty when they cannot be seen)."""
    socks = _host.listening(_host.read_sockets())
    owners = _host.socket_owners(sorted(int(n) for n in os.listdir("/proc") if n.isdigit()), {s.inode for s in socks}, deadline=time.monotonic() + 3)
    out: Dict[Tuple[str, int], List[int]] = {}
    for s in socks:
        for key in ((s.proto, s.lport), ("any", s.lport)):
            out.setdefault(key, []).extend(owners.get(s.inode, []))
    return out


def processes_named(name: str, procs: Dict[int, _host.Proc]) -> List[int]:
    """Pids of processes a person (or discover.py) would call `name`; "postgresql-5433" also
    matches what discovery named postgresql and told apart by its port."""
    base = re.sub(r"-(?:\d{1,5}|pid\d+)$", "", name)
    out = []
    for p in procs.values():
        if p.kthread or p.state in ("Z", "X"):
            continue
        if name in (p.comm, _host.short_name(p.argv0)) or _host.service_name(p) in (name, base):
            out.append(p.pid)
    return sorted(out)


def expected_services(expects: List[Expectation], known: List[dict]) -> Tuple[List[dict], List[Tuple[Expectation, Optional[str]]]]:
    """States of the expected services, and the ones that are down (with their systemd unit)."""
    procs = _host.list_procs()
    listening = listening_ports()
    systemd = os.path.isdir("/run/systemd/system")
    out: List[dict] = []
    down: List[Tuple[Expectation, Optional[str]]] = []
    for e in expects:
        missing = [str(port) if proto == "any" else f"{port}/{proto}" for proto, port in e.ports if (proto, port) not in listening]
        ports_note = ""
        if e.ports:
            ports_note = "; not listening on " + ", ".join(missing) if missing else "; listening on " + ", ".join(str(p) for _pr, p in e.ports)
        unit = None
        prior = next((s for s in known if s["name"] == e.name), None)
        if prior is None and systemd and systemd_state(e.name + ".service") is not None:
            prior = systemd_services([e.name])[0]
        if prior is None and os.path.isfile(os.path.join(SERVICES_DIR, e.name + ".sh")):
            prior = next((s for s in pidfile_services([]) if s["name"] == e.name), None)
        if prior is not None:
            if prior["manager"] == "systemd":
                unit = e.name + ".service"
            item = dict(prior)
            item["active"] = bool(prior["active"]) and not missing
            item["detail"] = (prior.get("detail", "") + ports_note)[:512]
        else:
            pids = processes_named(e.name, procs)
            holders = [pid for key in e.ports for pid in listening.get(key, [])]
            pid = next((p for p in pids if p in holders), pids[0] if pids else (holders[0] if holders else None))
            active = not missing and (bool(pids) or bool(e.ports))
            item = {"name": e.name, "active": active, "manager": "process"}
            if pid is not None and pid in procs:
                item["pid"] = pid
                found = f"process {procs[pid].argv0 or procs[pid].comm} (pid {pid}) running"
            else:
                found = f"no process named {e.name} running"
            item["detail"] = (found + ports_note)[:512]
        out.append(item)
        if not item["active"]:
            down.append((e, unit))
    return out, down


def error_lines(path: str) -> List[str]:
    """The last error-looking lines of one log file (its last TAIL_BYTES), oldest first."""
    with _common.open_log(path) as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - TAIL_BYTES))
        data = f.read(TAIL_BYTES)
    lines = data.decode("utf-8", "replace").splitlines()
    if size > TAIL_BYTES and lines:
        lines = lines[1:]  # the first one is cut
    return [ln[:2000] for ln in lines if ERROR_RE.search(ln)][-ERROR_LINES:]


def well_known_logs(name: str) -> List[str]:
    base = re.split(r"[@.-]", name, maxsplit=1)[0]
    patterns = {
        "nginx": ["/var/log/nginx/error.log"],
        "apache2": ["/var/log/apache2/error.log"],
        "httpd": ["/var/log/httpd/error_log"],
        "postgresql": sorted(glob.glob("/var/log/postgresql/*.log")),
        "mysql": ["/var/log/mysql/error.log"],
        "mariadb": ["/var/log/mysql/error.log"],
        "redis": ["/var/log/redis/redis-server.log"],
    }.get(base, [])
    return [p for p in patterns if os.path.isfile(p)]


def service_errors(down: List[Tuple[Expectation, Optional[str]]]) -> List[dict]:
    out: List[dict] = []
    for e, unit in down:
        sources = list(e.logs) + [p for p in well_known_logs(e.name) if p not in e.logs]
        for path in sources:
            try:
                lines = error_lines(path)
            except (OSError, ValueError) as err:
                sys.stderr.write(f"{TOOL}: cannot read {path} for {e.name}: {err}\n")
                continue
            if lines:
                out.append({"service": e.name, "source": path[:1024], "lines": lines})
        if unit and shutil.which("journalctl"):
            rc, text = run(["journalctl", "-u", unit, "-n", "50", "--no-pager", "-q", "-o", "short-iso"])
            lines = text.splitlines()
            picked = [ln for ln in lines if ERROR_RE.search(ln)] or lines[-5:]
            if rc == 0 and picked:
                out.append({"service": e.name, "source": f"journalctl -u {unit}", "lines": [ln[:2000] for ln in picked[-ERROR_LINES:]]})
        if unit:
            _rc, text = run(["systemctl", "status", unit, "--no-pager", "-l", "-n", "0"])
            picked = [ln.strip() for ln in text.splitlines() if re.match(r"^\s*(?:Active|Process|Main PID|Loaded):", ln)]
            if picked:
                out.append({"service": e.name, "source": f"systemctl status {unit}", "lines": [ln[:2000] for ln in picked[:ERROR_LINES]]})
    return out[:16]


def fd_pressure() -> List[dict]:
    """Processes whose open fds reach FD_PRESSURE of their soft RLIMIT_NOFILE, fullest first."""
    rows = []
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        pid = int(name)
        try:
            open_fds = len(os.listdir(f"/proc/{pid}/fd"))
            with open(f"/proc/{pid}/limits") as f:
                limit_line = next((ln for ln in f if ln.startswith("Max open files")), "")
        except OSError:
            continue
        fields = limit_line.split()
        if len(fields) < 5 or not fields[3].isdigit() or int(fields[3]) <= 0:
            continue  # "unlimited" or unreadable: nothing to hit
        soft = int(fields[3])
        if open_fds >= FD_PRESSURE * soft:
            rows.append((open_fds / soft, pid, open_fds, soft))
    out = []
    for _ratio, pid, open_fds, soft in sorted(rows, reverse=True)[:16]:
        p = _host.read_proc(pid)
        if p is None:
            continue
        item: dict = {"pid": pid, "comm": p.comm[:64], "open_fds": open_fds, "limit": soft}
        if p.argv0:
            item["argv0"] = p.argv0[:256]
        exe = _host.exe_of(pid)
        if exe:
            item["exe"] = exe
        out.append(item)
    return out


# --- network --------------------------------------------------------------------------------------


def qdisc_stats(q: dict) -> str:
    """A qdisc's counters in tc's own words: what it sent, dropped and held back since it was added."""
    return (
        f" Sent {q.get('bytes', 0)} bytes {q.get('packets', 0)} pkt"
        f" (dropped {q.get('drops', 0)}, overlimits {q.get('overlimits', 0)} requeues {q.get('requeues', 0)})"
        f" backlog {q.get('backlog', 0)}b {q.get('qlen', 0)}p"
    )


def qdiscs() -> List[dict]:
    """Every qdisc with its counters (tc -s): a shaper's drops show that it is hurting traffic."""
    if shutil.which("tc") is None:
        return []
    rc, out = run(["tc", "-s", "-j", "qdisc", "show"])
    if rc == 0 and out.strip().startswith("["):
        res = []
        for q in json.loads(out):
            opts = q.get("options") or {}
            detail = f"handle {q.get('handle', '?')}" + (" root" if q.get("root") else f" parent {q.get('parent', '?')}")
            if opts:
                detail += " " + json.dumps(opts, separators=(",", ":"))
            stats = qdisc_stats(q)
            # The counters go last but are never the part cut off.
            detail = detail[: 512 - len(stats)] + stats
            res.append({"iface": str(q.get("dev", "?"))[:64], "kind": str(q.get("kind", "?"))[:32], "detail": detail[:512]})
        return res[:32]
    rc, out = run(["tc", "-s", "qdisc", "show"])
    res = []
    for line in out.splitlines():
        m = re.match(r"qdisc (\S+) \S+ dev (\S+) (.*)", line.strip())
        if m:
            res.append({"iface": m.group(2)[:64], "kind": m.group(1)[:32], "detail": line.strip()[:512]})
        elif res and re.match(r"(Sent|backlog) ", line.strip()):
            # tc -s prints the counters on the lines under their qdisc.
            res[-1]["detail"] = (res[-1]["detail"] + " " + line.strip())[:512]
    return res[:32]


def listeners() -> List[str]:
    """Listening sockets as "proto addr:port comm(pid)", read from /proc (no `ss` needed)."""
    socks = _host.listening(_host.read_sockets())
    owners = _host.socket_owners(sorted(int(n) for n in os.listdir("/proc") if n.isdigit()), {s.inode for s in socks}, deadline=time.monotonic() + 3)
    res = set()
    for s in socks:
        who = []
        for pid in owners.get(s.inode, []):
            p = _host.read_proc(pid)
            if p is not None:
                who.append(f"{p.comm}({pid})")
        addr = f"[{s.local}]" if ":" in s.local else s.local
        res.add(f"{s.proto} {addr}:{s.lport} {','.join(sorted(set(who))) or '-'}"[:256])
    return sorted(res, key=lambda x: (x.split()[0], int(x.split()[1].rsplit(":", 1)[1]), x))[:64]


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(prog="snapshot.py", description="Chaos-Handler host snapshot")
    p.add_argument("--baseline-disk", help="baseline disks: JSON array of {mount, used_mb} or @file")
    p.add_argument("--service", action="append", default=[], help="extra service to report (repeatable)")
    p.add_argument("--expect", action="append", default=[], metavar="NAME=PORTS:LOGS", help="a service that should run (repeatable): nginx=80,443:/var/log/nginx/error.log")
    p.add_argument("--time-budget", type=float, default=15.0, help="seconds for walking file trees (default 15)")
    a = p.parse_args(argv)
    for name in a.service:
        # Never a leading "-": the name becomes a systemctl argument and must not read as an option.
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9@._-]{0,127}$", name):
            _common.die(TOOL, f"invalid --service name {name!r}")
    if len(a.expect) > 16:
        _common.die(TOOL, "at most 16 --expect")
    expects: List[Expectation] = []
    for spec in a.expect:
        try:
            expects.append(parse_expect(spec))
        except ValueError as e:
            _common.die(TOOL, f"--expect: {e}")
    try:
        baseline = load_baseline(a.baseline_disk)
    except (OSError, ValueError, TypeError, KeyError) as e:
        _common.die(TOOL, f"--baseline-disk: {e}")

    deadline = time.monotonic() + max(1.0, a.time_budget)
    largest = []
    for item in interesting_mounts(baseline):
        largest.append({"mount": item.mount.mount, "files": largest_files(item, deadline)})

    if os.path.isdir("/run/systemd/system"):
        services = systemd_services(DEFAULT_UNITS + [s for s in a.service if s not in DEFAULT_UNITS])
    else:
        services = pidfile_services(a.service)
    expected, down = expected_services(expects, services)
    by_name = {s["name"]: i for i, s in enumerate(services)}
    for item in expected:
        if item["name"] in by_name:
            services[by_name[item["name"]]] = item
        else:
            services.append(item)

    snap = {
        "t": _common.iso_now(),
        "hostname": socket.gethostname()[:256],
        "kernel": os.uname().release[:256],
        "largest_files": largest,
        "services": services[:32],
        "qdiscs": qdiscs(),
        "listeners": listeners(),
        "fd_pressure": fd_pressure(),
        "service_errors": service_errors(down),
    }
    _common.emit(snap)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
