#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Benchmark of the libvirt backend at scale, over a real libvirtd socket:
N domains of libvirt's test driver served by a private libvirtd
(test+unix:///FILE.xml?socket=...), driven by tests/libvirt-probe.

Prints: time from start to CONNECTED (connect, list, and per guest one
virDomainGetInfo and one virDomainSetMemoryStatsPeriod), then for K cycles
the bulk stats call's duration, the round trip request -> result through
the eventfd, and the probe's CPU time per cycle (all threads: main, worker,
libvirt's event loop). The test driver has no balloon statistics, so the
records are small; real guests add QEMU's answers to each.

    bench/libvirt-bench.py BUILD_DIR [--domains 500] [--cycles 20]

Needs root (or runs libvirtd as the current user), libvirt-daemon and
libvirt-clients; no guest image.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from libvirt_harness import Libvirtd, Probe, test_driver_node_file  # noqa: E402


def cpu_sec(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--domains", type=int, default=500)
    p.add_argument("--cycles", type=int, default=20)
    a = p.parse_args()

    with Libvirtd(with_image=False) as lv:
        path = os.path.join(lv.dir, "node.xml")
        test_driver_node_file(path, a.domains)
        os.chown(path, lv.uid, lv.gid)
        uri = "test+unix://%s?socket=%s" % (path, lv.socket)

        t0 = time.monotonic()
        probe = Probe(uri, build_dir=a.build_dir, args=["--stats-period", "1"])
        try:
            e = probe.wait_event(lambda e: e["event"] == "connected", 120, "connected")
            print("domains %d: connected and discovered in %.1f ms (%d guests)" % (
                a.domains, (e["seen_at"] - t0) * 1000, e["n_guests"]))
            durations, rtts = [], []
            time.sleep(0.5)
            # CPU is counted in clock ticks (10 ms): average it over the run
            c0 = cpu_sec(probe.proc.pid)
            for _ in range(a.cycles):
                t1 = time.monotonic()
                ev = probe.stats()
                rtts.append(time.monotonic() - t1)
                durations.append(ev["duration_usec"] / 1e6)
                assert len(ev["guests"]) == a.domains, len(ev["guests"])
            time.sleep(0.2)  # let the probe finish printing before reading its CPU
            cpu = (cpu_sec(probe.proc.pid) - c0) / a.cycles
            med = statistics.median
            print("stats cycle x%d: bulk call median %.1f ms (max %.1f), request->result "
                  "median %.1f ms, probe CPU per cycle %.1f ms (all threads, incl. its JSON "
                  "output)" % (a.cycles, med(durations) * 1000, max(durations) * 1000,
                               med(rtts) * 1000, cpu * 1000))
        finally:
            probe.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
