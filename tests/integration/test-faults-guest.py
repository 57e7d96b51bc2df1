#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Fault injection, guest side, four real guests under one memtided:

(a) "paused": QEMU stopped with QMP `stop` (on its test monitor) for 60 s
    while memtided is squeezing it. memtided sees the STOP event (paused in
    list, a log line) and RESUME after. Its stats go stale: memtided keeps it
    (the monitor still answers), says so (reason "stats stale" in list and
    explain, stats_fresh false), sends it no inflation once the stats are
    stale, and its balloon never shrinks; after `cont` management resumes
    (fresh stats, squeezed further).
(b) "nob": booted with memtide.no_balloon=1 (tests/guest/init skips the
    virtio_balloon module), so its stats never arrive: memtided never sends
    it a balloon target and its balloon stays at boot size the whole run
    (70 s+), while "survivor" next to it is squeezed.
(c) "victim": SIGKILLed right after memtided sends it a balloon command
    (as soon as the log shows its first "target" line): dropped cleanly,
    memtided keeps running, "survivor" keeps being managed (gets memory when
    it allocates).
memtidectl status answers within 1 s throughout."""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_qmp import StatusProbe  # noqa: E402
from harness import (run_test, MIB, Daemon, guests, log, require_guests, show,  # noqa: E402
                     teardown, wait_for, workdir)

PAUSE_SECONDS = 60
TARGET_RE = re.compile(r"^guest (\S+): target ([0-9.]+) MiB: (.*)$", re.M)


def targets(text, name):
    return [(float(m.group(2)), m.group(3)) for m in TARGET_RE.finditer(text) if m.group(1) == name]


def squeezed(g):
    return g and g["floor_bytes"] and g["actual_bytes"] < 0.6 * 512 * MIB and \
        g["actual_bytes"] <= 1.3 * g["floor_bytes"]


def main():
    image = require_guests()
    wd = workdir("memtide-fguest-")
    paused = guests.Guest("paused", wd, mem_mib=512, image_dir=image, test_monitor=True)
    nob = guests.Guest("nob", wd, mem_mib=512, image_dir=image, test_monitor=True,
                       append="memtide.no_balloon=1")
    victim = guests.Guest("victim", wd, mem_mib=512, image_dir=image)
    survivor = guests.Guest("survivor", wd, mem_mib=512, image_dir=image, test_monitor=True)
    every = (paused, nob, victim, survivor)
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": " ".join(g.qmp_path for g in every),
                         "Interval": "1s", "StatsPeriod": "1s"})
    probe = None
    passed = False
    try:
        for g in every:
            g.start()
        for g in every:
            g.wait_ready()
        assert "virtio_balloon not loaded" in nob.console_text(), nob.console_text()[-1500:]
        assert "virtio_balloon not loaded" not in paused.console_text()
        daemon.start()
        probe = StatusProbe(daemon).start()
        t_start = time.monotonic()

        # (c) kill the victim right after its first balloon command
        wait_for(lambda: "guest victim: target" in daemon.log_text(), 30,
                 "memtided to send the victim a balloon target", 0.02)
        victim.kill()
        t_kill = time.monotonic()
        log("victim killed right after: %s" % [ln for ln in daemon.log_text().splitlines()
                                                if ln.startswith("guest victim: target")][0])

        # (a) pause the guest once memtided has started squeezing it
        wait_for(lambda: paused.balloon_actual_mib() < 490, 30, "memtided to inflate 'paused'", 0.1)
        paused.qmp("stop")
        t_pause = time.monotonic()
        at_pause = paused.balloon_actual_mib()
        log("paused at balloon %.0f MiB" % at_pause)

        wait_for(lambda: "victim" not in daemon.guests(), 10, "the killed guest to be dropped")
        log("victim dropped after %.1f s" % (time.monotonic() - t_kill))
        assert "guest victim: connection dropped" in daemon.log_text()

        # while paused: stale, kept, not inflated; meanwhile (b) and (c)
        stale_seen = False
        paused_seen = False
        stale_mark = None
        lowest = at_pause
        nob_sizes = set()
        survivor_grew = None
        before = None
        while time.monotonic() - t_pause < PAUSE_SECONDS:
            lst = daemon.guests()
            assert "paused" in lst, "the paused guest was dropped: %s" % [
                ln for ln in daemon.log_text().splitlines() if "guest paused" in ln][-3:]
            p = lst["paused"]
            paused_seen = paused_seen or p["paused"]
            lowest = min(lowest, paused.balloon_actual_mib())
            if not p["stats_fresh"]:
                if stale_mark is None:
                    stale_mark = len(daemon.log_text())
                    log("stats stale after %.1f s: %s" % (time.monotonic() - t_pause, p["reason"]))
                stale_seen = stale_seen or "stats stale" in (p["reason"] or "")
            nob_sizes.add(nob.balloon_actual_mib())
            assert "nob" in lst, "the guest without a balloon driver is not listed"
            nob_sizes.add(lst["nob"]["actual_bytes"] / MIB)
            s = lst.get("survivor")
            if before is None and squeezed(s):
                log("survivor squeezed to %.0f MiB %.0f s after the start, allocating" % (
                    s["actual_bytes"] / MIB, time.monotonic() - t_start))
                show(daemon)
                before = s["actual_bytes"]
                reply = survivor.alloc(150, 50, timeout=60)
                assert reply == "allocated 150", reply
                assert not survivor.oom_killed(), survivor.console_text()[-2000:]
            elif before is not None and survivor_grew is None and \
                    s["actual_bytes"] > before + 100 * MIB:
                survivor_grew = s["actual_bytes"]
                log("survivor got memory: %.0f -> %.0f MiB" % (before / MIB, survivor_grew / MIB))
            time.sleep(0.5)
        show(daemon)
        explain = json.loads(daemon.ctl("--json", "explain", "paused").stdout)["guests"][0]
        last = explain["decisions"][-1]
        log("explain paused, last decision: %s (stats_fresh %s, age %s s)" % (
            last["reason"], last["inputs"]["stats_fresh"], last["inputs"]["stats_age_seconds"]))
        text = daemon.log_text()

        # (a) checks
        assert stale_mark is not None, "the paused guest's stats never went stale"
        assert stale_seen, "no 'stats stale' reason for the paused guest"
        assert paused_seen, "the STOP event never showed as paused in memtidectl list"
        assert "guest paused: paused (STOP event)" in text, "no log line for the STOP event"
        assert not last["inputs"]["stats_fresh"] and "stats stale" in last["reason"], last
        after_stale = targets(text[stale_mark:], "paused")
        assert not [t for t in after_stale if t[0] < at_pause - 1], \
            "inflation sent to the paused guest on stale stats: %s" % after_stale
        assert lowest >= at_pause - 1, "paused balloon shrank from %.0f to %.0f MiB" % (
            at_pause, lowest)
        # (b) checks
        log("nob balloon sizes seen: %s MiB" % sorted(nob_sizes))
        assert nob_sizes == {512.0}, "the guest without a balloon driver moved: %s" % nob_sizes
        assert not targets(text, "nob"), "balloon target sent to nob: %s" % targets(text, "nob")
        nob_reason = daemon.guests()["nob"]["reason"]
        log("nob: %s" % nob_reason)
        # (c) checks
        assert before is not None, "survivor was never squeezed"
        assert survivor_grew, "survivor did not get memory after the kill"

        # resume: fresh stats, new decisions, squeezed further. A target sent in
        # the seconds before the stats went stale waits in QEMU and lands at
        # cont: management must go beyond it.
        queued = [t for t, _ in targets(text[:stale_mark], "paused")]
        floor_mib = min([at_pause] + queued)
        log("targets sent to 'paused' before its stats went stale: %s MiB" % queued)
        cont_mark = len(daemon.log_text())
        paused.qmp("cont")
        t_cont = time.monotonic()
        wait_for(lambda: not daemon.guests()["paused"]["paused"], 5, "RESUME seen as running")
        wait_for(lambda: daemon.guests()["paused"]["stats_fresh"], 15, "fresh stats after cont")
        wait_for(lambda: targets(daemon.log_text()[cont_mark:], "paused"), 15,
                 "a new balloon target for the resumed guest")
        wait_for(lambda: paused.balloon_actual_mib() < floor_mib - 30, 30,
                 "the resumed guest to be squeezed further")
        log("after cont: fresh stats and squeezed to %.0f MiB in %.1f s" % (
            paused.balloon_actual_mib(), time.monotonic() - t_cont))
        show(daemon)
        assert nob.balloon_actual_mib() == 512 and not targets(daemon.log_text(), "nob")
        probe.finish(1.0)
        passed = True
        print("PASS")
    finally:
        teardown(daemon, every, passed, probe)


if __name__ == "__main__":
    run_test(main)
