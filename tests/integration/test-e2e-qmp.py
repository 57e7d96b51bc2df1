#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End to end on real guests over QMP: an idle 512 MiB guest is squeezed to
near its floor; its workload then allocates 300 MiB at 50 MiB/s (no swap,
deflate-on-oom off) and must finish without an OOM kill because the balloon
deflates in time; after it frees the memory, QEMU's RSS drops by 200 MiB
within 15 s (free page reporting) or the policy re-inflates the balloon."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, Daemon, guests, log, require_guests, show,  # noqa: E402
                     squeezed, teardown, wait_for, workdir)


def main():
    image = require_guests()
    wd = workdir("memtide-e2e-")
    g = guests.Guest("idle", wd, mem_mib=512, deflate_on_oom=False, free_page_reporting=True,
                     image_dir=image, test_monitor=True)
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": g.qmp_path, "Interval": "1s",
                         "StatsPeriod": "1s"})
    passed = False
    try:
        g.start()
        g.wait_ready()
        g.wait_workload()
        daemon.start()
        t0 = time.monotonic()
        wait_for(lambda: daemon.guests().get("idle"), 30, "the guest to be managed")
        got = wait_for(lambda: squeezed(daemon, "idle"), 60, "the idle guest to be squeezed")
        log("squeezed to %.0f MiB (floor %.0f MiB) in %.1f s" % (
            got["actual_bytes"] / MIB, got["floor_bytes"] / MIB, time.monotonic() - t0))
        show(daemon)

        t1 = time.monotonic()
        reply = g.alloc(300, 50, timeout=180)
        log("workload: %r after %.1f s" % (reply, time.monotonic() - t1))
        show(daemon)
        assert reply == "allocated 300", "allocation failed: %r\n%s" % (
            reply, g.console_text()[-3000:])
        assert not g.oom_killed(), "OOM kill in the guest:\n" + g.console_text()[-3000:]
        assert g.command("held") == "held 300"
        stats = daemon.guests()["idle"]["stats"]
        assert stats["oom_kills"] in (None, 0), stats
        actual = g.balloon_actual_mib()
        assert actual >= 300, "balloon at %d MiB while the guest holds 300 MiB" % actual

        time.sleep(3)
        rss_before = g.rss_bytes()
        actual_before = g.balloon_actual_mib()
        assert g.command("free").startswith("freed 300")
        t2 = time.monotonic()

        def returned():
            rss_drop = rss_before - g.rss_bytes()
            squeeze = actual_before - g.balloon_actual_mib()
            return (rss_drop, squeeze) if rss_drop >= 200 * MIB or squeeze >= 200 else None
        rss_drop, squeeze = wait_for(returned, 15, "memory to come back to the host", 0.25)
        log("after free: RSS down %.0f MiB, balloon down %d MiB in %.1f s" % (
            rss_drop / MIB, squeeze, time.monotonic() - t2))
        show(daemon)
        assert daemon.alive(), "memtided died"
        assert not g.oom_killed()
        assert "guest idle:" in daemon.log_text()
        passed = True
        print("PASS")
    finally:
        teardown(daemon, [g], passed)


if __name__ == "__main__":
    run_test(main)
