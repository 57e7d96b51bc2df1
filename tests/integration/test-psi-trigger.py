#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""PressureTrigger=: host memory pressure runs the cycle early.

memtided runs with Interval=60s and no guests, so that after its first
cycle no other comes for a minute unless something brings it forward.
A hog (two readers) then reads a 256 MiB file over and over from a memory cgroup of its
own limited to 32 MiB: its page cache is reclaimed all the time and its
tasks stall on memory (the host's PSI), without taking memory from anyone
else. With the trigger a cycle runs within seconds (the kernel checks an
unprivileged trigger at PSI's 2 s averaging) and counts the stall as host
pressure; with PressureTrigger=no no cycle runs in the same time (the
check is not blind). Skipped where the kernel refuses PSI triggers or no
memory cgroup can be made. About 30 s.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, log, run_test, skip, wait_for, workdir  # noqa: E402
from memory_hog import MemoryHog, psi_some_total  # noqa: E402

FILE_MIB = 256
LIMIT_MIB = 32
WAIT_S = 15


def make_hog(wd):
    try:
        return MemoryHog(wd, "memtide-test-hog", FILE_MIB, LIMIT_MIB)
    except OSError as e:
        skip("cannot make a limited memory cgroup: %s" % e)


def cycles(daemon):
    return json.loads(daemon.ctl("--json", "status").stdout)["daemon"]["cycles"]


def run(wd, name, trigger, hog):
    ddir = os.path.join(wd, name)
    os.makedirs(ddir)
    daemon = Daemon(ddir, {"Backend": "qmp", "QMPSockets": os.path.join(ddir, "none*.qmp"),
                           "Interval": "60s", "PressureTrigger": "yes" if trigger else "no"})
    passed = False
    try:
        daemon.start()
        wait_for(lambda: cycles(daemon) >= 1, 10, "the first cycle")
        if trigger and "no PSI trigger" in daemon.log_text():
            skip("the kernel refuses PSI triggers here: %s" % daemon.log_text().strip())
        before = cycles(daemon)
        t0 = time.monotonic()
        hog.start()
        got = None
        while time.monotonic() - t0 < WAIT_S and got is None:
            if cycles(daemon) > before:
                got = time.monotonic() - t0
            time.sleep(0.05)
        hog.stop()
        text = daemon.log_text()
        log("%s: a cycle %s after the hog started; PSI total now %d us" % (
            name, "%.2f s" % got if got is not None else "never in %d s" % WAIT_S, psi_some_total()))
        if trigger:
            assert got is not None, "no cycle within %d s of host memory stalls" % WAIT_S
            assert "PSI trigger: tasks stalled on memory" in text, "the trigger was not logged"
            assert "host: tasks stalled on memory" in text, "the early cycle saw no stall"
        else:
            assert "PSI trigger" not in text, "PressureTrigger=no set a trigger"
            assert got is None, "a cycle %.1f s after the hog started without a trigger" % got
        passed = True
    finally:
        daemon.stop()
        if not passed:
            print("---- memtided log (tail) ----\n" + daemon.log_text()[-4000:])


def main():
    if not os.path.exists("/proc/pressure/memory"):
        skip("no PSI on this kernel")
    wd = workdir("memtide-psi-")
    hog = make_hog(wd)
    try:
        run(wd, "trigger", True, hog)
        time.sleep(3)  # the trigger's window and PSI's averaging pass
        run(wd, "no-trigger", False, hog)
    finally:
        hog.remove()
    print("PASS")


if __name__ == "__main__":
    run_test(main)
