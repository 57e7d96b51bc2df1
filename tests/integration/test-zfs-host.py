#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""On a ZFS host the ARC above c_min counts as available (issue 14): memtided
reading a recorded-format ZFS host (MEMTIDE_PROC_ROOT, the fixture in
tests/fixtures/proc/zfs) reports MemAvailable plus the reclaimable ARC in
status and metrics, and memtidectl status says how much of it is the ARC.
No guests needed."""

import json
import os

import harness
from harness import Daemon, log, wait_for

FIXTURE = os.path.join(harness.HERE, "..", "fixtures", "proc", "zfs")
KIB = 1024
ARC_ABOVE_MIN = 32212254720 - 2105540608


def main():
    os.environ["MEMTIDE_PROC_ROOT"] = FIXTURE
    wd = harness.workdir("memtide-zfs-")
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": os.path.join(wd, "none", "*.qmp"),
                         "StateDirectory": os.path.join(wd, "state"), "Interval": "1s",
                         "MetricsFile": os.path.join(wd, "memtide.prom")})
    daemon.start()
    try:
        host = wait_for(lambda: json.loads(daemon.ctl("--json", "status").stdout)["host"], 10,
                        "a host sample")
        assert host["zfs_arc_reclaimable_bytes"] == ARC_ABOVE_MIN, host
        assert host["mem_available_bytes"] == 9437184 * KIB + ARC_ABOVE_MIN, host
        human = daemon.ctl("status").stdout
        assert "of it ZFS ARC:" in human and "28.0 GiB" in human, human
        path = os.path.join(wd, "memtide.prom")
        prom = wait_for(lambda: os.path.exists(path) and open(path).read(), 10, "the metrics file")
        assert "memtide_host_zfs_arc_reclaimable_bytes %d" % ARC_ABOVE_MIN in prom, prom
        log("ZFS host: available %.1f GiB, %.1f GiB of it the ARC above c_min" % (
            host["mem_available_bytes"] / (1 << 30), ARC_ABOVE_MIN / (1 << 30)))
    finally:
        daemon.stop()


if __name__ == "__main__":
    harness.run_test(main)
