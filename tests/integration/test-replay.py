#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A short trace replay (bench/replay.py) on real guests: 2 guests, 1 trace
hour at x100 (36 s), a budget of 0.6 of their memory in a memory cgroup,
memtided with the adaptive strategy. No guest and no host OOM kill, and
every figure of the run present and sane (peak >= mean > 0, the budget as
set, the simulator's figures for the same slice). About 80 s; needs root
and a memory cgroup controller."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, build_dir, log, require_guests, skip, workdir)  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRACE = os.path.join(os.path.dirname(ROOT), "shared", "traces", "bitbrains-rnd-2013-7.csv.gz")
GUESTS, MEM_MIB, FRACTION = 2, 512, 0.6


def cgroups_usable():
    """A memory controller: cgroup v1's hierarchy, or v2's root offering it."""
    if os.path.exists("/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        return True
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            return "memory" in f.read().split()
    except OSError:
        return False


def main():
    image = require_guests()
    if os.geteuid() != 0:
        skip("needs root for a memory cgroup")
    if not cgroups_usable():
        skip("no memory cgroup controller")
    if not os.path.exists(TRACE):
        skip("no trace at %s" % TRACE)
    wd = workdir("memtide-replay-")
    record = os.path.join(wd, "record.json")
    cmd = [sys.executable, os.path.join(ROOT, "bench", "replay.py"), "--guests", str(GUESTS),
           "--mem", str(MEM_MIB), "--hours", "1", "--budget-fraction", str(FRACTION),
           "--strategy", "adaptive", "--build", build_dir(), "--image", image,
           "--trace", TRACE, "--workdir", wd, "--record", record, "--json"]
    log("running " + " ".join(cmd))
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=300)
    print(r.stdout[-6000:])
    assert r.returncode == 0, "replay.py exited with %d" % r.returncode
    res = json.loads(r.stdout[r.stdout.index("\n{") + 1:])

    budget = int(FRACTION * GUESTS * MEM_MIB * MIB)
    assert res["budget_bytes"] == budget, res["budget_bytes"]
    assert res["guest_oom"] == 0, "guest OOM kills: %d" % res["guest_oom"]
    assert res["host_oom"] == 0, "QEMUs killed by the cgroup: %d" % res["host_oom"]
    assert res["peak_rss_bytes"] >= res["mean_rss_bytes"] > 0, res
    assert res["cgroup_limit_bytes"] == budget + res["overhead_bytes"] > budget, res
    assert res["churn_bytes"] > 0, "the balloons never moved"
    assert res["alloc_stalls"] >= 0
    assert res["sim_peak_rss_bytes"] > 0 and res["sim_oom"] >= 0, res
    assert abs(res["sim_error"] - (res["sim_peak_rss_bytes"] / res["peak_rss_bytes"] - 1)) < 1e-9

    with open(record) as f:
        samples = json.load(f)
    assert 30 <= len(samples) <= 40, "%d samples for 36 s" % len(samples)
    for s in samples:
        assert s["rss_sum"] == sum(s["rss"]) and len(s["rss"]) == GUESTS, s
        assert all(0 < ram < rss for ram, rss in zip(s["guest_ram"], s["rss"])), s
        assert all(b is not None and 0 < b <= MEM_MIB * MIB for b in s["balloon"]), s
        assert s["cgroup_bytes"] <= res["cgroup_limit_bytes"], s
    # memtided answered with its targets, and the workloads followed the trace.
    assert any(t is not None for s in samples for t in s["target"]), "no target from memtided"
    assert any(h for s in samples for h in s["held"] if h), "the workloads held nothing"
    log("peak RSS %d MiB, mean %d MiB, simulated peak %d MiB (%+.1f %%)" % (
        res["peak_rss_bytes"] // MIB, res["mean_rss_bytes"] // MIB,
        res["sim_peak_rss_bytes"] // MIB, 100 * res["sim_error"]))
    print("PASS")


if __name__ == "__main__":
    run_test(main)
