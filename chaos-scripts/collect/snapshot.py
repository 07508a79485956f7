#!/usr/bin/env python3
"""Chaos-Handler host snapshot (python3 stdlib only): what a human would look at next.

Usage: snapshot.py [--baseline-disk JSON|@FILE] [--service NAME]... [--time-budget 15]

Prints one JSON object, a HostSnapshot of src/evidence/schema.ts:
  {"t", "hostname", "kernel", "largest_files": [{"mount", "files": [{"path", "size_mb"}]}],
   "services": [{"name", "active", "manager", "pid"?, "detail"?}], "qdiscs": [{"iface", "kind", "detail"}],
   "listeners": ["tcp 10.213.7.2:8080 python3(812)", ...]}

largest_files: for each data mount over 80 % used, or grown since the baseline by >= 50 MiB or
>= 5 percentage points, the 10 largest files by allocated size (walk limited to that filesystem
and to --time-budget seconds in total), plus deleted files still held open by a process, listed
as "<path> (deleted, held open by pid N comm)". --baseline-disk takes the baseline's `disks`
(a JSON array of DiskSample, or an object {"mount": used_mb}); `@path` reads it from a file.

services: with systemd (/run/systemd/system), the units victim-api and postgresql (the
postgresql@* cluster units decide whether postgresql is active) plus any --service; without
systemd, every /etc/chaos-handler/services/NAME.sh, read through its pid file /var/run/NAME.pid.
Unprivileged it still works, with fewer files walked and no listener processes.

qdiscs: every qdisc with its options and, in tc -s's own words, its counters since it was added:
"handle 20: parent 1:2 {...} Sent 28164 bytes 43 pkt (dropped 70, overlimits 103 requeues 0) backlog 0b 0p".
"""
from __future__ import annotations

import argparse
import heapq
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

TOOL = "snapshot"
MIB = 1024 * 1024
SERVICES_DIR = "/etc/chaos-handler/services"
DEFAULT_UNITS = ["victim-api", "postgresql"]
GROWTH_MB = 50.0
GROWTH_PP = 5.0
FULL_PCT = 80.0


def run(cmd: List[str], timeout: float = 10) -> Tuple[int, str]:
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return 127, ""
    return p.returncode, p.stdout.decode("utf-8", "replace")


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


def interesting_mounts(baseline: Dict[str, float]) -> List[Tuple[_common.Mount, str]]:
    out = []
    for m in _common.fillable_mounts():
        d = _common.disk_usage(m)
        if d is None:
            continue
        reasons = []
        if d["used_pct"] > FULL_PCT:
            reasons.append(f"{d['used_pct']}% used")
        if m.mount in baseline:
            grown = d["used_mb"] - baseline[m.mount]
            if grown >= GROWTH_MB or (d["size_mb"] and 100.0 * grown / d["size_mb"] >= GROWTH_PP):
                reasons.append(f"grew {grown:.0f} MiB since baseline")
        if reasons:
            out.append((m, ", ".join(reasons)))
    return out[:16]


def largest_files(m: _common.Mount, deadline: float, n: int = 10) -> List[dict]:
    heap: List[Tuple[int, str]] = []
    stack = [m.mount]
    while stack and time.monotonic() < deadline:
        path = stack.pop()
        try:
            it = os.scandir(path)
        except OSError:
            continue
        with it:
            for e in it:
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
    files = [{"path": p[:1024], "size_mb": round(s / MIB, 1)} for s, p in sorted(heap, reverse=True)]
    return files + deleted_open_files(m)[: max(0, 20 - len(files))]


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
    if shutil.which("ss") is None:
        return []
    rc, out = run(["ss", "-ltnpH"])
    if rc != 0:
        rc, out = run(["ss", "-ltnH"])
    res = []
    for line in out.splitlines():
        f = line.split()
        if len(f) < 4:
            continue
        local = f[3]
        procs = re.findall(r'\("([^"]+)",pid=(\d+)', line)
        who = ",".join(sorted({f"{c}({p})" for c, p in procs})) if procs else "-"
        res.append(f"tcp {local} {who}"[:256])
    return sorted(set(res))[:64]


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(prog="snapshot.py", description="Chaos-Handler host snapshot")
    p.add_argument("--baseline-disk", help="baseline disks: JSON array of {mount, used_mb} or @file")
    p.add_argument("--service", action="append", default=[], help="extra service to report (repeatable)")
    p.add_argument("--time-budget", type=float, default=15.0, help="seconds for walking file trees (default 15)")
    a = p.parse_args(argv)
    for name in a.service:
        if not re.match(r"^[A-Za-z0-9@._-]{1,128}$", name):
            _common.die(TOOL, f"invalid --service name {name!r}")
    try:
        baseline = load_baseline(a.baseline_disk)
    except (OSError, ValueError, TypeError, KeyError) as e:
        _common.die(TOOL, f"--baseline-disk: {e}")

    deadline = time.monotonic() + max(1.0, a.time_budget)
    largest = []
    for m, _why in interesting_mounts(baseline):
        largest.append({"mount": m.mount, "files": largest_files(m, deadline)})

    if os.path.isdir("/run/systemd/system"):
        services = systemd_services(DEFAULT_UNITS + [s for s in a.service if s not in DEFAULT_UNITS])
    else:
        services = pidfile_services(a.service)

    snap = {
        "t": _common.iso_now(),
        "hostname": socket.gethostname()[:256],
        "kernel": os.uname().release[:256],
        "largest_files": largest,
        "services": services,
        "qdiscs": qdiscs(),
        "listeners": listeners(),
    }
    _common.emit(snap)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
