#!/usr/bin/env python3
"""Leaking allocator for memory_leak.sh: grows RSS step by step to TARGET_MB, holds, then exits.

usage: memory_leak.py TARGET_MB DURATION_S

Growth spans the first 60% of the duration in quarter-second steps; every step writes its
pages (bytes multiplication memsets them), so RSS really grows instead of reserving zero pages.
The process volunteers as the OOM killer's first victim so a misjudged target hurts nobody else.
"""
import sys
import time

MIB = 1024 * 1024
STEP_S = 0.25


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: memory_leak.py TARGET_MB DURATION_S", file=sys.stderr)
        return 2
    target_mb, duration = int(sys.argv[1]), float(sys.argv[2])
    try:
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as f:
            f.write("1000")
    except OSError:
        pass
    start = time.monotonic()
    ramp = max(1.0, duration * 0.6)
    steps = max(1, int(ramp / STEP_S))
    total = target_mb * MIB
    held = []
    allocated = 0
    for i in range(1, steps + 1):
        size = total * i // steps - allocated
        if size > 0:
            held.append(b"\xa5" * size)
            allocated += size
        pause = start + ramp * i / steps - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    print(f"memory_leak: holding {allocated // MIB} MB", flush=True)
    remaining = start + duration - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    print("memory_leak: duration reached, releasing", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
