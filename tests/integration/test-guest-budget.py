#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""GuestMemoryBudget=auto on a real memory cgroup (v1 where the host has the
v1 memory hierarchy, else v2) with a real guest over QMP.

The test makes a cgroup of its own, starts QEMU in it (QEMU writes its own
pid into cgroup.procs before it execs, so that all its memory is charged
there: kernels since 6.x no longer move charges with a task) and runs
memtided with GuestMemoryBudget=auto and a generous floor headroom
(HeadroomShare=25 %, narrowing to HeadroomMin=32M under pressure):
  1. no limit on the cgroup nor above it: status says auto found no limited
     cgroup (the problem names the cgroup), logged once; no budget series;
     the guest settles with the headroom of a roomy host;
  2. the cgroup gets a limit a little above what it holds: status shows the
     budget, its cgroup source and what is held, the metrics carry both
     series, and the policy squeezes the guest harder than in phase 1
     (lower floor, smaller balloon), never below the floor it computed;
  3. a bad GuestMemoryBudget= on reload is refused with file:line and the
     budget stays in force;
  4. reloaded with a fixed size: held is the guest's QEMU RSS, then with
     GuestMemoryCgroup= naming the cgroup, its usage.
The cgroup is removed at the end (QEMU killed, any pid left moved out)."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, Daemon, guests, log, require_guests, show, skip,  # noqa: E402
                     teardown, wait_for, workdir)

V1_ROOT = "/sys/fs/cgroup/memory"
V2_ROOT = "/sys/fs/cgroup"


class TestCgroup:
    """A memory cgroup of the test's own, v1 or v2 as the host has it."""

    def __init__(self, name):
        if os.path.exists(os.path.join(V1_ROOT, "memory.limit_in_bytes")):
            self.version, root = "v1", V1_ROOT
            self.limit_file, self.usage_file = "memory.limit_in_bytes", "memory.usage_in_bytes"
        elif "memory" in self._read(os.path.join(V2_ROOT, "cgroup.subtree_control")).split():
            self.version, root = "v2", V2_ROOT
            self.limit_file, self.usage_file = "memory.max", "memory.current"
        else:
            skip("no writable memory cgroup hierarchy (v1 memory, or v2 with memory enabled)")
        self.root = root
        self.dir = os.path.join(root, name)
        try:
            os.mkdir(self.dir)
        except OSError as e:
            skip("cannot create a memory cgroup: %s" % e)

    @staticmethod
    def _read(path):
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return ""

    def usage(self):
        return int(self._read(os.path.join(self.dir, self.usage_file)))

    def set_limit(self, limit):
        with open(os.path.join(self.dir, self.limit_file), "w") as f:
            f.write(str(limit))

    def remove(self):
        """Moves any process left to the root cgroup, then removes the cgroup."""
        if not os.path.isdir(self.dir):
            return
        for pid in self._read(os.path.join(self.dir, "cgroup.procs")).split():
            try:
                with open(os.path.join(self.root, "cgroup.procs"), "w") as f:
                    f.write(pid)
            except OSError:
                pass
        for _ in range(50):
            try:
                os.rmdir(self.dir)
                return
            except OSError:
                time.sleep(0.1)  # a killed QEMU leaves the cgroup as it is reaped


class CgroupGuest(guests.Guest):
    """A guest whose QEMU is born in the cgroup: a shell writes its own pid
    into cgroup.procs and execs QEMU, so every page QEMU touches is charged there."""

    def __init__(self, cgroup, *args, **kwargs):
        self.cgroup = cgroup
        super().__init__(*args, **kwargs)

    def qemu_command(self):
        procs = os.path.join(self.cgroup.dir, "cgroup.procs")
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', procs] + super().qemu_command()


def status(daemon):
    return json.loads(daemon.ctl("--json", "status").stdout)


def settled(daemon, name, hold_s=4):
    """The guest's entry once its balloon has reached its target and no new
    target was set for hold_s seconds (the cycle is 1 s)."""
    first = daemon.guests().get(name)
    if not first or first["target_bytes"] is None or first["floor_bytes"] is None:
        return None
    time.sleep(hold_s)
    g = daemon.guests().get(name)
    # Holds report the target they would set; under 4 MiB nothing is sent.
    if (abs(g["target_bytes"] - first["target_bytes"]) > 4 * MIB
            or abs(g["actual_bytes"] - g["target_bytes"]) > 4 * MIB):
        log("  not settled: target %s -> %s, actual %s" % (
            first["target_bytes"], g["target_bytes"], g["actual_bytes"]))
        return None
    return g


def collect_decisions(daemon, name, seen):
    """Adds the guest's recent decisions (explain keeps the last ten) to seen."""
    for d in json.loads(daemon.ctl("--json", "explain", name).stdout)["guests"][0]["decisions"]:
        seen[(d["time_seconds"], d["target_bytes"], d["reason"])] = d


def main():
    image = require_guests()
    if os.geteuid() != 0:
        skip("needs root to make a memory cgroup")
    wd = workdir("memtide-budget-")
    cg = TestCgroup("memtide-test-%d" % os.getpid())
    # No free page reporting: the balloon is then the only way back to the
    # host, and the policy moves it (with reporting it holds, nothing to gain).
    g = CgroupGuest(cg, "budget", wd, mem_mib=512, image_dir=image, test_monitor=True,
                    free_page_reporting=False)
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": g.qmp_path, "Interval": "1s",
                         "StatsPeriod": "1s", "GuestMemoryBudget": "auto"},
                    extra="[Policy]\nHeadroomMin=32M\nHeadroomShare=25%\n")
    passed = False
    decisions = {}
    try:
        t0 = time.monotonic()
        g.start()
        g.wait_ready()
        assert str(g.pid) in open(os.path.join(cg.dir, "cgroup.procs")).read().split(), \
            "QEMU is not in the test's cgroup"
        daemon.start()
        wait_for(lambda: daemon.guests().get("budget"), 30, "the guest to be managed")

        # 1. no limit anywhere up: no budget, and status says why
        st = wait_for(lambda: (lambda s: s if "with a limit" in (s["budget"]["problem"] or "")
                               else None)(status(daemon)),
                      10, "status to say auto found no limited cgroup")
        b = st["budget"]
        log("no limit: budget %s" % b)
        assert b["source"] == "none" and b["budget_bytes"] is None, b
        assert "no memory cgroup with a limit" in b["problem"] and cg.dir in b["problem"], b
        assert "Guest budget:          none" in daemon.ctl("status").stdout
        assert "memtide_host_guest_budget_bytes" not in daemon.ctl("metrics").stdout
        roomy = wait_for(lambda: settled(daemon, "budget"), 60, "the guest to settle without a budget")
        show(daemon)
        collect_decisions(daemon, "budget", decisions)
        log("settled without a budget: actual %.0f MiB, floor %.0f MiB, used %.0f MiB, held %.0f MiB"
            % (roomy["actual_bytes"] / MIB, roomy["floor_bytes"] / MIB, roomy["used_bytes"] / MIB,
               cg.usage() / MIB))

        # 2. a limit a little above what the guest holds: 12 % of it left,
        # pressure about half way (HostReserve= 5 %: 20 % left is none, 5 % full)
        held = cg.usage()
        limit = (int(held / 0.88) + 4095) // 4096 * 4096
        cg.set_limit(limit)
        log("cgroup %s: limit %.0f MiB, holding %.0f MiB" % (cg.dir, limit / MIB, held / MIB))
        b = wait_for(lambda: (lambda b: b if b["budget_bytes"] == limit else None)(
            status(daemon)["budget"]), 10, "status to show the budget")
        log("budget: %s" % b)
        assert b["source"] == "cgroup %s %s" % (cg.version, cg.dir), b
        assert b["held_source"] == b["source"] and b["problem"] is None, b
        assert 0 < b["held_bytes"] <= limit and b["available_bytes"] <= limit - b["held_bytes"], b
        text = daemon.ctl("status").stdout
        assert "Guest budget:" in text and cg.dir in text, text
        metrics = daemon.ctl("metrics").stdout
        assert "\nmemtide_host_guest_budget_bytes %d\n" % limit in metrics, metrics
        assert "\nmemtide_host_guest_held_bytes " in metrics
        tight = wait_for(lambda: (lambda s: s if s and s["actual_bytes"] < roomy["actual_bytes"] - 24 * MIB
                                  else None)(settled(daemon, "budget", hold_s=2)),
                         40, "the guest to be squeezed harder under the budget")
        collect_decisions(daemon, "budget", decisions)
        show(daemon)
        log("under the budget: actual %.0f MiB (%.0f without), floor %.0f MiB (%.0f without), "
            "cgroup holds %.0f MiB of %.0f" % (
                tight["actual_bytes"] / MIB, roomy["actual_bytes"] / MIB, tight["floor_bytes"] / MIB,
                roomy["floor_bytes"] / MIB, cg.usage() / MIB, limit / MIB))
        assert tight["floor_bytes"] < roomy["floor_bytes"], "the floor did not narrow under the budget"
        assert not g.oom_killed() and g.is_running()

        # never below the floor the guard rails computed for that decision
        changes = [d for d in decisions.values() if d["change"]]
        assert changes, "no balloon target was set"
        for d in changes:
            floor = d["inputs"]["floor_bytes"]
            assert floor is not None and d["target_bytes"] >= floor, d

        # 3. a bad value on reload: refused with file:line, the budget stays
        with open(daemon.config) as f:
            good = f.read()
        with open(daemon.config, "w") as f:
            f.write(good.replace("GuestMemoryBudget=auto", "GuestMemoryBudget=lots"))
        r = daemon.ctl("reload", check=False)
        line = good.splitlines().index("GuestMemoryBudget=auto") + 1
        assert r.returncode == 1 and "%s:%d: GuestMemoryBudget=lots" % (daemon.config, line) in r.stderr, r
        time.sleep(1.5)
        assert status(daemon)["budget"]["budget_bytes"] == limit

        # 4. a fixed size: held is the guests' QEMU RSS, or with
        # GuestMemoryCgroup= that cgroup's usage
        def reload_with(keys, held_source):
            with open(daemon.config, "w") as f:
                f.write(good.replace("GuestMemoryBudget=auto\n", keys))
            daemon.ctl("reload")
            return wait_for(lambda: (lambda b: b if b["source"] == "config" and
                                     b["held_source"] == held_source else None)(
                                         status(daemon)["budget"]),
                            10, "the fixed budget in force, held: %s" % held_source)
        b = reload_with("GuestMemoryBudget=2G\n", "QEMU RSS")
        log("fixed size: %s" % b)
        rss = daemon.guests()["budget"]["qemu_rss_bytes"]
        assert b["budget_bytes"] == 2 << 30 and abs(b["held_bytes"] - rss) < 32 * MIB, (b, rss)
        b = reload_with("GuestMemoryBudget=2G\nGuestMemoryCgroup=/%s\n" % os.path.basename(cg.dir),
                        "cgroup %s %s" % (cg.version, cg.dir))
        log("fixed size, named cgroup: %s" % b)
        assert 0 < b["held_bytes"] <= limit, b
        assert daemon.log_text().count("no memory cgroup with a limit holds the guests") == 1, \
            "the missing limit must be logged once"
        log("test took %.0f s" % (time.monotonic() - t0))
        passed = True
        print("PASS")
    finally:
        teardown(daemon, [g], passed)
        cg.remove()
        assert not os.path.isdir(cg.dir), "cgroup %s left behind" % cg.dir


if __name__ == "__main__":
    run_test(main)
