#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""memtided at scale on the libvirt backend: N domains of libvirt's test
driver behind a private libvirtd socket (test+unix:///FILE.xml?socket=...).

Prints the time until memtidectl lists every domain, the control cycle's
duration as memtided measures it (collect, decide, act over N guests), the
wall time of one bulk stats call through libvirtd, memtided's CPU time per
cycle (all threads, from /proc/PID/stat over the run) and its RSS.

    bench/memtided-libvirt-scale.py BUILD_DIR [--domains 500] [--seconds 30]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("MEMTIDE_BUILD_DIR", "")

from harness import Daemon, wait_for  # noqa: E402
from libvirt_harness import Libvirtd, test_driver_node_file  # noqa: E402


def cpu_sec(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--domains", type=int, default=500)
    p.add_argument("--seconds", type=float, default=30)
    a = p.parse_args()
    os.environ["MEMTIDE_BUILD_DIR"] = os.path.abspath(a.build_dir)
    wd = tempfile.mkdtemp(prefix="memtide-bench-")
    with Libvirtd(with_image=False) as lv:
        path = os.path.join(lv.dir, "node.xml")
        test_driver_node_file(path, a.domains)
        os.chown(path, lv.uid, lv.gid)
        daemon = Daemon(wd, {"Backend": "libvirt", "Interval": "1s", "StatsPeriod": "1s",
                             "LibvirtURI": "test+unix://%s?socket=%s" % (path, lv.socket)})
        try:
            t0 = time.monotonic()
            daemon.start()
            wait_for(lambda: len(daemon.guests()) == a.domains, 120, "every domain listed")
            print("domains %d: listed by memtidectl %.2f s after memtided started" % (
                a.domains, time.monotonic() - t0))
            pid = daemon.proc.pid
            st0 = json.loads(daemon.ctl("--json", "status").stdout)["daemon"]
            c0, w0 = cpu_sec(pid), time.monotonic()
            cycle = []
            while time.monotonic() - w0 < a.seconds:
                st = json.loads(daemon.ctl("--json", "status").stdout)["daemon"]
                cycle.append(st["last_cycle_seconds"])
                time.sleep(1)
            st1 = json.loads(daemon.ctl("--json", "status").stdout)["daemon"]
            cycles = st1["cycles"] - st0["cycles"]
            cpu = cpu_sec(pid) - c0
            print("control cycle (collect+decide+act, %d guests): median %.2f ms, max %.2f ms" % (
                a.domains, statistics.median(cycle) * 1000, max(cycle) * 1000))
            print("memtided CPU: %.1f ms per cycle over %d cycles (all threads: main loop, "
                  "libvirt worker and event loop; status queries included)" % (
                      cpu / max(cycles, 1) * 1000, cycles))
            print("memtided RSS: %.1f MiB" % rss_mib(pid))
        finally:
            daemon.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
