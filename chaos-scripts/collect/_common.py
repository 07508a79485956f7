"""Helpers shared by the Chaos-Handler host collectors (python3 stdlib only, 3.9+).

Not executable on purpose: sudoers allows /opt/chaos-scripts/collect/*, and sudo refuses files
without the execute bit, so only the collectors themselves (discover, sampler, logs, snapshot) can be run as root.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import stat
import subprocess
import sys
from typing import BinaryIO, Dict, List, NamedTuple, NoReturn, Optional, Tuple

MIB = 1024 * 1024

# Filesystems that hold no user data and cannot fill up with it: never reported as disks.
PSEUDO_FS = frozenset(
    """
    proc sysfs devtmpfs devpts securityfs cgroup cgroup2 pstore bpf tracefs debugfs mqueue hugetlbfs
    configfs fusectl binfmt_misc autofs rpc_pipefs nsfs efivarfs selinuxfs ramfs squashfs
    fuse.gvfsd-fuse fuse.portal fuse.lxcfs nfsd
    """.split()
)
# Kernel interfaces and other programs' private trees (snaps, container layers): not the host's disks.
HIDDEN_PREFIXES = ("/proc/", "/sys/", "/snap/", "/var/lib/docker/", "/var/lib/containers/", "/var/snap/", "/run/docker/", "/run/containerd/")

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


def fillable_mounts() -> List[Mount]:
    """Every mounted filesystem that can fill up, tmpfs included (/tmp, /dev/shm, /run, a tmpfs at
    /srv/cache...), one per device; not kernel pseudo filesystems, read-only mounts (except /),
    squashfs images or container layers. Sorted by mount point."""
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
        if len(lf) < 6 or len(rf) < 2:
            continue
        by_path[_unescape(lf[4])] = (lf[2], _unescape(lf[3]), rf[0], _unescape(rf[1]), lf[5].split(","))
    seen: Dict[str, Mount] = {}
    roots: Dict[str, str] = {}
    for mnt, (majmin, root, fstype, source, opts) in by_path.items():
        if fstype in PSEUDO_FS or (fstype.startswith("fuse.") and fstype != "fuse.sshfs"):
            continue
        if mnt != "/" and ("ro" in opts or (mnt + "/").startswith(HIDDEN_PREFIXES) or mnt in ("/proc", "/sys")):
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
    """DiskSample for one mount (blocks and inodes), or None when it cannot be read or has no size."""
    try:
        st = os.statvfs(m.mount)
    except OSError:
        return None
    size = st.f_blocks * st.f_frsize
    if size <= 0:
        return None
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    # Like df: percentage of what non-root users can use.
    pct = 100.0 * used / (used + avail) if used + avail > 0 else 0.0
    out = {
        "mount": m.mount[:256],
        "device": m.device[:256],
        "fstype": m.fstype[:64],
        "size_mb": round(size / MIB, 1),
        "used_mb": round(used / MIB, 1),
        "used_pct": round(min(100.0, max(0.0, pct)), 1),
    }
    # btrfs and some network filesystems have no fixed inode count (f_files 0): nothing to run out of.
    if st.f_files > 0:
        out["inodes_total"] = int(st.f_files)
        out["inodes_used_pct"] = round(min(100.0, max(0.0, 100.0 * (st.f_files - st.f_ffree) / st.f_files)), 1)
    return out


def run(cmd: List[str], timeout: float = 10) -> Tuple[int, str]:
    """A helper command's exit status and stdout (stderr dropped); 127 when it cannot run or times out."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return 127, ""
    return p.returncode, p.stdout.decode("utf-8", "replace")


def emit(obj: object, out=None) -> None:
    """One JSON line, flushed (the coordinator reads a stream)."""
    stream = out or sys.stdout
    stream.write(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n")
    stream.flush()


def die(tool: str, message: str, code: int = 2) -> NoReturn:
    sys.stderr.write(f"{tool}: {message}\n")
    sys.exit(code)


# --- log files ------------------------------------------------------------------------------------

# Binary or secret files under /var/log that are not line logs (btmp holds mistyped passwords).
_NOT_LOGS = re.compile(r"^/var/log/(?:[bw]tmp|lastlog|faillog|journal/|private/)|\.(?:gz|xz|bz2|zst|journal)$")


def looks_like_log(path: str) -> bool:
    """What the collectors treat as a log file: under /var/log, or *.log, or in a log/ or logs/
    directory, anywhere but the kernel's trees; never rotated archives or binary accounting files."""
    if not path.startswith("/") or "\0" in path or "\n" in path:
        return False
    norm = os.path.normpath(path)
    if norm != path.rstrip("/") or norm.startswith(("/proc/", "/sys/", "/dev/")) or _NOT_LOGS.search(norm):
        return False
    if norm.startswith("/var/log/"):
        return True
    dirs = norm.split("/")[1:-1]
    return norm.endswith(".log") or "log" in dirs or "logs" in dirs


def open_log(path: str) -> BinaryIO:
    """Opens a log file for reading (binary), refusing anything that is not one.

    The collectors run as root with paths the coordinator's user chose, so a path must not become
    a way to read any file: the path, the file it resolves to and the file actually opened must all
    look like a log, and be a regular file (O_NONBLOCK: a FIFO put in its place cannot block us)."""
    if not looks_like_log(path):
        raise ValueError(f"{path} does not look like a log file (/var/log/..., *.log, .../log/...)")
    real = os.path.realpath(path)
    if not looks_like_log(real):
        raise ValueError(f"{path} resolves to {real}, which does not look like a log file")
    fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        opened = os.readlink(f"/proc/self/fd/{fd}")
        if not stat.S_ISREG(st.st_mode) or not looks_like_log(opened):
            raise ValueError(f"{path} is not a regular log file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
