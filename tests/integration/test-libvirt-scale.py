#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""500 domains from libvirt's test driver (test:///FILE.xml) are discovered by
memtided's libvirt backend and listed by memtidectl list. The test driver
has no balloon statistics, so every guest must also be held (no stats, no
inflation), and memtidectl must stay quick."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_test, Daemon, dump_logs, log, skip, wait_for, workdir  # noqa: E402
from libvirt_harness import test_driver_node_file  # noqa: E402

DOMAINS = 500


def main():
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver") and \
            not os.path.exists("/usr/sbin/libvirtd"):
        skip("libvirt not installed")
    wd = workdir("memtide-scale-")
    path = os.path.join(wd, "node.xml")
    test_driver_node_file(path, DOMAINS, prefix="scale")
    daemon = Daemon(wd, {"Backend": "libvirt", "LibvirtURI": "test://" + path,
                         "Interval": "1s", "StatsPeriod": "1s"})
    passed = False
    try:
        t0 = time.monotonic()
        daemon.start()
        wait_for(lambda: len(daemon.guests()) == DOMAINS, 60, "%d guests listed" % DOMAINS)
        log("%d domains listed %.1f s after start" % (DOMAINS, time.monotonic() - t0))
        guests = wait_for(lambda: all(g["reason"] for g in daemon.guests().values())
                          and daemon.guests(), 10, "a decision for every guest")
        g = guests["scale250"]
        assert g["backend"] == "libvirt" and g["max_bytes"] == 512 << 20, g
        assert g["uuid"] == "6d656d74-6964-6500-0000-%012x" % 250, g
        assert g["actual_bytes"] == 384 << 20 and "no stats" in g["reason"], g
        t1 = time.monotonic()
        table = daemon.ctl("list").stdout
        log("memtidectl list of %d guests took %.3f s" % (DOMAINS, time.monotonic() - t1))
        assert "%d guest(s)" % DOMAINS in table
        assert daemon.alive()
        passed = True
        print("PASS")
    finally:
        daemon.stop()
        if not passed:
            dump_logs(daemon, [])


if __name__ == "__main__":
    run_test(main)
