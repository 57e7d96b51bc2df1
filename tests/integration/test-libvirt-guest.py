#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The libvirt backend (through tests/libvirt-probe) on a real TCG guest under
a private unprivileged libvirtd: discovery, non-stale bulk balloon stats
matching the guest's own /proc/meminfo, a lower balloon target reached and
announced by BALLOON_CHANGE, a failing target reported once, and lifecycle
events (suspend, resume, a second guest started and destroyed)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from libvirt_harness import MIB, Libvirtd, Probe  # noqa: E402

START = time.monotonic()


def log(msg):
    print("[%6.1f] %s" % (time.monotonic() - START, msg), flush=True)


def guest_sample(event, uuid):
    return next(g for g in event["guests"] if g["uuid"] == uuid)


def check_discovery_and_stats(lv, g, probe):
    added = probe.wait_event(lambda e: e["event"] == "guest-added" and e["uuid"] == g.uuid, 30,
                             "the guest to be discovered")
    probe.wait_event(lambda e: e["event"] == "connected", 30, "connected")
    assert added["name"] == g.name and added["state"] == "running", added
    assert added["max_bytes"] == 512 * MIB, added
    assert "stats_period_error" not in added, added

    deadline = time.monotonic() + 60
    while True:
        ev = probe.stats()
        s = guest_sample(ev, g.uuid)
        if not s["stale"]:
            break
        assert time.monotonic() < deadline, "stats still stale after 60 s: %s" % s
        time.sleep(1)
    log("stats after %.1f s: one bulk call took %.2f ms" % (
        time.monotonic() - g.started_at, ev["duration_usec"] / 1000))
    mi = g.meminfo()
    # libvirt's "available" is MemTotal, "usable" MemAvailable (KiB, scaled back to bytes)
    assert s["total_bytes"] == mi["total_kib"] * 1024, (s, mi)
    assert abs(s["available_bytes"] - mi["available_kib"] * 1024) < 64 * MIB, (s, mi)
    assert s["current_bytes"] == 512 * MIB and s["maximum_bytes"] == 512 * MIB, s
    assert s["rss_bytes"] and s["last_update_sec"] > 0, s


def check_set_memory(lv, g, probe):
    mark = probe.mark()
    t0 = time.monotonic()
    reply, rtt = probe.send("set %s %d" % (g.uuid, 256 * MIB))
    assert reply["r"] == 0, reply
    done = probe.wait_event(lambda e: e.get("request_id") == reply["request_id"], 30,
                            "set-memory result", mark)
    assert done["event"] == "set-memory" and done["r"] == 0, done
    probe.wait_event(lambda e: e["event"] == "balloon-change" and e["uuid"] == g.uuid
                     and e["actual_bytes"] == 256 * MIB, 60, "BALLOON_CHANGE to 256 MiB", mark)
    log("balloon 512 -> 256 MiB announced after %.2f s (set call %.1f ms on the main thread)"
        % (time.monotonic() - t0, reply["main_usec"] / 1000))
    assert lv.domstats(g.name)["balloon.current"] == 256 * 1024
    # the guest sees it too
    s = guest_sample(probe.stats(), g.uuid)
    assert s["current_bytes"] == 256 * MIB, s

    # above the maximum: reported, then marked as a repeat
    for repeated in (False, True):
        reply, _ = probe.send("set %s %d" % (g.uuid, 1024 * MIB))
        e = probe.wait_event(lambda e: e.get("request_id") == reply["request_id"], 30,
                             "set-memory failure")
        assert e["r"] < 0 and e["error_repeated"] == repeated, e
    log("set above maximum: %s" % e["error"])

    reply, _ = probe.send("set %s %d" % (g.uuid, 512 * MIB))
    probe.wait_event(lambda e: e["event"] == "balloon-change" and e["uuid"] == g.uuid
                     and e["actual_bytes"] == 512 * MIB, 60, "BALLOON_CHANGE back to 512 MiB")


def check_lifecycle(lv, g, probe):
    mark = probe.mark()
    g.suspend()
    probe.wait_event(lambda e: e["event"] == "guest-state" and e["state"] == "paused", 10,
                     "paused", mark)
    g.resume()
    probe.wait_event(lambda e: e["event"] == "guest-state" and e["state"] == "running", 10,
                     "running", mark)

    mark = probe.mark()
    t0 = time.monotonic()
    g2 = lv.define_guest("g2", mem_mib=256)
    probe.wait_event(lambda e: e["event"] == "guest-added" and e["uuid"] == g2.uuid, 10,
                     "g2 added", mark)
    log("g2 started and announced after %.2f s" % (time.monotonic() - t0))
    t0 = time.monotonic()
    g2.kill()
    e = probe.wait_event(lambda e: e["event"] == "guest-removed" and e["uuid"] == g2.uuid, 10,
                         "g2 removed", mark)
    assert e["reason"] == "destroyed", e
    log("g2 destroyed and announced after %.2f s" % (time.monotonic() - t0))
    ev = probe.stats()
    assert [s["uuid"] for s in ev["guests"]] == [g.uuid], ev


def main():
    with Libvirtd() as lv:
        log("libvirtd pid %d as uid %d, %s" % (lv.pid, lv.uid, lv.uri))
        g = lv.define_guest("g1", mem_mib=512)
        g.wait_ready(180)
        log("g1 ready in %.1f s" % (time.monotonic() - g.started_at))
        probe = Probe(lv.uri, args=["--stats-period", "1"])
        passed = False
        try:
            check_discovery_and_stats(lv, g, probe)
            check_set_memory(lv, g, probe)
            check_lifecycle(lv, g, probe)
            stderr = probe.close()
            assert stderr == "", "probe stderr: " + stderr
            passed = True
            print("PASS")
        finally:
            probe.close()
            if not passed:
                print("---- libvirtd log (tail) ----\n" + lv.log_text()[-3000:])
                print("---- g1 console (tail) ----\n" + g.console_text()[-2000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
