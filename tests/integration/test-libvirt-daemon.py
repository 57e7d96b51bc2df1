#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""memtided with Backend=libvirt on real TCG guests under a private,
unprivileged libvirtd: an idle guest is squeezed and a guest that allocates
300 MiB at 50 MiB/s gets memory back without an OOM kill; a guest destroyed,
one started and one suspended are followed through events within a cycle;
libvirtd killed and restarted is reconnected within 10 s; libvirtd frozen
(SIGSTOP) for 30 s leaves memtidectl status answering within 1 s and the
backend reported unreachable, and SIGCONT recovers; a reload that changes
StatsPeriod= sets the new period on the running domains at once, and one made
while libvirtd is down sets it when memtided reconnects; a reload that
changes LibvirtURI= is restart-only, and status and the log say so."""

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, Daemon, dump_logs, log, squeezed, wait_for, workdir)  # noqa: E402
from libvirt_harness import Libvirtd  # noqa: E402


def status(daemon):
    t = time.monotonic()
    r = daemon.ctl("--json", "status", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None, time.monotonic() - t


def managed(daemon, name):
    return daemon.guests().get(name)


def check_squeeze_and_grow(daemon, idle, worker):
    g = wait_for(lambda: squeezed(daemon, "lv-idle"), 90, "the idle libvirt guest to be squeezed")
    log("lv-idle squeezed to %.0f MiB (floor %.0f MiB)" % (g["actual_bytes"] / MIB,
                                                          g["floor_bytes"] / MIB))
    wait_for(lambda: (managed(daemon, "lv-work") or {}).get("actual_bytes", 1 << 40) < 300 * MIB,
             90, "the worker to be squeezed too")
    worker.wait_workload()
    reply = worker.alloc(300, 50, timeout=180)
    assert reply == "allocated 300", reply
    assert not worker.oom_killed(), worker.console_text()[-2000:]
    got = managed(daemon, "lv-work")
    log("lv-work after allocating: actual %.0f MiB" % (got["actual_bytes"] / MIB))
    assert got["actual_bytes"] >= 300 * MIB and got["backend"] == "libvirt", got


def check_budget_finds_qemu(daemon, lv):
    """GuestMemoryBudget=auto with libvirt guests: their QEMUs are found by
    -uuid, so the budget looks in their cgroup (the private libvirtd's,
    which has no limit) instead of saying no QEMU is known."""
    want = "GuestMemoryBudget=auto: no memory cgroup with a limit holds the guests (from cgroup"
    st = wait_for(lambda: (lambda s: s if s and want in (s["budget"]["problem"] or "") else None)(
        status(daemon)[0]), 20, "status to name the guests' cgroup")
    b = st["budget"]
    log("libvirt guests, GuestMemoryBudget=auto: %s" % b["problem"])
    pids = lv.qemu_pids()
    with open("/proc/%d/cgroup" % pids[0]) as f:
        line = next((ln for ln in f if ":memory:" in ln or ln.startswith("0::")), "")
    assert line.strip().split(":", 2)[2] in b["problem"], (line, b)


def check_lifecycle(daemon, lv, idle):
    idle.suspend()
    wait_for(lambda: (managed(daemon, "lv-idle") or {}).get("paused"), 3, "suspend seen")
    idle.resume()
    wait_for(lambda: not managed(daemon, "lv-idle")["paused"], 3, "resume seen")
    new = lv.define_guest("lv-new", mem_mib=384)
    wait_for(lambda: managed(daemon, "lv-new"), 5, "the started guest to be picked up")
    lv.virsh("destroy", "lv-new")
    wait_for(lambda: not managed(daemon, "lv-new"), 3, "the destroyed guest to be dropped")
    new.kill()


def check_uri_change_needs_restart(daemon, lv):
    """LibvirtURI= takes effect at the next restart: after a reload that
    changes it, status still names the URI in use and the log says so."""
    with open(daemon.config) as f:
        text = f.read()
    other = "qemu:///session?socket=/nonexistent/libvirt-sock"
    with open(daemon.config, "w") as f:
        f.write(re.sub(r"(?m)^LibvirtURI=.*$", "LibvirtURI=" + other, text))
    daemon.ctl("reload")
    st = status(daemon)[0]["libvirt"]
    assert st["uri"] == lv.uri and st["state"] == "connected", st
    wait_for(lambda: "LibvirtURI= changed to %s: takes effect at the next restart" % other
             in daemon.log_text(), 5, "the restart notice in the log")
    with open(daemon.config, "w") as f:
        f.write(text)
    daemon.ctl("reload")
    log("LibvirtURI= changed by a reload: status keeps the URI in use, the log says restart")


def compat(daemon, name):
    r = daemon.ctl("--json", "compat", name, check=False)
    return json.loads(r.stdout)["compat"] if r.returncode == 0 else {}


def check_compat_passthrough(wd, lv):
    """Off by default (libvirt would taint the domain); on, the live verdict works."""
    daemon = Daemon(wd, {"Backend": "libvirt", "LibvirtURI": lv.uri, "Interval": "1s",
                         "StatsPeriod": "1s", "LibvirtQMPPassthrough": "yes"})
    daemon.log_path = os.path.join(wd, "memtided-passthrough.log")
    try:
        daemon.start()
        c = wait_for(lambda: compat(daemon, "lv-idle").get("verdict") == "agree"
                     and compat(daemon, "lv-idle"), 40, "a verdict through libvirt")
        log("with passthrough: %s" % c["reason"])
        assert c["queues_set_up"] == [0, 1, 2, 3], c
    finally:
        daemon.stop()


def check_restart(daemon, lv):
    lv.kill()
    wait_for(lambda: not status(daemon)[0]["libvirt"]["reachable"], 10, "the loss to be seen")
    t = time.monotonic()
    lv.start()
    wait_for(lambda: status(daemon)[0]["libvirt"]["state"] == "connected", 10,
             "memtided to reconnect")
    log("reconnected %.1f s after libvirtd came back" % (time.monotonic() - t))
    wait_for(lambda: managed(daemon, "lv-idle") and managed(daemon, "lv-work"), 10,
             "the guests after reconnecting")


def check_freeze(daemon, lv):
    lv.freeze()
    worst, unreachable = 0.0, False
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            st, took = status(daemon)
            assert st is not None, "memtidectl status failed during the freeze"
            worst = max(worst, took)
            unreachable |= not st["libvirt"]["reachable"]
            time.sleep(1)
    finally:
        lv.thaw()
    log("during a 30 s freeze: status answered within %.3f s at worst" % worst)
    assert worst < 1.0 and unreachable, (worst, unreachable)
    wait_for(lambda: status(daemon)[0]["libvirt"]["reachable"], 60, "recovery after SIGCONT")
    wait_for(lambda: managed(daemon, "lv-idle"), 30, "the guests after the freeze")


def live_stats_period(lv, name):
    """The period in the live domain XML's <memballoon>, None without one."""
    xml = lv.virsh("dumpxml", name).stdout
    balloon = re.search(r"<memballoon\b.*?</memballoon>", xml, re.S)
    m = balloon and re.search(r"<stats period='(\d+)'/>", balloon.group(0))
    return int(m.group(1)) if m else None


def reload_stats_period(daemon, seconds):
    with open(daemon.config) as f:
        text = f.read()
    with open(daemon.config, "w") as f:
        f.write(re.sub(r"(?m)^StatsPeriod=.*$", "StatsPeriod=%ds" % seconds, text))
    daemon.ctl("reload")


def wait_stats_period(lv, seconds, timeout, what):
    for name in ("lv-idle", "lv-work"):
        try:
            wait_for(lambda: live_stats_period(lv, name) == seconds, timeout,
                     "period %d s in %s's live XML %s" % (seconds, name, what))
        except AssertionError as e:
            raise AssertionError("%s (it is %s)" % (e, live_stats_period(lv, name)))


def check_stats_period_reload(daemon, lv):
    for name in ("lv-idle", "lv-work"):
        assert live_stats_period(lv, name) == 1, (name, live_stats_period(lv, name))
    t = time.monotonic()
    reload_stats_period(daemon, 3)
    wait_stats_period(lv, 3, 10, "after the reload")
    log("StatsPeriod=3s reloaded: set on the running domains in %.1f s" % (time.monotonic() - t))
    wait_for(lambda: "stats period 3 s applied to 2 guest(s)" in daemon.log_text(), 5,
             "the reload's outcome in the log")

    # while libvirtd is down: kept, and set when memtided reconnects
    lv.kill()
    wait_for(lambda: not status(daemon)[0]["libvirt"]["reachable"], 10, "the loss to be seen")
    reload_stats_period(daemon, 2)
    wait_for(lambda: "stats period 2 s set on the guests once reconnected" in daemon.log_text(),
             5, "the deferred period in the log")
    lv.start()
    wait_stats_period(lv, 2, 20, "after reconnecting")
    log("StatsPeriod=2s reloaded while libvirtd was down: set after reconnecting")


def main():
    wd = workdir("memtide-lvd-")
    with Libvirtd() as lv:
        idle = lv.define_guest("lv-idle", mem_mib=512)
        worker = lv.define_guest("lv-work", mem_mib=512)
        idle.wait_ready(180)
        worker.wait_ready(180)
        daemon = Daemon(wd, {"Backend": "libvirt", "LibvirtURI": lv.uri, "Interval": "1s",
                             "StatsPeriod": "1s", "GuestMemoryBudget": "auto"})
        passed = False
        try:
            daemon.start()
            check_budget_finds_qemu(daemon, lv)
            check_squeeze_and_grow(daemon, idle, worker)
            c = compat(daemon, "lv-idle")
            assert c["verdict"] == "unknown" and "passthrough disabled" in c["reason"], c
            check_lifecycle(daemon, lv, idle)
            check_restart(daemon, lv)
            check_freeze(daemon, lv)
            check_stats_period_reload(daemon, lv)
            check_uri_change_needs_restart(daemon, lv)
            assert daemon.alive()
            daemon.stop()
            check_compat_passthrough(wd, lv)
            passed = True
            print("PASS")
        finally:
            daemon.stop()
            if not passed:
                dump_logs(daemon, [idle, worker])
                print("---- libvirtd log (tail) ----\n" + lv.log_text()[-3000:])


if __name__ == "__main__":
    run_test(main)
