#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Early cycles cannot be forced by a guest (issue 12, defect 7).

memtided runs its cycle early when fresh stats show a guest short of memory
or its use jumping. A guest decides what it reports, so it must not be able
to make memtided cycle at its stats rate. Two runs of memtided on one fake
QEMU each (a QMP server in this file that speaks the balloon protocol,
Interval=10s, so every cycle beyond one per 10 s is an early one):

- "full": a guest at its maximum that reports almost no memory available at
  every stats period. Nothing more can be given to it: no early cycle at all
  (once, 11 cycles ran in 10 s).
- "growing": a guest below its maximum whose use jumps at every report, and
  whose QEMU reports at every poll (memtided, finding a new report whenever
  it looks, polls it twice per StatsPeriod=): early cycles run, but at most
  one per StatsPeriod=, however often it reports.

Cycles are counted with memtidectl status (daemon.cycles) over a window; the
bounds are upper bounds, which a loaded machine (fewer polls, later cycles)
cannot break, plus, for "growing", more cycles than Interval= alone gives,
to show early cycles still happen.
"""

import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import MIB, Daemon, log, run_test, wait_for, workdir  # noqa: E402

GREETING = {"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "fake"},
                    "capabilities": ["oob"]}}
INTERVAL_S = 10
WINDOW_S = 12


class FakeBalloonQemu:
    """A QEMU monitor at PATH for a guest NAME of BOOT bytes holding ACTUAL,
    as memtided's QMP backend drives one: set-up queries, guest-stats,
    balloon (obeyed at once, with BALLOON_CHANGE). Commands it does not know
    (the compatibility probes) get CommandNotFound.

    stats(actual, report) gives (used, available) for report number
    `report`; per_poll makes every qom-get a new report (last-update moves
    on at each, and never falls behind the wall clock, as QEMU's does not),
    else last-update is the wall clock second, as QEMU has it when the guest
    reports every second."""

    def __init__(self, path, name, boot, actual, stats, per_poll=False):
        self.path, self.name, self.boot, self.actual = path, name, boot, actual
        self.stats, self.per_poll = stats, per_poll
        self.reports = 0
        self.errors = []
        self._last_update = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(path)
        self._sock.listen(4)
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def close(self):
        self._stop.set()
        self._thread.join(5)
        for c in self._conns:
            c.close()
        self._sock.close()
        os.unlink(self.path)

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self._send(conn, GREETING)
            buf = b""
            conn.settimeout(0.2)
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        self._answer(conn, json.loads(line))
        except (OSError, ValueError) as e:
            if not self._stop.is_set():
                self.errors.append(repr(e))

    @staticmethod
    def _send(conn, msg):
        conn.sendall(json.dumps(msg).encode() + b"\r\n")

    def _guest_stats(self):
        with self._lock:
            self.reports += 1
            report = self.reports
            actual = self.actual
            if self.per_poll:
                self._last_update = max(int(time.time()), self._last_update + 1)
            else:
                self._last_update = int(time.time())
            last_update = self._last_update
        used, available = self.stats(actual, report)
        return {"stats": {"stat-total-memory": actual - 64 * MIB,
                          "stat-available-memory": available,
                          "stat-free-memory": available,
                          "stat-swap-in": 0, "stat-swap-out": 0,
                          "stat-major-faults": 0, "stat-minor-faults": 0,
                          "stat-disk-caches": 0},
                "last-update": last_update}

    def _answer(self, conn, msg):
        cmd, args = msg.get("execute"), msg.get("arguments") or {}
        ret, event = None, None
        if cmd in ("qmp_capabilities", "qom-set"):
            ret = {}
        elif cmd == "query-status":
            ret = {"running": True, "singlestep": False, "status": "running"}
        elif cmd == "query-name":
            ret = {"name": self.name}
        elif cmd == "query-uuid":
            ret = {"UUID": "00000000-0000-0000-0000-000000000000"}
        elif cmd == "qom-list":
            ret = [{"name": "balloon0", "type": "child<virtio-balloon-pci>"}]
        elif cmd == "query-memory-size-summary":
            ret = {"base-memory": self.boot, "plugged-memory": 0}
        elif cmd == "query-memory-devices":
            ret = []
        elif cmd == "query-balloon":
            ret = {"actual": self.actual}
        elif cmd == "qom-get" and args.get("property") == "guest-stats":
            ret = self._guest_stats()
        elif cmd == "balloon":
            with self._lock:
                self.actual = min(int(args["value"]), self.boot)
            ret = {}
            now = time.time()
            event = {"event": "BALLOON_CHANGE", "data": {"actual": self.actual},
                     "timestamp": {"seconds": int(now), "microseconds": int(now % 1 * 1e6)}}
        if ret is None:
            reply = {"error": {"class": "CommandNotFound",
                               "desc": "The command %s has not been found" % cmd}}
        else:
            reply = {"return": ret}
        if "id" in msg:
            reply["id"] = msg["id"]
        self._send(conn, reply)
        if event:
            self._send(conn, event)


def cycles(daemon):
    return json.loads(daemon.ctl("--json", "status").stdout)["daemon"]["cycles"]


def count_cycles(daemon, fake, seconds):
    """Cycles and stats reports in a window of `seconds`."""
    c0, r0 = cycles(daemon), fake.reports
    time.sleep(seconds)
    return cycles(daemon) - c0, fake.reports - r0


def run(wd, name, stats_period, fake_args, check):
    path = os.path.join(wd, name + ".qmp")
    fake = FakeBalloonQemu(path, name, **fake_args)
    daemon_dir = os.path.join(wd, name + "-daemon")
    os.makedirs(daemon_dir)
    # Its own state directory: another memtided may be running tests beside it.
    daemon = Daemon(daemon_dir, {
        "Backend": "qmp", "QMPSockets": path, "Interval": "%ds" % INTERVAL_S,
        "StatsPeriod": "%ds" % stats_period, "StateDirectory": os.path.join(wd, name + "-state")})
    passed = False
    try:
        daemon.start()
        wait_for(lambda: name in daemon.guests() and
                 daemon.guests()[name].get("stats") is not None, 30,
                 "%s to be managed with stats" % name)
        time.sleep(2)  # past the first decisions
        n, reports = count_cycles(daemon, fake, WINDOW_S)
        g = daemon.guests()[name]
        log("%s: %d cycles, %d stats polls answered in %d s (Interval=%ds, StatsPeriod=%ds); "
            "actual %d MiB of %d, %s" % (name, n, reports, WINDOW_S, INTERVAL_S, stats_period,
                                         g["actual_bytes"] // MIB, fake.boot // MIB,
                                         g["reason"]))
        assert not fake.errors, "fake QEMU: %s" % fake.errors
        check(n, reports, g)
        passed = True
    finally:
        daemon.stop()
        fake.close()
        if not passed:
            print("---- memtided log (tail) ----\n" + daemon.log_text()[-6000:])


def full_stats(actual, report):
    return actual - 8 * MIB, 8 * MIB


def check_full(n, reports, g):
    assert reports >= WINDOW_S // 2, "the fake reported only %d times" % reports
    assert g["actual_bytes"] == 1024 * MIB, "the guest is not at its maximum"
    regular = WINDOW_S // INTERVAL_S + 1
    assert n <= regular, (
        "%d cycles in %d s with Interval=%ds: a guest at its maximum forced %d early "
        "cycle(s)" % (n, WINDOW_S, INTERVAL_S, n - regular))


def growing_stats(actual, report):
    used = 1024 * MIB + report * 100 * MIB
    return used, max(actual - used, 0)


def check_growing(n, reports, g):
    stats_period = 1
    assert g["actual_bytes"] < 64 * 1024 * MIB, "the guest reached its maximum"
    regular = WINDOW_S // INTERVAL_S + 1
    limit = WINDOW_S // stats_period + 1 + regular
    # More reports than cycles allowed, or the limit is not what is tested.
    assert reports > limit, "the fake reported only %d times (limit %d)" % (reports, limit)
    assert n <= limit, (
        "%d cycles in %d s for %d reports: more than one early cycle per "
        "StatsPeriod=%ds (at most %d cycles)" % (n, WINDOW_S, reports, stats_period, limit))
    assert n > regular, "only %d cycles in %d s: early cycles no longer run" % (n, WINDOW_S)


def main():
    wd = workdir("memtide-early-")
    run(wd, "full", 1, {"boot": 1024 * MIB, "actual": 1024 * MIB, "stats": full_stats},
        check_full)
    run(wd, "growing", 1, {"boot": 64 * 1024 * MIB, "actual": 2048 * MIB,
                           "stats": growing_stats, "per_poll": True}, check_growing)
    print("PASS")


if __name__ == "__main__":
    run_test(main)
