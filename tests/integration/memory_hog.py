# SPDX-License-Identifier: GPL-2.0-or-later
"""Host memory pressure on demand, for test-psi-trigger and
bench/burst-bench.py --host-pressure: two readers of a file, over and over,
in a memory cgroup limited to less than the file, so that its page cache is
reclaimed and read again all the time and its tasks stall on memory (PSI)
without taking memory from anyone else. Stdlib only."""

import os
import subprocess
import sys
import time

MIB = 1 << 20
PSI_PATH = "/proc/pressure/memory"

READER = ("import mmap,sys\nf=open(sys.argv[1],'rb')\n"
          "m=mmap.mmap(f.fileno(),0,prot=mmap.PROT_READ)\n"
          "while True:\n    s=0\n    for o in range(0,len(m),4096): s+=m[o]\n")


def psi_some_total():
    """PSI's "some" stall total (microseconds) of the whole host."""
    with open(PSI_PATH) as f:
        return int(f.readline().split("total=")[1])


def memory_cgroup_dir():
    """The memory cgroup directory this process is in (v1's memory
    hierarchy, else cgroup2) and its version; OSError when there is none."""
    with open("/proc/self/cgroup") as f:
        lines = [line.rstrip("\n").split(":", 2) for line in f]
    for _, controllers, path in lines:
        if "memory" in controllers.split(","):
            return "/sys/fs/cgroup/memory" + path, "v1"
    for hid, _, path in lines:
        if hid == "0":
            return "/sys/fs/cgroup" + path, "v2"
    raise OSError("no memory cgroup")


class MemoryHog:
    """start() / stop() the readers; remove() also the cgroup and the file.
    The constructor raises OSError when no limited cgroup can be made."""

    def __init__(self, workdir, name, file_mib, limit_mib):
        self.file = os.path.join(workdir, "hog.dat")
        with open(self.file, "wb") as f:
            block = os.urandom(MIB)
            for _ in range(file_mib):
                f.write(block)
            f.flush()
            os.fsync(f.fileno())
        parent, self.version = memory_cgroup_dir()
        self.cgroup = os.path.join(parent, "%s-%d" % (name, os.getpid()))
        limit = "memory.limit_in_bytes" if self.version == "v1" else "memory.max"
        os.mkdir(self.cgroup)
        with open(os.path.join(self.cgroup, limit), "w") as f:
            f.write(str(limit_mib * MIB))
        self.procs = []

    def drop_cache(self):
        fd = os.open(self.file, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)

    def start(self):
        self.drop_cache()
        procs = os.path.join(self.cgroup, "cgroup.procs")

        def enter():
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
        # Two readers: about 40 % of the time some task stalls (one alone
        # makes about 20 %, too close to the trigger's 15 %).
        self.procs = [subprocess.Popen([sys.executable, "-c", READER, self.file],
                                       preexec_fn=enter) for _ in range(2)]

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
