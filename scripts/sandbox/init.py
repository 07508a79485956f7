#!/usr/bin/env python3
"""chaos-sandbox-init: pid 1 of the sandbox's pid namespace (and, installed under another name,
of the foreign test host's: tests/fixtures/foreign-host; the file name is how each finds its own).

Its only job is to reap: daemons started in the sandbox are re-parented to it, and without a
reaper a killed process would linger as a zombie that `kill -0` still finds (pid-file checks
would then call a dead service alive). When it dies, the kernel kills every process in the
namespace, which is how scripts/sandbox/down.sh tears the sandbox down.
"""
import os
import signal
import sys
import time

# As pid 1 it only receives signals it handles; SIGTERM ends the sandbox cleanly.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
sys.stdout.write("%s: pid %d in its own pid namespace\n" % (os.path.basename(sys.argv[0]), os.getpid()))
sys.stdout.flush()

while True:
    try:
        os.waitpid(-1, 0)
    except ChildProcessError:
        time.sleep(0.5)
    except InterruptedError:
        pass
