#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Fault injection, host memory pressure spike. memtided reads its host
figures from $MEMTIDE_PROC_ROOT (lib/host/host.c); here that is a directory the
test writes: copies of /proc/meminfo, /proc/pressure/memory and /proc/vmstat
(and links to the guests' /proc/PID for their RSS). Two real guests are
squeezed; "spare" (free page reporting off) then allocates and frees 200 MiB
so that it holds spare memory the policy keeps while the host has room (its
recent peak). Then the host spikes: PSI some and full avg10 rise, MemAvailable
falls under the reserve; meanwhile "needy" allocates into distress.

Asserts the behaviour issue 7 asks for ("the policy stops all inflation and
starts deflating the guests in distress first"):
  - no inflation while the pressure is high: no inflating balloon target is
    sent once the host figures show the pressure, and neither guest's balloon
    shrinks (query-balloon on the test monitor; from 1.5 s after, when a
    command sent before the spike has landed);
  - the guest in distress is deflated (gets memory, no OOM kill);
and memtidectl status answers within 1 s throughout. When the pressure is
gone, management carries on (the spare memory may be squeezed again).

NOTE: written against the issue, not the code. policy/adaptive.c as of this
test reads host pressure from MemAvailable and PSI *some* (full is not used)
and answers it by narrowing headroom and dropping the peak extra, i.e. by
inflating; the lead is to bring the policy in line (see the report of the
fault-injection work)."""

import json
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_qmp import StatusProbe  # noqa: E402
from harness import (run_test, MIB, Daemon, guests, log, require_guests, show,  # noqa: E402
                     teardown, wait_for, workdir)

TARGET_RE = re.compile(r"^guest (\S+): target ([0-9.]+) MiB: (.*)$")


class FakeProc:
    """The directory memtided reads as /proc."""

    def __init__(self, root):
        self.root = root
        os.makedirs(os.path.join(root, "pressure"))
        with open("/proc/meminfo") as f:
            self.meminfo = f.read()
        self.total_kib = int(re.search(r"^MemTotal:\s+(\d+)", self.meminfo, re.M).group(1))
        self.available_kib = int(re.search(r"^MemAvailable:\s+(\d+)", self.meminfo, re.M).group(1))
        shutil.copyfile("/proc/vmstat", os.path.join(root, "vmstat"))
        self.set(self.available_kib, 0.0, 0.0)

    def link_pid(self, pid):
        os.symlink("/proc/%d" % pid, os.path.join(self.root, str(pid)))

    def _write(self, name, text):
        p = os.path.join(self.root, name)
        with open(p + ".tmp", "w") as f:
            f.write(text)
        os.rename(p + ".tmp", p)

    def set(self, available_kib, some10, full10):
        text = re.sub(r"^(MemAvailable:\s+)\d+", lambda m: m.group(1) + str(int(available_kib)),
                      self.meminfo, flags=re.M)
        self._write("meminfo", text)
        self._write("pressure/memory",
                    "some avg10=%.2f avg60=%.2f avg300=%.2f total=%d\n"
                    "full avg10=%.2f avg60=%.2f avg300=%.2f total=%d\n" % (
                        some10, some10 / 2, some10 / 4, int(some10 * 1e6),
                        full10, full10 / 2, full10 / 4, int(full10 * 1e6)))


def targets_since(daemon, offset):
    """(guest, target MiB, reason) of the balloon commands logged after offset."""
    out = []
    for line in daemon.log_text()[offset:].splitlines():
        m = TARGET_RE.match(line)
        if m:
            out.append((m.group(1), float(m.group(2)), m.group(3)))
    return out


def main():
    image = require_guests()
    wd = workdir("memtide-fpsi-")
    proc = FakeProc(os.path.join(wd, "proc"))
    spare = guests.Guest("spare", wd, mem_mib=512, image_dir=image, test_monitor=True,
                         free_page_reporting=False)
    needy = guests.Guest("needy", wd, mem_mib=512, image_dir=image, test_monitor=True)
    both = (spare, needy)
    os.environ["MEMTIDE_PROC_ROOT"] = proc.root
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": "%s %s" % (spare.qmp_path, needy.qmp_path),
                         "Interval": "1s", "StatsPeriod": "1s"})
    probe = None
    passed = False
    try:
        for g in both:
            g.start()
        for g in both:
            g.wait_ready()
            proc.link_pid(g.pid)
        daemon.start()
        probe = StatusProbe(daemon).start()
        wait_for(lambda: len(daemon.guests()) == 2, 30, "both guests to be managed")
        wait_for(lambda: all(g["actual_bytes"] < 0.6 * 512 * MIB and g["floor_bytes"]
                             and g["actual_bytes"] <= 1.3 * g["floor_bytes"]
                             for g in daemon.guests().values()), 60, "both guests to be squeezed")
        log("both squeezed")
        show(daemon)

        # spare takes 200 MiB and gives it back: the policy keeps its peak while
        # the host has room, so spare holds memory it does not use
        assert spare.alloc(200, 50, timeout=90) == "allocated 200"
        wait_for(lambda: daemon.guests()["spare"]["actual_bytes"] > 300 * MIB, 20,
                 "spare to get its memory")
        assert spare.command("free").startswith("freed 200")
        time.sleep(2)
        show(daemon)
        held = spare.balloon_actual_mib()
        used = (daemon.guests()["spare"]["used_bytes"] or 0) / MIB
        log("spare holds %.0f MiB, uses %.0f MiB" % (held, used))
        assert held > used + 150, "spare was squeezed before the spike: nothing to test"

        # the spike: every cycle that starts after the files are written sees it
        low = proc.total_kib * 0.02
        mark = len(daemon.log_text())
        proc.set(low, 60.0, 30.0)
        t0 = time.monotonic()
        wait_for(lambda: (json.loads(daemon.ctl("--json", "status").stdout)["host"] or {}).get(
            "psi_full_avg10_percent") == 30.0, 10, "memtided to see the pressure", 0.1)
        # a command sent before the spike may still be landing
        time.sleep(1.5)
        log("pressure up: MemAvailable %.0f MiB of %.0f, PSI some 60 %%, full 30 %%" % (
            low / 1024, proc.total_kib / 1024))
        start = {g.name: g.balloon_actual_mib() for g in both}
        lowest = dict(start)
        needy_before = start["needy"]

        # needy allocates into distress while the host is under pressure
        needy.send("alloc 150 25")
        reply = None
        while time.monotonic() - t0 < 25:
            for g in both:
                lowest[g.name] = min(lowest[g.name], g.balloon_actual_mib())
            try:
                reply = reply or needy.read_line(timeout=0.3)
            except guests.GuestError:
                pass
            if reply and time.monotonic() - t0 > 12:
                break
        show(daemon)
        sent = targets_since(daemon, mark)
        for name, mib_, reason in sent:
            log("  under pressure: %s -> %.1f MiB: %s" % (name, mib_, reason))
        log("balloon 1.5 s into the spike %s, lowest after %s" % (
            {k: round(v) for k, v in start.items()}, {k: round(v) for k, v in lowest.items()}))

        assert reply == "allocated 150", "needy's allocation: %r\n%s" % (
            reply, needy.console_text()[-2000:])
        assert not needy.oom_killed(), needy.console_text()[-2000:]
        grew = needy.balloon_actual_mib() - needy_before
        assert grew >= 100, "the guest in distress got only %.0f MiB under pressure" % grew
        assert any(n == "needy" and "deflate" in r for n, _, r in sent), sent
        # The issue: no inflation while the host is under pressure.
        inflations = [(n, t, r) for n, t, r in sent if r.startswith("inflate")]
        assert not inflations, ("inflation under host pressure (issue 7: the policy must stop "
                                "all inflation): %s" % inflations)
        for name in start:
            assert lowest[name] >= start[name] - 4, \
                "%s's balloon shrank from %.0f to %.0f MiB under host pressure" % (
                    name, start[name], lowest[name])

        # pressure gone: management carries on
        proc.set(proc.available_kib, 0.0, 0.0)
        c0 = json.loads(daemon.ctl("--json", "status").stdout)["daemon"]["cycles"]
        time.sleep(3)
        st = json.loads(daemon.ctl("--json", "status").stdout)
        assert st["daemon"]["cycles"] >= c0 + 2, "the cycle stopped"
        assert st["host"]["psi_full_avg10_percent"] == 0.0, st["host"]
        lst = daemon.guests()
        assert sorted(lst) == ["needy", "spare"] and all(g["stats_fresh"] for g in lst.values()), lst
        assert needy.command("held") == "held 150" and not needy.oom_killed()
        show(daemon)
        probe.finish(1.0)
        passed = True
        print("PASS")
    finally:
        teardown(daemon, both, passed, probe)


if __name__ == "__main__":
    run_test(main)
