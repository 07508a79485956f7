"""Helpers shared by the Chaos-Handler host collectors (python3 stdlib only, 3.8+).

Not executable on purpose: sudoers allows /opt/chaos-scripts/collect/*, and sudo refuses files
without the execute bit, so only the three collectors can be run as root.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import sys
from typing import Dict, List, NamedTuple, NoReturn, Optional

MIB = 1024 * 1024

# Filesystems that hold no user data: never reported as disks.
PSEUDO_FS = frozenset(
    """
    proc sysfs devtmpfs devpts securityfs cgroup cgroup2 pstore bpf tracefs debugfs mqueue hugetlbfs
    configfs fusectl binfmt_misc autofs rpc_pipefs nsfs efivarfs selinuxfs ramfs squashfs
    fuse.gvfsd-fuse fuse.portal fuse.lxcfs nfsd tmpfs
    """.split()
)
# tmpfs is pseudo except where applications write files an operator cares about.
TMPFS_DATA_MOUNTS = frozenset({"/tmp", "/var/tmp", "/dev/shm"})
HIDDEN_PREFIXES = ("/proc", "/sys", "/dev/", "/run/", "/snap/", "/var/lib/docker/", "/var/snap/")


def iso_now() -> str:
    return iso(_dt.datetime.now(_dt.timezone.utc))


def iso(t: _dt.datetime) -> str:
    """RFC 3339 with milliseconds and Z, as the coordinator's zod `datetime({offset:true})` accepts."""
    return t.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_iso(text: str) -> _dt.datetime:
    """Parses an ISO 8601 timestamp (Z, +HH:MM, +HHMM or none = local time). Python 3.8-safe."""
    m = _ISO_RE.match(text.strip())
    if not m:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    t = _dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro)
    return t.replace(tzinfo=parse_offset(tz)) if tz else t.astimezone()


def parse_offset(tz: str) -> _dt.tzinfo:
    if tz in ("Z", "UTC", "GMT", "UT"):
        return _dt.timezone.utc
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return _dt.timezone(sign * _dt.timedelta(hours=hours, minutes=minutes))


class Mount(NamedTuple):
    mount: str
    device: str
    fstype: str
    dev: int  # st_dev of the mount point, for walking without crossing filesystems


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def data_mounts() -> List[Mount]:
    """Mounts that hold data (as `df -x tmpfs` would show, plus /tmp-like tmpfs), one per device."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    # Later lines over-mount earlier ones on the same path: the last one is what a path resolves to.
    by_path: Dict[str, tuple] = {}
    for line in lines:
        left, _, right = line.partition(" - ")
        lf, rf = left.split(), right.split()
        if len(lf) < 5 or len(rf) < 2:
            continue
        by_path[_unescape(lf[4])] = (lf[2], _unescape(lf[3]), rf[0], _unescape(rf[1]))
    seen: Dict[str, Mount] = {}
    roots: Dict[str, str] = {}
    for mnt, (majmin, root, fstype, source) in by_path.items():
        if fstype == "tmpfs":
            if mnt not in TMPFS_DATA_MOUNTS:
                continue
        elif fstype in PSEUDO_FS or (fstype.startswith("fuse.") and fstype != "fuse.sshfs"):
            continue
        if mnt != "/" and (mnt + "/").startswith(HIDDEN_PREFIXES) and mnt not in TMPFS_DATA_MOUNTS:
            continue
        prev = seen.get(majmin)
        # Bind mounts share the device: prefer the mount of the filesystem root, then the shortest path.
        if prev is not None:
            better = (root == "/", -len(mnt)) > (roots[majmin] == "/", -len(prev.mount))
            if not better:
                continue
        try:
            st_dev = os.stat(mnt).st_dev
        except OSError:
            continue
        seen[majmin] = Mount(mnt, source, fstype, st_dev)
        roots[majmin] = root
    return sorted(seen.values(), key=lambda m: m.mount)


def disk_usage(m: Mount) -> Optional[dict]:
    """DiskSample for one mount, or None when it cannot be read or has no size."""
    try:
        st = os.statvfs(m.mount)
    except OSError:
        return None
    size = st.f_blocks * st.f_frsize
    if size <= 0:
        return None
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    # Like df: percentage of what non-root users can use, rounded up by at most 0.01.
    pct = 100.0 * used / (used + avail) if used + avail > 0 else 0.0
    return {
        "mount": m.mount[:256],
        "device": m.device[:256],
        "size_mb": round(size / MIB, 1),
        "used_mb": round(used / MIB, 1),
        "used_pct": round(min(100.0, max(0.0, pct)), 1),
    }


def emit(obj: object, out=None) -> None:
    """One JSON line, flushed (the coordinator reads a stream)."""
    stream = out or sys.stdout
    stream.write(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n")
    stream.flush()


def die(tool: str, message: str, code: int = 2) -> NoReturn:
    sys.stderr.write(f"{tool}: {message}\n")
    sys.exit(code)
