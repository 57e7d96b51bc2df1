#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Settings read from libvirt domain definitions, with Backend=libvirt on a
real TCG guest under a private, unprivileged libvirtd.

- libvirt's QEMU driver refuses <memtune><min_guarantee> (what MOM reads):
  checked, so that a libvirt that starts accepting it is noticed;
- a guest whose definition has oVirt's minGuaranteedMemoryMb metadata (where
  oVirt keeps the guarantee on QEMU) and <currentMemory> 384 of 512 MiB:
  `memtidectl show` reports the minimum with its libvirt source and the
  configured current memory;
- the definition redefined while the guest runs (virsh define): the new
  minimum is read at libvirt's DEFINED event;
- a [Guest:] rule overrides the minimum after a reload: show says "config".
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, Daemon, dump_logs, log, wait_for, workdir)  # noqa: E402
from libvirt_harness import Libvirtd, LibvirtGuest  # noqa: E402

OVIRT = ("<metadata><ovirt-vm:vm xmlns:ovirt-vm='http://ovirt.org/vm/1.0'>"
         "<ovirt-vm:minGuaranteedMemoryMb type='int'>%d</ovirt-vm:minGuaranteedMemoryMb>"
         "</ovirt-vm:vm></metadata>\n  <memory")
MIN_SOURCE = "libvirt metadata ovirt-vm:minGuaranteedMemoryMb"


class SettingsGuest(LibvirtGuest):
    """A test guest whose definition carries oVirt's guaranteed memory."""

    min_mib = 200

    def domain_xml(self):
        return super().domain_xml().replace("<memory", OVIRT % self.min_mib, 1)


def define(lv, g):
    path = os.path.join(lv.dir, g.name + ".xml")
    with open(path, "w") as f:
        f.write(g.domain_xml())
    return lv.virsh("define", path, check=False)


def check_min_guarantee_refused(lv):
    g = LibvirtGuest(lv, "mg", mem_mib=256)
    xml = g.domain_xml().replace(
        "<vcpu>", "<memtune><min_guarantee unit='MiB'>128</min_guarantee></memtune>\n  <vcpu>")
    path = os.path.join(lv.dir, "mg.xml")
    with open(path, "w") as f:
        f.write(xml)
    r = lv.virsh("define", path, check=False)
    log("virsh define with <memtune><min_guarantee>: exit %d: %s" % (r.returncode,
                                                                     r.stderr.strip()))
    assert r.returncode != 0 and "min_guarantee" in r.stderr, \
        "libvirt's QEMU driver accepted min_guarantee now: test its use (%s)" % r


def shown(daemon, name):
    r = daemon.ctl("--json", "show", name, check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def with_min(daemon, name, mib):
    g = shown(daemon, name)
    return g if g and g["min_bytes"] == mib * MIB else None


def main():
    wd = workdir("memtide-lvset-")
    daemon = None
    passed = False
    with Libvirtd() as lv:
        try:
            check_min_guarantee_refused(lv)
            g = SettingsGuest(lv, "lv-set", mem_mib=384, max_mib=512)
            lv.guests[g.name] = g
            r = define(lv, g)
            assert r.returncode == 0, r.stderr
            g.start()
            daemon = Daemon(wd, {"Backend": "libvirt", "LibvirtURI": lv.uri, "Interval": "1s",
                                 "StatsPeriod": "1s",
                                 "StateDirectory": os.path.join(wd, "state")})
            daemon.start()

            got = wait_for(lambda: with_min(daemon, "lv-set", 200), 60,
                           "lv-set with its oVirt minimum (200 MiB)")
            src = got["settings_sources"]
            log("lv-set: min %d MiB from %s, current (libvirt) %s" % (
                got["min_bytes"] / MIB, src["min_bytes"], got["libvirt_current_memory_bytes"]))
            assert src["min_bytes"] == MIN_SOURCE, src
            assert src["shares"] == "default" and src["max_bytes"] == "default", src
            assert got["libvirt_current_memory_bytes"] == 384 * MIB, got
            text = daemon.ctl("show", "lv-set").stdout
            log("memtidectl show lv-set:\n" + text)
            assert "200.0 MiB (%s)" % MIN_SOURCE in text, text
            assert "Current (libvirt):" in text and "384.0 MiB" in text, text

            # redefined while running: libvirt's DEFINED event brings the new value
            g.min_mib = 240
            r = define(lv, g)
            assert r.returncode == 0, r.stderr
            wait_for(lambda: with_min(daemon, "lv-set", 240), 30,
                     "the minimum of the new definition (240 MiB)")
            log("redefined: min 240 MiB read at the DEFINED event")

            # a [Guest:] rule wins over the definition
            with open(daemon.config, "a") as f:
                f.write("\n[Guest:lv-set]\nMinMemory=300M\n")
            daemon.ctl("reload")
            got = wait_for(lambda: with_min(daemon, "lv-set", 300), 10, "the rule's 300 MiB")
            assert got["settings_sources"]["min_bytes"] == \
                "config %s [Guest:lv-set]" % daemon.config, got
            passed = True
            print("PASS")
        finally:
            if daemon:
                daemon.stop()
                if not passed:
                    dump_logs(daemon, [])


if __name__ == "__main__":
    run_test(main)
