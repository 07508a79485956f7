#!/usr/bin/env python3
"""Chaos-Handler host discovery (python3 stdlib only): what this host runs (SPEC §9).

Usage: discover.py [--time-budget 8]

Prints one JSON object, a HostInventory of src/evidence/inventory.ts:
  listeners  listening TCP sockets and bound, unconnected UDP sockets (loopback included), read
             from /proc/net/{tcp,tcp6,udp,udp6} of this network namespace, each with the process
             that holds it (socket inode found in /proc/PID/fd): pid, comm, argv0 (as ps shows
             it: `exec -a NAME` shows NAME), exe and the service it belongs to.
  services   systemd units (where /run/systemd/system exists) that run or failed, with their
             MainPID and the processes of their cgroup; our pid-file services
             (/etc/chaos-handler/services/NAME.sh, /var/run/NAME.pid); and any other process
             that listens or writes a log file (running >= 3 s), grouped so that a forked server
             is one service (children running the same program, or a process-group leader that
             listens or logs itself): "nginx: master process ..." -> nginx, postgres ->
             postgresql, `python3 -m http.server` -> http.server. Names that collide get
             "-PORT" (or "-pidN"). Left out: kernel threads, these collectors and their
             ancestors (sudo, the SSH session), SSH session processes, interactive shells.
  log_files  per service, the files its processes have open for writing that look like logs
             (under /var/log, *.log, or in a log/ or logs/ directory), plus the usual locations
             of nginx, apache2, PostgreSQL (the cluster's log_directory), MySQL/MariaDB and
             Redis when they exist; the inventory's list adds /var/log, largest first.
  journal    whether journalctl works for this user.
  mounts     every filesystem that can fill, tmpfs included (see _common.fillable_mounts), with
             size, use and inodes (null inode use where the filesystem has no fixed count).
  postgres   every postmaster: port (postmaster.pid, -p, configuration, 5432), data directory,
             version (PG_VERSION), max_connections (command line, postgresql.auto.conf,
             postgresql.conf and its includes, default 100) and its log files.
  limits     fs.file-max, kernel.pid_max, kernel.threads-max.
Lists are cut to the schema's limits. Unprivileged it still works, with less detail (other
users' sockets, fds and data directories cannot be read). Processes that exit while being read
are skipped. Exits 0, or 2 on bad arguments.
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import socket
import sys
import time
from typing import Dict, List, Optional, Set, Tuple

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import _host  # noqa: E402

TOOL = "discover"
MIB = 1024 * 1024
SERVICES_DIR = "/etc/chaos-handler/services"
# A process that only writes a log must have run this long: apt, logrotate and cron jobs are not services.
MIN_AGE_S = 3.0
SSHD_SESSION = re.compile(r"^sshd: \S+(?:@\S+| \[(?:priv|net|accepted|listener)\])")
WELL_KNOWN_LOGS: Dict[str, List[str]] = {
    "nginx": ["/var/log/nginx/*.log"],
    "apache2": ["/var/log/apache2/*.log", "/var/log/httpd/*log"],
    "postgresql": ["/var/log/postgresql/*.log"],
    "mysql": ["/var/log/mysql/*.log", "/var/log/mysql.log", "/var/log/mysql.err"],
    "mariadb": ["/var/log/mysql/*.log", "/var/log/mariadb/*.log"],
    "redis": ["/var/log/redis/*.log"],
}
# systemd unit names of the same servers.
UNIT_ALIASES = {"httpd": "apache2", "mysqld": "mysql", "mariadbd": "mariadb", "redis-server": "redis", "postgres": "postgresql"}
ROTATED = re.compile(r"(?:\.\d+|\.old|-\d{8}|\.gz|\.xz|\.bz2|\.zst)$")


def run(cmd: List[str], timeout: float = 5) -> Tuple[int, str]:
    return _common.run(cmd, timeout)


def read_int(path: str) -> Optional[int]:
    try:
        with open(path) as f:
            v = int(f.read().split()[0])
        return v if v > 0 else None
    except (OSError, ValueError, IndexError):
        return None


def well_known_kind(name: str) -> Optional[str]:
    """The well-known server a service name is ("postgresql@15-main" -> postgresql), if any."""
    base = re.split(r"[@.]", name, maxsplit=1)[0]
    base = UNIT_ALIASES.get(base, base)
    return base if base in WELL_KNOWN_LOGS else None


def well_known_logs(kind: str) -> List[str]:
    out: List[str] = []
    for pattern in WELL_KNOWN_LOGS.get(kind, []):
        for f in sorted(glob.glob(pattern)):
            if os.path.isfile(f) and not ROTATED.search(f) and f not in out:
                out.append(f)
    return out


class Host:
    """One reading of the process table and the socket tables, and what is derived from them."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.procs = _host.list_procs()
        self.now_ticks = _host.uptime_ticks()
        self._exe: Dict[int, Optional[str]] = {}
        self.skip = self._skipped()
        self.listen = _host.listening(_host.read_sockets())
        inodes = {s.inode for s in self.listen}
        self.owners: Dict[int, List[int]] = {}
        self.logs: Dict[int, List[str]] = {}
        self.listening_pids: Set[int] = set()
        # One pass over every process's fds: which listening sockets it holds, which logs it writes.
        for pid, p in self.procs.items():
            if p.kthread:
                continue
            if time.monotonic() > self.deadline:
                sys.stderr.write(f"{TOOL}: time budget spent reading open files; the rest of the processes are left out\n")
                break
            for fd, target in _host.fd_targets(pid):
                if target.startswith("socket:["):
                    ino = int(target[8:-1])
                    if ino in inodes:
                        self.owners.setdefault(ino, []).append(pid)
                        self.listening_pids.add(pid)
                elif target.startswith("/") and not target.endswith(" (deleted)") and _common.looks_like_log(target):
                    if _host.open_for_writing(pid, fd) and target not in self.logs.get(pid, []):
                        self.logs.setdefault(pid, []).append(target)
        self.children: Dict[int, List[int]] = {}
        for p in self.procs.values():
            self.children.setdefault(p.ppid, []).append(p.pid)

    def exe(self, pid: int) -> Optional[str]:
        if pid not in self._exe:
            self._exe[pid] = _host.exe_of(pid)
        return self._exe[pid]

    def _skipped(self) -> Set[int]:
        skip: Set[int] = set()
        # Ourselves and our ancestors: sudo, the SSH session and its shell.
        pid = os.getpid()
        for _ in range(64):
            p = self.procs.get(pid)
            if p is None or pid <= 1:
                break
            skip.add(pid)
            pid = p.ppid
        for p in self.procs.values():
            parent = self.procs.get(p.ppid)
            if (
                p.kthread
                or (p.pid == 1 and p.comm in ("systemd", "init"))
                or any(_host.COLLECT_DIR in a or "/opt/chaos-scripts/collect/" in a for a in p.argv[:3])
                or SSHD_SESSION.match(p.argv0)
                or p.comm == "sshd-session"
                or (p.comm in _host.SHELLS and (p.tty != 0 or p.argv0.startswith("-") or (parent is not None and SSHD_SESSION.match(parent.argv0) is not None)))
            ):
                skip.add(p.pid)
        return skip

    def same_program(self, a: _host.Proc, b: _host.Proc) -> bool:
        ea, eb = self.exe(a.pid), self.exe(b.pid)
        if ea and eb:
            return ea == eb
        return a.comm == b.comm

    def is_candidate(self, p: _host.Proc) -> bool:
        """A process that may be (part of) a service: it listens, or it has been writing a log for a while."""
        if p.pid in self.skip:
            return False
        if p.pid in self.listening_pids:
            return True
        return bool(self.logs.get(p.pid)) and _host.age_s(p, self.now_ticks) >= MIN_AGE_S

    def leader(self, p: _host.Proc) -> _host.Proc:
        """The process a forked server's process hangs from: nginx workers -> the master,
        postgres backends -> the postmaster. Never climbs into init, shells or supervisors."""
        cur = p
        for _ in range(32):
            par = self.procs.get(cur.ppid)
            if par is None or par.pid <= 1 or par.pid in self.skip or par.kthread:
                break
            if self.same_program(cur, par) or (par.pid == cur.pgrp and self.is_candidate(par)):
                cur = par
                continue
            break
        return cur

    def descendants(self, pid: int) -> List[int]:
        out, stack = [], [pid]
        while stack and len(out) < 4096:
            cur = stack.pop()
            out.append(cur)
            stack.extend(self.children.get(cur, []))
        return out

    def ports_of(self, pids: Set[int]) -> List[int]:
        ports = {s.lport for s in self.listen if any(pid in pids for pid in self.owners.get(s.inode, []))}
        return sorted(ports)[:64]

    def logs_of(self, pids: List[int]) -> List[str]:
        out: List[str] = []
        for pid in pids:
            for f in self.logs.get(pid, []):
                if f not in out:
                    out.append(f)
        return out


def describe(h: Host, pid: int) -> dict:
    p = h.procs.get(pid)
    out: dict = {}
    if p is None:
        return out
    if p.argv0:
        out["argv0"] = p.argv0[:256]
    exe = h.exe(pid)
    if exe:
        out["exe"] = exe
    user = _host.user_of(pid)
    if user:
        out["user"] = user
    return out


def systemd_units(h: Host) -> List[dict]:
    """Service units that run or failed, each with its MainPID and the processes of its cgroup."""
    rc, listing = run(["systemctl", "list-units", "--type=service", "--state=running,failed", "--all", "--plain", "--no-legend", "--no-pager"])
    if rc != 0:
        return []
    units = []
    for line in listing.splitlines():
        f = line.replace("\u25cf", " ").replace("*", " ").split()
        if f and f[0].endswith(".service"):
            units.append(f[0])
    units = units[:256]
    if not units:
        return []
    rc, shown = run(["systemctl", "show", "--no-pager", "-p", "Id,MainPID,ActiveState,SubState,Result"] + units, timeout=10)
    props: Dict[str, Dict[str, str]] = {}
    for block in shown.split("\n\n"):
        kv = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if kv.get("Id"):
            props[kv["Id"]] = kv
    members: Dict[str, List[int]] = {}
    for pid in h.procs:
        unit = unit_of(pid)
        if unit in props:
            members.setdefault(unit, []).append(pid)
    out = []
    for unit in units:
        kv = props.get(unit, {})
        main = int(kv.get("MainPID") or 0)
        active = kv.get("ActiveState") == "active"
        pids = sorted(set(members.get(unit, [])) - {main})
        pids = ([main] if main > 0 and main in h.procs else []) + [p for p in pids if p not in h.skip]
        item: dict = {
            "name": unit[: -len(".service")][:128],
            "manager": "systemd",
            "active": active,
            "pids": pids[:64],
            "detail": f"{unit}: {kv.get('ActiveState', '?')} ({kv.get('SubState', '?')})"
            + (f", result {kv['Result']}" if kv.get("Result") not in (None, "", "success") else ""),
        }
        if pids:
            item.update(describe(h, pids[0]))
        out.append(item)
    return out


def unit_of(pid: int) -> Optional[str]:
    """The systemd service unit a process belongs to, from its cgroup path."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3 and parts[1] in ("", "name=systemd"):
            for comp in reversed(parts[2].split("/")):
                if comp.endswith(".service"):
                    return comp
    return None


def pidfile_services(h: Host) -> List[dict]:
    if not os.path.isdir(SERVICES_DIR):
        return []
    out = []
    for script in sorted(os.listdir(SERVICES_DIR)):
        name = script[:-3]
        if not script.endswith(".sh") or not re.match(r"^[A-Za-z0-9][A-Za-z0-9@._-]{0,127}$", name):
            continue
        pidfile = f"/var/run/{name}.pid"
        item: dict = {"name": name, "manager": "pidfile", "active": False, "pids": []}
        try:
            with open(pidfile) as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            item["detail"] = f"no readable pid file {pidfile}"
            out.append(item)
            continue
        p = h.procs.get(pid)
        if p is None or p.state in ("Z", "X"):
            item["detail"] = f"stale pid file {pidfile}: pid {pid} is not running"
            out.append(item)
            continue
        item.update(active=True, pids=[q for q in h.descendants(pid) if q not in h.skip][:64], detail=f"running, pid {pid} from {pidfile}")
        item.update(describe(h, pid))
        out.append(item)
    return out


def process_services(h: Host, claimed: Set[int]) -> List[dict]:
    groups: Dict[int, List[int]] = {}
    leaders: Set[int] = set()
    for p in h.procs.values():
        if p.pid in h.skip or p.pid in claimed:
            continue
        lead = h.leader(p)
        if lead.pid in claimed:
            continue
        groups.setdefault(lead.pid, []).append(p.pid)
        if h.is_candidate(p):
            leaders.add(lead.pid)
    out = []
    for lead in sorted(leaders):
        p = h.procs[lead]
        pids = [lead] + sorted(q for q in groups.get(lead, []) if q != lead)
        item: dict = {
            "name": _host.service_name(p),
            "manager": "process",
            "active": True,
            "pids": pids[:64],
            "detail": f"pid {lead}" + (f" and {len(pids) - 1} more" if len(pids) > 1 else "") + f", running {_host.age_s(p, h.now_ticks):.0f} s",
        }
        item.update(describe(h, lead))
        out.append(item)
    return out


def disambiguate(services: List[dict]) -> None:
    """Process services whose names collide get "-PORT" (their first port, or a PostgreSQL
    instance's own port when it listens in another network namespace) or "-pidN"."""
    taken = {s["name"] for s in services if s["manager"] != "process"}
    by_name: Dict[str, List[dict]] = {}
    for s in services:
        if s["manager"] == "process":
            by_name.setdefault(s["name"], []).append(s)
    for name, group in by_name.items():
        if len(group) == 1 and name not in taken:
            continue
        for s in group:
            port = s["ports"][0] if s["ports"] else s.get("_pg_port")
            suffix = str(port) if port else f"pid{s['pids'][0]}"
            s["name"] = f"{name}-{suffix}"[:128]


def postgres_instances(h: Host) -> List[dict]:
    out = []
    for pm in _host.postmasters(h.procs)[:16]:
        inst = _host.pg_instance(pm)
        port = inst.port
        if port is None:
            ports = h.ports_of({pm.pid})
            port = ports[0] if ports else None
        if port is None:
            continue
        writers = [pm.pid] + [c for c in h.children.get(pm.pid, []) if h.procs.get(c) is not None and h.procs[c].comm in _host.PG_BINARIES]
        logs = _host.pg_log_files(inst, writers, _common.looks_like_log)
        item: dict = {"port": port, "pid": pm.pid, "log_files": logs}
        if inst.max_connections:
            item["max_connections"] = inst.max_connections
        if inst.data_dir:
            item["data_dir"] = inst.data_dir[:1024]
        if inst.version:
            item["version"] = inst.version[:32]
        out.append(item)
    return out


def journal_usable() -> bool:
    if shutil.which("journalctl") is None or not (os.path.isdir("/run/systemd/journal") or os.path.isdir("/var/log/journal")):
        return False
    rc, out = run(["journalctl", "-q", "-n", "1", "--no-pager", "-o", "cat"], timeout=3)
    return rc == 0 and bool(out.strip())


def var_log_files(limit: int = 2000) -> List[str]:
    out: List[str] = []
    seen = 0
    for root, dirs, files in os.walk("/var/log"):
        depth = root.count("/") - 2
        if depth >= 3:
            dirs[:] = []
        dirs[:] = [d for d in dirs if d not in ("journal", "private")]
        for f in files:
            seen += 1
            path = os.path.join(root, f)
            if not ROTATED.search(path) and _common.looks_like_log(path):
                out.append(path)
        if seen > limit:
            break
    return out


def file_mb(path: str) -> Optional[float]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return round(st.st_size / MIB, 2) if os.path.isfile(path) else None


def mounts() -> List[dict]:
    out = []
    for m in _common.fillable_mounts():
        d = _common.disk_usage(m)
        if d is None:
            continue
        out.append(
            {
                "mount": m.mount[:1024],
                "fstype": d["fstype"],
                "device": d["device"],
                "size_mb": d["size_mb"],
                "used_mb": d["used_mb"],
                "used_pct": d["used_pct"],
                "inodes_total": d.get("inodes_total", 0),
                "inodes_used_pct": d.get("inodes_used_pct"),
            }
        )
    return out[:64]


def meminfo_total_mb() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 1.0


def cores() -> int:
    with open("/proc/stat") as f:
        n = sum(1 for ln in f if ln.startswith("cpu") and ln[3:4].isdigit())
    return n or (os.cpu_count() or 1)


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(prog="discover.py", description="Chaos-Handler host discovery: prints one HostInventory")
    p.add_argument("--time-budget", type=float, default=8.0, help="seconds for reading processes' open files (1-60, default 8)")
    a = p.parse_args(argv)
    if not 1 <= a.time_budget <= 60:
        _common.die(TOOL, "--time-budget must be between 1 and 60 seconds")
    h = Host(time.monotonic() + a.time_budget)
    init = "systemd" if os.path.isdir("/run/systemd/system") else "other"

    services: List[dict] = []
    if init == "systemd":
        services += systemd_units(h)
    services += pidfile_services(h)
    claimed = {pid for s in services for pid in s["pids"]}
    for s in services:
        # A unit's or pid file's processes: the children of its main process are its own too.
        if s["pids"]:
            claimed.update(h.descendants(s["pids"][0]))
    services += process_services(h, claimed)

    pg = postgres_instances(h)
    service_of_pid: Dict[int, str] = {}
    for s in services:
        pids = set(s["pids"])
        s["ports"] = h.ports_of(pids)
        logs = h.logs_of(s["pids"])
        for inst in pg:
            if inst["pid"] in pids:
                logs += [f for f in inst["log_files"] if f not in logs]
                s.setdefault("_pg_port", inst["port"])
        kind = well_known_kind(s["name"])
        # A PostgreSQL instance names its own logs; the generic glob would add other clusters'.
        if kind and not (kind == "postgresql" and "_pg_port" in s):
            logs += [f for f in well_known_logs(kind) if f not in logs]
        s["log_files"] = [f[:1024] for f in logs][:32]
    disambiguate(services)
    for s in services:
        s.pop("_pg_port", None)
        for pid in s["pids"]:
            service_of_pid.setdefault(pid, s["name"])
        if "detail" in s:
            s["detail"] = s["detail"][:512]
    # Most telling first (listening, then writing logs), so that the cut keeps them.
    services.sort(key=lambda s: (not s["ports"], not s["log_files"], s["manager"] == "systemd" and s["active"] and not s["ports"], s["name"]))

    listeners = []
    seen: Set[Tuple[str, str, int]] = set()
    for s in sorted(h.listen, key=lambda s: (s.proto, s.lport, s.local)):
        key = (s.proto, s.local, s.lport)
        if key in seen:
            continue
        seen.add(key)
        item: dict = {"proto": s.proto, "address": s.local[:64], "port": s.lport}
        holders = [pid for pid in h.owners.get(s.inode, []) if pid in h.procs]
        if holders:
            # The holder whose parent does not hold it too: nginx's master, not a worker.
            top = sorted(holders, key=lambda pid: (h.procs[pid].ppid in holders, pid))[0]
            item.update(pid=top, comm=h.procs[top].comm[:64])
            item.update({k: v for k, v in describe(h, top).items() if k in ("argv0", "exe")})
            svc = next((service_of_pid[x] for x in [top] + holders if x in service_of_pid), None)
            if svc:
                item["service"] = svc
        listeners.append(item)

    # Every log file: the services' first (they matter most), then well-known paths, then /var/log.
    log_service: Dict[str, Optional[str]] = {}
    for s in services:
        for f in s["log_files"]:
            log_service.setdefault(f, s["name"])
    for kind in WELL_KNOWN_LOGS:
        for f in well_known_logs(kind):
            log_service.setdefault(f, kind)
    for f in var_log_files():
        log_service.setdefault(f, None)
    log_files = []
    for path, svc in log_service.items():
        mb = file_mb(path)
        if mb is None:
            continue
        entry: dict = {"path": path[:1024], "size_mb": mb}
        if svc:
            entry["service"] = svc[:128]
        log_files.append(entry)
    with_service = [e for e in log_files if "service" in e][:128]
    rest = sorted((e for e in log_files if "service" not in e), key=lambda e: -e["size_mb"])[: 128 - len(with_service)]
    log_files = sorted(with_service + rest, key=lambda e: -e["size_mb"])

    inventory = {
        "t": _common.iso_now(),
        "hostname": socket.gethostname()[:256],
        "kernel": os.uname().release[:256],
        "init": init,
        "cores": cores(),
        "mem_total_mb": meminfo_total_mb(),
        "listeners": listeners[:256],
        "services": services[:128],
        "mounts": mounts(),
        "postgres": pg,
        "log_files": log_files,
        "journal": journal_usable(),
        "limits": {
            k: v
            for k, v in (
                ("files_max", read_int("/proc/sys/fs/file-max")),
                ("pid_max", read_int("/proc/sys/kernel/pid_max")),
                ("threads_max", read_int("/proc/sys/kernel/threads-max")),
            )
            if v is not None
        },
    }
    try:
        _common.emit(inventory)
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
