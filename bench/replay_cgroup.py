# SPDX-License-Identifier: GPL-2.0-or-later
"""A memory cgroup for bench/replay.py's QEMUs, v1 or v2 (stdlib only).

v1: /sys/fs/cgroup/memory/NAME, memory.limit_in_bytes, memory.usage_in_bytes,
the oom_kill counter of memory.oom_control. v2: /sys/fs/cgroup/NAME (the
memory controller enabled in the root's subtree_control), memory.max,
memory.current, oom_kill of memory.events. No swap limit is set: the host
has none, or its use counts as the guests' memory too (v1 memsw is left).
"""
import os
import signal
import time

V1_ROOT = "/sys/fs/cgroup/memory"
V2_ROOT = "/sys/fs/cgroup"


class CgroupError(Exception):
    """No memory cgroup could be made or used."""


def _read(path):
    with open(path) as f:
        return f.read()


def _write(path, text):
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:
        raise CgroupError("cannot write %r to %s: %s" % (text, path, e.strerror)) from None


class Cgroup:
    def __init__(self, path, version):
        self.path = path
        self.version = version
        self.procs_path = os.path.join(path, "cgroup.procs")

    @classmethod
    def create(cls, name):
        if os.path.exists(os.path.join(V1_ROOT, "memory.limit_in_bytes")):
            root, version = V1_ROOT, 1
        elif "memory" in _read(os.path.join(V2_ROOT, "cgroup.controllers")).split():
            root, version = V2_ROOT, 2
            if "memory" not in _read(os.path.join(root, "cgroup.subtree_control")).split():
                _write(os.path.join(root, "cgroup.subtree_control"), "+memory")
        else:
            raise CgroupError("no memory cgroup controller (neither v1 %s nor v2 %s)"
                              % (V1_ROOT, V2_ROOT))
        path = os.path.join(root, name)
        try:
            os.mkdir(path)
        except OSError as e:
            raise CgroupError("cannot create %s: %s" % (path, e.strerror)) from None
        return cls(path, version)

    def set_limit(self, limit_bytes):
        name = "memory.limit_in_bytes" if self.version == 1 else "memory.max"
        _write(os.path.join(self.path, name), str(int(limit_bytes)))

    def usage(self):
        name = "memory.usage_in_bytes" if self.version == 1 else "memory.current"
        try:
            return int(_read(os.path.join(self.path, name)))
        except (OSError, ValueError):
            return 0

    def oom_kills(self):
        """Processes the cgroup's OOM killer killed (0 where the kernel does not count)."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            for line in _read(os.path.join(self.path, name)).splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def pids(self):
        try:
            return [int(p) for p in _read(self.procs_path).split()]
        except OSError:
            return []

    def remove(self):
        """Kills what is left in it, then removes it (the QEMUs are killed by
        their owner first; this catches any that escaped)."""
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while True:
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise CgroupError("cannot remove %s: processes left %s"
                                      % (self.path, self.pids())) from None
                time.sleep(0.1)
