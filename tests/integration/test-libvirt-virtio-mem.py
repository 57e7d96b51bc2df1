#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""memtided drives virtio-mem through libvirt (<memory model='virtio-mem'>,
virDomainUpdateDeviceFlags with <requested>, MEMORY_DEVICE_SIZE_CHANGE
events) on real TCG guests under a private libvirtd:

- "lvmem": everything moves through virtio-mem (the balloon is there for
  the guest's stats and kept at boot memory by MinMemory= = boot memory).
  Idle, it is shrunk by unplugging; then its workload allocates 300 MiB at
  50 MiB/s, met by plugging, without an OOM kill, the balloon never moving.
- "lvboth": balloon and virtio-mem: the idle guest is unplugged first, then
  its balloon goes below boot memory; explain shows each split.
- "lvnoballoon": <memballoon model='none'/>, virtio-mem only: managed with
  no balloon, its device listed, held (no balloon driver: no stats).

libvirt's own view (virsh dumpxml's <requested> and <current>) must agree
with what memtided shows."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, Daemon, dump_logs, log, show, wait_for,  # noqa: E402
                     workdir)
from libvirt_harness import Libvirtd  # noqa: E402
from vmem_checks import check_ramp_met_by_plugging, reasons, vmem_of  # noqa: E402

MOVABLE = "memhp_default_state=online_movable"


def libvirt_vmem_kib(lv, name):
    """(requested, current) in KiB from libvirt's live XML."""
    x = lv.virsh("dumpxml", name).stdout
    dev = re.search(r"<memory model='virtio-mem'>.*?</memory>", x, re.S).group(0)
    get = lambda tag: int(re.search(r"<%s unit='KiB'>(\d+)</%s>" % (tag, tag), dev).group(1))
    return get("requested"), get("current")


def check_discovered(daemon):
    g = wait_for(lambda: daemon.guests().get("lvmem"), 60, "lvmem to be managed")
    d = g["virtio_mem"][0]
    assert d["id"] == "virtiomem0" and d["driven"], d
    assert d["block_bytes"] == 2 * MIB and d["max_bytes"] == 1024 * MIB, d
    assert g["boot_bytes"] == 256 * MIB and g["max_bytes"] == (256 + 1024) * MIB, g
    assert g["balloon_actual_bytes"] == 256 * MIB, g
    out = daemon.ctl("show", "lvmem").stdout
    log("memtidectl show lvmem:\n" + out)
    assert "virtiomem0" in out, out
    assert "virtio-mem virtiomem0 (block 2.0 MiB" in daemon.log_text()


def check_no_balloon(daemon):
    n = wait_for(lambda: daemon.guests().get("lvnoballoon"), 30, "lvnoballoon to be managed")
    assert n["balloon_actual_bytes"] is None and n["boot_bytes"] == 256 * MIB, n
    d = n["virtio_mem"][0]
    assert d["id"] == "virtiomem0" and d["driven"] and d["plugged_bytes"] == 256 * MIB, d
    assert n["actual_bytes"] == 512 * MIB and n["max_bytes"] == 768 * MIB, n
    assert "no stats" in n["reason"], n["reason"]
    assert "guest lvnoballoon: managed: virtio-mem virtiomem0" in daemon.log_text()


def check_idle_unplugged(daemon, lv, gv, t0):
    def unplugged():
        g, d = vmem_of(daemon, "lvmem")
        if not d or d["requested_bytes"] > 64 * MIB or d["plugged_bytes"] != d["requested_bytes"]:
            return None
        return g, d
    g, d = wait_for(unplugged, 90, "the idle virtio-mem guest to be unplugged")
    log("lvmem: unplugged from 512 to %.0f MiB in %.1f s, total %.0f MiB" % (
        d["plugged_bytes"] / MIB, time.monotonic() - t0, g["actual_bytes"] / MIB))
    requested, current = libvirt_vmem_kib(lv, "lvmem")
    assert requested * 1024 == d["requested_bytes"] and current * 1024 == d["plugged_bytes"], \
        (requested, current, d)
    assert gv.vmem_plugged_mib() == d["plugged_bytes"] // MIB
    assert gv.balloon_actual_mib() >= 254, "the balloon moved: %d" % gv.balloon_actual_mib()
    split = reasons(daemon, "lvmem")
    assert any("split: balloon 256.0 MiB + virtio-mem" in r for r in split), split


def check_both(daemon, gb, t0):
    def shrunk():
        g, d = vmem_of(daemon, "lvboth")
        if not d or d["plugged_bytes"] != 0 or g["balloon_actual_bytes"] >= 448 * MIB:
            return None
        return g
    g = wait_for(shrunk, 90, "the guest with both devices to unplug and inflate")
    log("lvboth: plugged 0, balloon %.0f MiB in %.1f s" % (
        g["balloon_actual_bytes"] / MIB, time.monotonic() - t0))
    rs = reasons(daemon, "lvboth")
    sent = [ln for ln in daemon.log_text().splitlines() if "guest lvboth:" in ln and "split:" in ln]
    for r in rs:
        log("  lvboth: " + r)
    # unplugging first (the balloon near boot memory), then the balloon alone
    assert any(re.search(r"split: balloon 51\d\.\d MiB \+ virtio-mem [1-9]", ln)
               for ln in sent), "\n".join(sent)
    assert any("+ virtio-mem 0 B" in r for r in rs + sent), rs
    assert gb.vmem_plugged_mib() == 0 and gb.balloon_actual_mib() < 448


def main():
    wd = workdir("memtide-lvmem-")
    with Libvirtd() as lv:
        gv = lv.define_guest("lvmem", mem_mib=256, vmem_mib=1024, vmem_requested_mib=512,
                             append=MOVABLE)
        gb = lv.define_guest("lvboth", mem_mib=512, vmem_mib=1024, vmem_requested_mib=512,
                             append=MOVABLE)
        gn = lv.define_guest("lvnoballoon", mem_mib=256, vmem_mib=512, vmem_requested_mib=256,
                             append=MOVABLE, balloon=False)
        for g in (gv, gb, gn):
            g.wait_ready(180)
        wait_for(lambda: gv.vmem_plugged_mib() == 512 and gb.vmem_plugged_mib() == 512
                 and gn.vmem_plugged_mib() == 256, 60, "the guests' initial virtio-mem plug")
        daemon = Daemon(wd, {"Backend": "libvirt", "LibvirtURI": lv.uri, "Interval": "1s",
                             "StatsPeriod": "1s"},
                        guest_sections="[Guest:lvmem]\nMinMemory=256M\n")
        passed = False
        try:
            daemon.start()
            t0 = time.monotonic()
            check_discovered(daemon)
            check_idle_unplugged(daemon, lv, gv, t0)
            check_both(daemon, gb, t0)
            check_no_balloon(daemon)
            show(daemon)
            check_ramp_met_by_plugging(daemon, gv)
            assert not gb.oom_killed()
            assert gn.vmem_plugged_mib() == 256, "lvnoballoon moved"
            assert daemon.alive()
            passed = True
            print("PASS")
        finally:
            daemon.stop()
            if not passed:
                dump_logs(daemon, [gv, gb, gn])
                print("---- libvirtd log (tail) ----\n" + lv.log_text()[-3000:])


if __name__ == "__main__":
    run_test(main)
