#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A QEMU killed (SIGKILL) in the middle of a cycle is dropped cleanly: it
leaves `memtidectl list`, memtided keeps running, and the other guest keeps
being managed (it is given memory when it allocates)."""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, Daemon, dump_logs, guests, log, require_guests, show,  # noqa: E402
                     wait_for, workdir)


def main():
    image = require_guests()
    wd = workdir("memtide-kill-")
    a = guests.Guest("victim", wd, mem_mib=512, image_dir=image, test_monitor=True)
    b = guests.Guest("survivor", wd, mem_mib=512, image_dir=image, test_monitor=True)
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": "%s %s" % (a.qmp_path, b.qmp_path),
                         "Interval": "1s", "StatsPeriod": "1s"})
    passed = False
    try:
        for g in (a, b):
            g.start()
        for g in (a, b):
            g.wait_ready()
            g.wait_workload()
        daemon.start()
        wait_for(lambda: len(daemon.guests()) == 2, 30, "both guests to be managed")
        # let a few cycles send commands, so the kill lands while the loop is busy
        wait_for(lambda: all(g["actual_bytes"] < 250 * MIB for g in daemon.guests().values()),
                 90, "both guests to be squeezed")
        time.sleep(random.uniform(0, 1))
        a.kill()
        t0 = time.monotonic()
        wait_for(lambda: "victim" not in daemon.guests(), 10, "the killed guest to be dropped")
        log("killed guest dropped after %.1f s" % (time.monotonic() - t0))
        assert daemon.alive(), "memtided died with its guest"
        assert daemon.ctl("status").returncode == 0
        assert "guest victim: connection dropped" in daemon.log_text()

        before = daemon.guests()["survivor"]["actual_bytes"]
        reply = b.alloc(200, 50, timeout=120)
        assert reply == "allocated 200", reply
        assert not b.oom_killed(), b.console_text()[-2000:]
        wanted = min(before + 150 * MIB, 511 * MIB)
        after = wait_for(lambda: daemon.guests()["survivor"]["actual_bytes"] >= wanted
                         and daemon.guests()["survivor"]["actual_bytes"], 30,
                         "the surviving guest to get memory")
        log("survivor grew from %.0f to %.0f MiB" % (before / MIB, after / MIB))
        show(daemon)
        assert daemon.alive()
        passed = True
        print("PASS")
    finally:
        daemon.stop()
        for g in (a, b):
            g.kill()
        if not passed:
            dump_logs(daemon, [a, b])


if __name__ == "__main__":
    run_test(main)
