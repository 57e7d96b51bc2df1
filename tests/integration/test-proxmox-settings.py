#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Settings read from Proxmox VE's VM configs, on real guests: two TCG guests
whose QMP sockets are named as Proxmox names them (101.qmp, 102.qmp) and a
ProxmoxConfigDir= with their 101.conf and 102.conf.

- 101 (memory/balloon/shares set): `memtidectl show` reports the maximum,
  minimum and shares from 101.conf with file:line as their source;
- 102 (`balloon: 0`): not managed, and show says why (102.conf, balloon: 0);
- a [Guest:101] rule in memtide.conf overrides the shares after a reload:
  show says "config"; an edit of 101.conf is seen at the same reload;
- a bad value in 101.conf: the guest is left unmanaged, the source and the
  log name file:line.
"""

import json
import os
import time
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, Daemon, guests, log, require_guests,  # noqa: E402
                     teardown, wait_for, workdir)

CONF_101 = """#Web front end, %s
boot: order=scsi0
cores: 1
memory: 448
balloon: %d
name: web-1
shares: 3000

[before-upgrade]
memory: 2048
balloon: 1024
shares: 10
"""
CONF_102 = """balloon: 0
cores: 1
memory: 384
name: db-1
"""


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def shown(daemon, name):
    r = daemon.ctl("--json", "show", name, check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def check_101(daemon, pve, min_mib):
    g = wait_for(lambda: (lambda s: s if s and s["min_bytes"] == min_mib * MIB else None)(
        shown(daemon, "101")), 30, "101 with the minimum of 101.conf (%d MiB)" % min_mib)
    src = g["settings_sources"]
    conf = os.path.join(pve, "101.conf")
    log("101: min %d max %d shares %d managed %s, sources %s" % (
        g["min_bytes"] / MIB, g["max_bytes"] / MIB, g["shares"], g["managed"], src))
    assert g["managed"] is True, g
    assert g["max_bytes"] == 448 * MIB, g["max_bytes"]
    assert src["max_bytes"] == "proxmox %s:4" % conf, src
    assert src["min_bytes"] == "proxmox %s:5" % conf, src
    assert src["manage"] == "default", src
    return g


def main():
    image = require_guests()
    wd = workdir("memtide-pve-")
    pve = os.path.join(wd, "pve")
    os.mkdir(pve)
    write(os.path.join(pve, "101.conf"), CONF_101 % ("first", 256))
    write(os.path.join(pve, "102.conf"), CONF_102)
    # No free page reporting: the policy squeezes an idle 101 towards its use
    # (about 205 MiB), so 101.conf's minimum is what must stop it.
    g1 = guests.Guest("101", wd, mem_mib=512, free_page_reporting=False, image_dir=image,
                      test_monitor=True)
    g2 = guests.Guest("102", wd, mem_mib=384, image_dir=image)
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": "%s %s" % (g1.qmp_path, g2.qmp_path),
                         "Interval": "1s", "StatsPeriod": "1s", "ProxmoxConfigDir": pve,
                         # its own: other memtided tests may run beside this one
                         "StateDirectory": os.path.join(wd, "state")})
    passed = False
    try:
        g1.start()
        g2.start()
        g1.wait_ready()
        g2.wait_ready()
        daemon.start()

        # 101: memory, balloon and shares of 101.conf, each with its line
        g = check_101(daemon, pve, 256)
        assert g["shares"] == 3000, g
        assert g["settings_sources"]["shares"] == "proxmox %s/101.conf:7" % pve
        text = daemon.ctl("show", "101").stdout
        log("memtidectl show 101:\n" + text)
        assert "Minimum:" in text and "(proxmox %s/101.conf:5)" % pve in text, text
        assert "Shares:" in text and "3000 (proxmox %s/101.conf:7)" % pve in text, text
        # ... and the policy keeps it: squeezed to the minimum, never below
        wait_for(lambda: g1.balloon_actual_mib() <= 264, 60, "101 squeezed to its minimum")
        lows = []
        for _ in range(5):
            lows.append(g1.balloon_actual_mib())
            time.sleep(1)
        log("101 squeezed: balloon %d..%d MiB, minimum 256 MiB (use alone: ~205)" % (
            min(lows), max(lows)))
        assert min(lows) >= 256, lows

        # 102: balloon: 0, so not managed, and show says so and why
        g = wait_for(lambda: shown(daemon, "102"), 30, "102 to be listed")
        log("102: managed %s, manage from %s, reason %s" % (
            g["managed"], g["settings_sources"]["manage"], g["reason"]))
        assert g["managed"] is False, g
        assert g["settings_sources"]["manage"] == \
            "proxmox %s/102.conf:1 (balloon: 0, no balloon device)" % pve, g
        text = daemon.ctl("show", "102").stdout
        assert "Managed:" in text and "no (proxmox %s/102.conf:1 (balloon: 0" % pve in text, text
        wait_for(lambda: "Manage=no" in (shown(daemon, "102")["reason"] or ""), 30,
                 "102's decision to say it is not managed")

        # a [Guest:] rule wins over 101.conf; an edit of 101.conf is read at the reload
        with open(daemon.config, "a") as f:
            f.write("\n[Guest:101]\nShares=500\n")
        write(os.path.join(pve, "101.conf"), CONF_101 % ("edited", 320))
        daemon.ctl("reload")
        g = check_101(daemon, pve, 320)
        assert g["shares"] == 500, g
        assert g["settings_sources"]["shares"] == "config %s [Guest:101]" % daemon.config, g
        assert "500 (config %s [Guest:101])" % daemon.config in daemon.ctl("show", "101").stdout

        # a value memtide cannot use: left unmanaged, file:line in the source and the log
        write(os.path.join(pve, "101.conf"), CONF_101.replace("balloon: %d", "balloon: lots")
              % "broken")
        daemon.ctl("reload")
        g = shown(daemon, "101")
        where = "%s/101.conf:5: balloon: lots" % pve
        log("101 with a bad balloon: managed %s, manage from %s" % (
            g["managed"], g["settings_sources"]["manage"]))
        assert g["managed"] is False and where in g["settings_sources"]["manage"], g
        assert where in daemon.log_text()
        passed = True
        print("PASS")
    finally:
        teardown(daemon, [g1, g2], passed)


if __name__ == "__main__":
    run_test(main)
