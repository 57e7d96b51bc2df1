#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""memtided drives virtio-mem beside the balloon, over QMP, on real TCG guests
(virtio_mem module, QEMU's virtio-mem-pci with 2 MiB or 128 MiB blocks).
Two phases of two guests each, one memtided per phase:

1. "vmem": everything moves through virtio-mem. The guest has a balloon
   device for its stats only (without one QMP has no guest stats and the
   policy holds the guest), kept at boot memory by MinMemory= = boot
   memory. Idle, it is shrunk by unplugging (plugged size falls); then
   its workload allocates 300 MiB at 50 MiB/s, met by plugging, without
   an OOM kill, the balloon never moving.
   "noballoon": no balloon device at all: set up and managed (today's
   balloon-only set-up refused it), its devices listed, held without stats.
2. "both": balloon and virtio-mem: the idle guest is shrunk by unplugging
   first, then by the balloon below boot memory; explain shows each split.
   "stall": memhp_default_state=online and 128 MiB blocks, so some blocks
   hold unmovable kernel memory: the unplug stops short, memtided notices
   (plugged size above the request for 5 s) and the balloon takes the rest,
   as the reason says.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, Daemon, guests, log, require_guests, show,  # noqa: E402
                     teardown, wait_for, workdir)
from vmem_checks import check_ramp_met_by_plugging, reasons, vmem_of  # noqa: E402


def phase_vmem_only(image, wd):
    gv = guests.Guest("vmem", wd, mem_mib=256, vmem_mib=1024, vmem_requested_mib=512,
                      append="memhp_default_state=online_movable", image_dir=image,
                      test_monitor=True)
    gn = guests.Guest("noballoon", wd, mem_mib=256, vmem_mib=512, vmem_requested_mib=256,
                      append="memhp_default_state=online_movable", balloon=False,
                      image_dir=image, test_monitor=True)
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": "%s %s" % (gv.qmp_path, gn.qmp_path),
                         "Interval": "1s", "StatsPeriod": "1s"},
                    guest_sections="[Guest:vmem]\nMinMemory=256M\n")
    passed = False
    try:
        for g in (gv, gn):
            g.start()
        for g in (gv, gn):
            g.wait_ready()
        # QEMU plugs requested-size as the guest's driver comes up: wait for it.
        wait_for(lambda: gv.vmem_plugged_mib() == 512 and gn.vmem_plugged_mib() == 256, 30,
                 "the guests' initial virtio-mem plug")
        daemon.start()
        t0 = time.monotonic()

        # The balloon-less guest is managed, its device listed, held (no stats).
        n = wait_for(lambda: daemon.guests().get("noballoon"), 30, "noballoon to be managed")
        assert n["balloon_actual_bytes"] is None and n["boot_bytes"] == 256 * MIB, n
        d = n["virtio_mem"][0]
        assert d["id"] == "vmem0" and d["driven"] and d["block_bytes"] == 2 * MIB, d
        assert d["max_bytes"] == 512 * MIB and d["plugged_bytes"] == 256 * MIB, d
        assert n["actual_bytes"] == 512 * MIB and n["max_bytes"] == 768 * MIB, n
        out = daemon.ctl("show", "noballoon").stdout
        log("memtidectl show noballoon:\n" + out)
        assert "vmem0" in out, out

        # Idle: shrunk by unplugging (its kernel keeps about 115 MiB out of
        # MemTotal, so use + headroom is a little above boot memory), the
        # balloon kept at boot memory but for the part of the last block it
        # takes back.
        def unplugged():
            g, d = vmem_of(daemon, "vmem")
            if not d or d["requested_bytes"] > 64 * MIB or d["plugged_bytes"] != d["requested_bytes"]:
                return None
            return g, d
        g, d = wait_for(unplugged, 60, "the idle virtio-mem guest to be unplugged")
        log("vmem: unplugged from 512 to %.0f MiB in %.1f s, total %.0f MiB" % (
            d["plugged_bytes"] / MIB, time.monotonic() - t0, g["actual_bytes"] / MIB))
        show(daemon)
        assert gv.vmem_plugged_mib() <= 64
        assert gv.balloon_actual_mib() >= 254, "the balloon moved: %d" % gv.balloon_actual_mib()
        split = reasons(daemon, "vmem")
        assert any("split: balloon 256.0 MiB + virtio-mem" in r for r in split), split

        check_ramp_met_by_plugging(daemon, gv)

        # Still held without stats, never moved.
        assert gn.vmem_plugged_mib() == 256
        n = daemon.guests()["noballoon"]
        assert "no stats" in n["reason"], n["reason"]
        assert daemon.alive()
        passed = True
    finally:
        teardown(daemon, [gv, gn], passed)


def phase_both_and_stall(image, wd):
    gb = guests.Guest("both", wd, mem_mib=512, vmem_mib=1024, vmem_requested_mib=512,
                      append="memhp_default_state=online_movable", image_dir=image,
                      test_monitor=True)
    gs = guests.Guest("stall", wd, mem_mib=512, vmem_mib=1024, vmem_block_mib=128,
                      vmem_requested_mib=512, append="memhp_default_state=online",
                      image_dir=image, test_monitor=True)
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": "%s %s" % (gb.qmp_path, gs.qmp_path),
                         "Interval": "1s", "StatsPeriod": "1s"})
    passed = False
    try:
        for g in (gb, gs):
            g.start()
        for g in (gb, gs):
            g.wait_ready()
        # Kernel allocations land in ZONE_NORMAL first, where =online puts the
        # plugged blocks: the workload's page tables keep some of them.
        assert gs.alloc(150, 100) == "allocated 150"
        daemon.start()
        t0 = time.monotonic()

        # Both devices: virtio-mem first, then the balloon below boot memory.
        def shrunk():
            g, d = vmem_of(daemon, "both")
            if not d or d["plugged_bytes"] != 0 or g["balloon_actual_bytes"] >= 448 * MIB:
                return None
            return g
        g = wait_for(shrunk, 60, "the guest with both devices to unplug and inflate")
        log("both: plugged 0, balloon %.0f MiB in %.1f s" % (
            g["balloon_actual_bytes"] / MIB, time.monotonic() - t0))
        rs = reasons(daemon, "both")
        for r in rs:
            log("  both: " + r)
        show(daemon)
        # Each target as sent is logged with its reason in full.
        sent = [ln for ln in daemon.log_text().splitlines()
                if "guest both:" in ln and "split:" in ln]
        # Unplugging first: the balloon near boot memory (it takes back the
        # part of the last block not asked for), virtio-mem carrying the rest.
        assert any(re.search(r"split: balloon 51\d\.\d MiB \+ virtio-mem [1-9]", ln)
                   for ln in sent), "\n".join(sent)
        assert any("+ virtio-mem 0 B" in r for r in rs + sent), rs
        assert gb.vmem_plugged_mib() == 0 and gb.balloon_actual_mib() < 448

        # The stalled unplug: the balloon takes what the device keeps.
        def fallback():
            g, d = vmem_of(daemon, "stall")
            if not d or not d["unplug_stalled"]:
                return None
            hit = [r for r in reasons(daemon, "stall") if "unplug stalled at" in r]
            return (g, d, hit[-1]) if hit and g["balloon_actual_bytes"] < 512 * MIB else None
        g, d, reason = wait_for(fallback, 60, "the stalled unplug's fallback to the balloon")
        log("stall: plugged %.0f MiB, requested %.0f MiB, balloon %.0f MiB, total %.0f MiB "
            "after %.1f s: %s" % (d["plugged_bytes"] / MIB, d["requested_bytes"] / MIB,
                                  g["balloon_actual_bytes"] / MIB, g["actual_bytes"] / MIB,
                                  time.monotonic() - t0, reason))
        show(daemon)
        assert d["plugged_bytes"] > d["requested_bytes"], d
        assert "balloon takes" in reason, reason
        assert "virtio-mem unplug stalled at %.1f MiB" % (d["plugged_bytes"] / MIB) in reason
        assert not gs.oom_killed() and not gb.oom_killed()
        assert gs.command("held") == "held 150"
        assert "devices adjusted" in daemon.log_text() or "balloon takes" in daemon.log_text()
        assert daemon.alive()
        passed = True
    finally:
        teardown(daemon, [gb, gs], passed)


def main():
    image = require_guests()
    wd = workdir("memtide-vmem-")
    t = time.monotonic()
    phase_vmem_only(image, wd)
    log("phase 1 done in %.1f s" % (time.monotonic() - t))
    t = time.monotonic()
    phase_both_and_stall(image, wd)
    log("phase 2 done in %.1f s" % (time.monotonic() - t))
    print("PASS")


if __name__ == "__main__":
    run_test(main)
