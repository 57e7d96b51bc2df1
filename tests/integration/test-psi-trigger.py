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
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import MIB, Daemon, log, run_test, skip, wait_for, workdir  # noqa: E402

FILE_MIB = 256
LIMIT_MIB = 32
WAIT_S = 15


def psi_total():
    with open("/proc/pressure/memory") as f:
        return int(f.readline().split("total=")[1])


def memory_cgroup_dir():
    with open("/proc/self/cgroup") as f:
        lines = [line.rstrip("\n").split(":", 2) for line in f]
    for _, controllers, path in lines:
        if "memory" in controllers.split(","):
            return "/sys/fs/cgroup/memory" + path, "memory.limit_in_bytes"
    return "/sys/fs/cgroup" + lines[-1][2], "memory.max"


class Hog:
    def __init__(self, wd):
        self.file = os.path.join(wd, "hog.dat")
        with open(self.file, "wb") as f:
            block = os.urandom(MIB)
            for _ in range(FILE_MIB):
                f.write(block)
            f.flush()
            os.fsync(f.fileno())
        parent, limit = memory_cgroup_dir()
        self.cgroup = os.path.join(parent, "memtide-test-hog-%d" % os.getpid())
        try:
            os.mkdir(self.cgroup)
            with open(os.path.join(self.cgroup, limit), "w") as f:
                f.write(str(LIMIT_MIB * MIB))
        except OSError as e:
            skip("cannot make a limited memory cgroup under %s: %s" % (parent, e))
        self.procs = []

    def start(self):
        fd = os.open(self.file, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
        procs = os.path.join(self.cgroup, "cgroup.procs")

        def enter():
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
        code = ("import mmap,sys\nf=open(sys.argv[1],'rb')\n"
                "m=mmap.mmap(f.fileno(),0,prot=mmap.PROT_READ)\n"
                "while True:\n    s=0\n    for o in range(0,len(m),4096): s+=m[o]\n")
        # Two readers: about 40 % of the time some task stalls (one alone
        # makes about 20 %, too close to the trigger's 15 %).
        self.procs = [subprocess.Popen([sys.executable, "-c", code, self.file], preexec_fn=enter)
                      for _ in range(2)]

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.procs = []

    def remove(self):
        self.stop()
        time.sleep(0.2)
        try:
            os.rmdir(self.cgroup)
        except OSError:
            pass
        os.unlink(self.file)


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
            name, "%.2f s" % got if got is not None else "never in %d s" % WAIT_S, psi_total()))
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
    hog = Hog(wd)
    try:
        run(wd, "trigger", True, hog)
        time.sleep(3)  # the trigger's window and PSI's averaging pass
        run(wd, "no-trigger", False, hog)
    finally:
        hog.remove()
    print("PASS")


if __name__ == "__main__":
    run_test(main)
