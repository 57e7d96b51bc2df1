#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The libvirt backend (through tests/libvirt-probe, an sd-event loop) when
libvirtd fails under it:

- killed and restarted: the backend reconnects within 10 s of the restart,
  finds the guest again by UUID, and stats and balloon targets work again;
- frozen with SIGSTOP for 30 s, with a stats request every second as the
  daemon's cycle would make: every call on the main thread answers at once
  (the probe answers each command within 1 s), the backend reports itself
  unreachable, and after SIGCONT it recovers."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from libvirt_harness import MIB, Libvirtd, Probe  # noqa: E402

START = time.monotonic()
FREEZE_SEC = 30


def log(msg):
    print("[%6.1f] %s" % (time.monotonic() - START, msg), flush=True)


def wait_fresh_stats(probe, uuid, timeout):
    deadline = time.monotonic() + timeout
    while True:
        reply, _ = probe.send("stats")
        if reply["r"] == 0:
            ev = probe.wait_event(lambda e: e.get("request_id") == reply["request_id"], 30,
                                  "stats reply")
            mine = [g for g in ev.get("guests", []) if g["uuid"] == uuid]
            if ev["r"] == 0 and mine and not mine[0]["stale"]:
                return ev
        assert time.monotonic() < deadline, "no fresh stats within %.0f s" % timeout
        time.sleep(0.5)


def check_restart(lv, g, probe):
    mark = probe.mark()
    lv.kill()
    t_kill = time.monotonic()
    e = probe.wait_event(lambda e: e["event"] == "disconnected", 10, "disconnected", mark)
    log("libvirtd killed: disconnected after %.2f s (%s)" % (time.monotonic() - t_kill,
                                                            e.get("error")))
    st = probe.status()
    assert not st["reachable"], st
    time.sleep(2)  # a while down: the backend retries with backoff meanwhile
    lv.start()
    t_up = time.monotonic()
    probe.wait_event(lambda e: e["event"] == "connected", 10, "reconnection within 10 s", mark)
    log("reconnected %.2f s after libvirtd answered again" % (time.monotonic() - t_up))
    probe.wait_event(lambda e: e["event"] == "guest-added" and e["uuid"] == g.uuid, 1,
                     "the guest found again", mark)
    st = probe.status()
    assert st["reachable"] and st["connects"] == 2, st
    wait_fresh_stats(probe, g.uuid, 30)

    # events are registered again: a balloon change is seen
    mark = probe.mark()
    reply, _ = probe.send("set %s %d" % (g.uuid, 384 * MIB))
    assert reply["r"] == 0, reply
    probe.wait_event(lambda e: e["event"] == "balloon-change" and e["actual_bytes"] == 384 * MIB,
                     60, "BALLOON_CHANGE after reconnecting", mark)


def check_freeze(lv, g, probe):
    mark = probe.mark()
    lv.freeze()
    t0 = time.monotonic()
    worst_rtt = worst_main = 0.0
    unreachable_at = None
    try:
        while time.monotonic() - t0 < FREEZE_SEC:
            for cmd in ("stats", "status", "set %s %d" % (g.uuid, 320 * MIB)):
                reply, rtt = probe.send(cmd, timeout=5)
                worst_rtt = max(worst_rtt, rtt)
                worst_main = max(worst_main, reply["main_usec"] / 1e6)
                assert rtt < 1.0, "probe took %.2f s to answer %r while libvirtd is frozen" % (
                    rtt, cmd)
                if cmd == "status" and not reply["status"]["reachable"] and unreachable_at is None:
                    unreachable_at = time.monotonic() - t0
                    log("frozen: unreachable after %.1f s (%s)" % (unreachable_at,
                                                                  reply["status"]))
            time.sleep(1)
        st = probe.status()
        log("frozen %d s: worst command round trip %.1f ms, worst main-thread call %.2f ms; "
            "status %s" % (FREEZE_SEC, worst_rtt * 1000, worst_main * 1000, st))
    finally:
        lv.thaw()
    t_thaw = time.monotonic()
    assert unreachable_at is not None and unreachable_at < 10, unreachable_at
    assert worst_main < 0.05, worst_main

    wait_fresh_stats(probe, g.uuid, 60)
    st = probe.status()
    assert st["reachable"], st
    log("recovered %.1f s after SIGCONT (connects %d; events during the freeze: %s)" % (
        time.monotonic() - t_thaw, st["connects"],
        sorted({e["event"] for e in probe.events[mark:]})))
    # the last target queued during the freeze wins
    probe.wait_event(lambda e: e["event"] == "balloon-change" and e["actual_bytes"] == 320 * MIB,
                     60, "the balloon target queued during the freeze", mark)


def main():
    with Libvirtd() as lv:
        g = lv.define_guest("g1", mem_mib=512)
        g.wait_ready(180)
        log("g1 ready; libvirtd pid %d" % lv.pid)
        probe = Probe(lv.uri, args=["--stats-period", "1"])
        passed = False
        try:
            probe.wait_event(lambda e: e["event"] == "connected", 30, "connected")
            wait_fresh_stats(probe, g.uuid, 60)
            check_restart(lv, g, probe)
            check_freeze(lv, g, probe)
            stderr = probe.close()
            assert stderr == "", "probe stderr: " + stderr
            passed = True
            print("PASS")
        finally:
            probe.close()
            if not passed:
                print("---- libvirtd log (tail) ----\n" + lv.log_text()[-3000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
