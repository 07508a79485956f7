#!/usr/bin/env python3
"""Chaos-Handler log collector (python3 stdlib only).

Usage: logs.py --since ISO8601 [--until ISO8601] [--max-lines 2000] [--file STREAM=PATH]... [--keep-harness]

Prints the log lines written since --since (and before --until, if given) as JSON lines
  {"stream":"<name>","line":"<text>"}
oldest first within each stream, at most --max-lines per stream (the newest are kept), each line
cut to 2000 characters. Streams, when present and readable:
  syslog      journald (when /run/systemd/journal exists), else /var/log/syslog or /var/log/messages
  auth        /var/log/auth.log or /var/log/secure (only without journald, which already has them)
  victim-api  /var/log/victim-api.log
  postgresql  /var/log/postgresql/*.log
  dmesg       the kernel ring buffer (`dmesg --time-format iso`; needs root where dmesg_restrict=1)
plus, for each --file STREAM=PATH (repeatable, at most 64; the log files discovery found for the
host's services), that file as stream STREAM. STREAM matches ^[a-z0-9][a-z0-9_.-]{0,63}$ (several
files may share one); PATH is absolute and must look like a log (under /var/log, *.log, or in a
log/ or logs/ directory), and so must the file it resolves to: anything else is refused (exit 2
for the argument, skipped with a message when a symlink points elsewhere). A file named by
--file is read once, under its own stream, even when it is also one of the defaults.
A source that cannot be read is reported on stderr and skipped; the exit status stays 0 unless
the arguments are wrong (2).

Timestamps: files are read backwards from their end and each line's time is taken from, in turn,
an ISO 8601 prefix (rsyslog RFC 3339, PostgreSQL "%m", the victim's app log, dmesg iso), the
combined-log "[22/Nov/2025:22:30:01 +0000]" field, or a BSD syslog "Nov 22 22:30:01" prefix.
Times without a zone are local time; zone abbreviations other than UTC/GMT are read as local time;
BSD syslog lines get the current year, or last year if that would put them more than a day in the
future. Lines without a timestamp (tracebacks, continuation lines) belong to the line above.
Reading stops at the first line more than 5 s older than --since (tolerating writers that
interleave slightly out of order), or after 256 MiB per file. Rotated files (syslog.1) are not read.

Harness lines are dropped (unless --keep-harness): lines that mention /opt/chaos-scripts or the
coordinator's own probes, such as sudo's "COMMAND=/opt/chaos-scripts/..." entries. They would
name the injected scenario, and the diagnosis must come from the evidence of the fault itself.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import glob
import os
import re
import shutil
import subprocess
import sys
from collections import deque
from typing import BinaryIO, Deque, Iterator, List, Optional, Tuple

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

TOOL = "logs"
MAX_LINE = 2000
MAX_SCAN = 256 * 1024 * 1024
SLACK = _dt.timedelta(seconds=5)
STREAM_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_FILES = 64
HARNESS_RE = re.compile(r"/opt/chaos-scripts|chaos-(?:sampler|probe)\b|chaos-handler-probe")

_MONTHS = {m: i + 1 for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}
_ISO_PREFIX = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2}|UTC|GMT|[A-Z]{3,5}\b)?"
)
_CLF = re.compile(r"\[(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\]")
_BSD = re.compile(r"^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ")


def line_time(line: str, now: _dt.datetime) -> Optional[_dt.datetime]:
    m = _ISO_PREFIX.match(line)
    if m:
        y, mo, d, h, mi, s, frac, tz = m.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        try:
            t = _dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro)
        except ValueError:
            return None
        if tz and (tz in ("Z", "UTC", "GMT") or tz[0] in "+-"):
            return t.replace(tzinfo=_common.parse_offset(tz))
        return t.astimezone()  # no zone, or an ambiguous abbreviation: local time
    m = _CLF.search(line[:200])
    if m:
        d, mon, y, h, mi, s, tz = m.groups()
        if mon not in _MONTHS:
            return None
        return _dt.datetime(int(y), _MONTHS[mon], int(d), int(h), int(mi), int(s), tzinfo=_common.parse_offset(tz))
    m = _BSD.match(line)
    if m and m.group(1) in _MONTHS:
        mon, d, h, mi, s = m.groups()
        try:
            t = _dt.datetime(now.year, _MONTHS[mon], int(d), int(h), int(mi), int(s)).astimezone()
        except ValueError:
            return None
        if t - now > _dt.timedelta(days=1):
            t = t.replace(year=now.year - 1)
        return t
    return None


def reverse_lines(f: BinaryIO) -> Iterator[str]:
    """Lines of a file from the last to the first, reading blocks from the end (bounded)."""
    with f:
        f.seek(0, os.SEEK_END)
        pos = f.tell()
        floor = max(0, pos - MAX_SCAN)
        rest = b""
        while pos > floor:
            step = min(65536, pos - floor)
            pos -= step
            f.seek(pos)
            block = f.read(step) + rest
            parts = block.split(b"\n")
            rest = parts[0]
            for raw in reversed(parts[1:]):
                yield raw.decode("utf-8", "replace")
        if rest:
            yield rest.decode("utf-8", "replace")


def tail_file(f: BinaryIO, since: _dt.datetime, until: Optional[_dt.datetime], max_lines: int, now: _dt.datetime) -> List[str]:
    """Lines of one chronological log file within [since, until), newest max_lines kept."""
    kept: Deque[str] = deque()
    pending: List[str] = []  # continuation lines seen (backwards) before their timestamped head
    for line in reverse_lines(f):
        if not line.strip():
            continue
        t = line_time(line, now)
        if t is None:
            pending.append(line)
            continue
        group = [line] + pending[::-1]
        pending = []
        if t < since - SLACK:
            break
        if t < since or (until is not None and t >= until):
            continue
        for item in reversed(group):
            kept.appendleft(item)
        if len(kept) >= max_lines:
            break
    return list(kept)[-max_lines:]


def run(cmd: List[str], timeout: float = 20) -> Tuple[int, str, str]:
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 127, "", str(e)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def journal(since: _dt.datetime, until: Optional[_dt.datetime], max_lines: int) -> List[str]:
    cmd = ["journalctl", "--no-pager", "-q", "-o", "short-iso-precise", "--since", f"@{since.timestamp():.0f}", "-n", str(max_lines)]
    if until is not None:
        cmd += ["--until", f"@{until.timestamp():.0f}"]
    rc, out, err = run(cmd)
    if rc != 0:
        raise OSError(err.strip() or f"journalctl exited {rc}")
    return out.splitlines()


def dmesg(since: _dt.datetime, until: Optional[_dt.datetime], max_lines: int, now: _dt.datetime) -> List[str]:
    rc, out, err = run(["dmesg", "--time-format", "iso"])
    if rc != 0:
        raise PermissionError(err.strip() or f"dmesg exited {rc}")
    kept: Deque[str] = deque(maxlen=max_lines)
    for line in out.splitlines():
        t = line_time(line, now)
        if t is not None and t >= since and (until is None or t < until):
            kept.append(line)
    return list(kept)


def sources() -> List[Tuple[str, str]]:
    """(stream, path) pairs of log files, in output order; 'journal' and 'dmesg' are commands."""
    out: List[Tuple[str, str]] = []
    has_journal = os.path.isdir("/run/systemd/journal") and shutil.which("journalctl") is not None
    if has_journal:
        out.append(("syslog", "journal"))
    else:
        for stream, candidates in (("syslog", ["/var/log/syslog", "/var/log/messages"]), ("auth", ["/var/log/auth.log", "/var/log/secure"])):
            found = next((p for p in candidates if os.path.isfile(p)), None)
            if found:
                out.append((stream, found))
    if os.path.isfile("/var/log/victim-api.log"):
        out.append(("victim-api", "/var/log/victim-api.log"))
    for path in sorted(glob.glob("/var/log/postgresql/*.log")):
        out.append(("postgresql", path))
    out.append(("dmesg", "dmesg"))
    return out


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(prog="logs.py", description="Chaos-Handler log collector")
    p.add_argument("--since", required=True, help="ISO 8601 start time (e.g. 2025-11-22T22:30:00Z)")
    p.add_argument("--until", help="ISO 8601 end time (exclusive; default: now)")
    p.add_argument("--max-lines", type=int, default=2000, help="per stream, newest kept (1-100000, default 2000)")
    p.add_argument("--file", action="append", default=[], metavar="STREAM=PATH", help="also read this log file as STREAM (repeatable)")
    p.add_argument("--keep-harness", action="store_true", help="keep lines naming the chaos tooling")
    a = p.parse_args(argv)
    if len(a.file) > MAX_FILES:
        _common.die(TOOL, f"at most {MAX_FILES} --file")
    extra: List[Tuple[str, str]] = []
    for spec in a.file:
        stream, sep, path = spec.partition("=")
        if not sep or not STREAM_RE.match(stream):
            _common.die(TOOL, f"--file: expected STREAM=PATH with STREAM matching {STREAM_RE.pattern}")
        if len(path) > 1024 or not _common.looks_like_log(path):
            _common.die(TOOL, f"--file {stream}: {path[:100]!r} is not an absolute path that looks like a log file (/var/log/..., *.log, .../log/...)")
        if path not in (x[1] for x in extra):
            extra.append((stream, path))
    try:
        since = _common.parse_iso(a.since)
        until = _common.parse_iso(a.until) if a.until else None
    except ValueError as e:
        _common.die(TOOL, str(e))
    if not 1 <= a.max_lines <= 100000:
        _common.die(TOOL, "--max-lines must be between 1 and 100000")
    now = _dt.datetime.now().astimezone()

    merged: dict = {}
    named = {os.path.realpath(path) for _stream, path in extra}
    defaults = [(stream, src) for stream, src in sources() if os.path.realpath(src) not in named or src in ("journal", "dmesg")]
    for stream, src in defaults + [(stream, "file:" + path) for stream, path in extra]:
        try:
            if src == "journal":
                lines = journal(since, until, a.max_lines)
            elif src == "dmesg":
                lines = dmesg(since, until, a.max_lines, now)
            elif src.startswith("file:"):
                # Paths from the command line: opened only if they are (and resolve to) log files.
                lines = tail_file(_common.open_log(src[5:]), since, until, a.max_lines, now)
            else:
                lines = tail_file(open(src, "rb"), since, until, a.max_lines, now)
        except (OSError, ValueError) as e:
            sys.stderr.write(f"{TOOL}: skipping {stream} ({src[5:] if src.startswith('file:') else src}): {e}\n")
            continue
        merged.setdefault(stream, []).extend(lines)

    try:
        for stream, lines in merged.items():
            if not a.keep_harness:
                lines = [ln for ln in lines if not HARNESS_RE.search(ln)]
            for line in lines[-a.max_lines :]:
                _common.emit({"stream": stream, "line": line[:MAX_LINE]})
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
