#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile-client benchmark (issue 12): memtided beside two real TCG guests,
each attack of the issue run for SECONDS (default 60), one after the other.
For each it prints memtided's peak RSS during the attack, the slowest answer
root's `memtidectl status` got (polled every 0.25 s), the cycles run, and
whether both real guests stayed managed (listed, fresh stats, a decision in
the last few seconds). The bounds are the issue's: RSS under 64 MiB, status
within 1 s, guests managed; a row that breaks one is marked, and the exit
status is 1. Run as root from the source tree after `bash scripts/build.sh`:

    python3 bench/hostile.py [--build build] [--seconds 60] [--only NAME,...]
"""

import argparse
import importlib.util
import json
import os
import socket
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTEGRATION = os.path.join(ROOT, "tests", "integration")
sys.path.insert(0, INTEGRATION)

import harness  # noqa: E402
import guests  # noqa: E402
from fake_qmp import FakeQmp, StatusProbe  # noqa: E402

MIB = 1 << 20
RSS_BOUND_MIB = 64
STATUS_BOUND_S = 1.0


def load(name):
    """A test module whose file name has dashes (its helpers are reused)."""
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"),
                                                  os.path.join(INTEGRATION, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


hostile = load("test-hostile-control")
early = load("test-early-cycles")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler:
    """memtided's VmRSS every 0.1 s; .peak in KiB."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.1)

    def stop(self):
        self._stop.set()
        self._t.join()
        return self.peak


class Loop:
    """Runs fn() over and over on a thread until stopped."""

    def __init__(self, fn):
        self.fn, self._stop, self.errors = fn, threading.Event(), 0
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.fn(self._stop)
            except OSError:
                self.errors += 1
                time.sleep(0.05)

    def stop(self):
        self._stop.set()
        self._t.join(10)


# --- attacks: each returns something with .stop() -------------------------------------

def unread_replies(ctx):
    """Defect 1: GetMetrics requests sent as fast as the socket takes them, replies never read."""
    def run(stop):
        s = socket.socket(socket.AF_UNIX)
        s.connect(ctx.daemon.socket)
        s.setblocking(False)
        while not stop.is_set():
            try:
                s.send(hostile.GET_METRICS * 64)
            except BlockingIOError:
                time.sleep(0.01)
        s.close()
    return Loop(run)


def qmp_peer(behaviour):
    """Defect 3 (objects, numbers) and 10 (statsonly): a bad QEMU among the guests."""
    def start(ctx):
        return FakeQmp(os.path.join(ctx.attack_dir, behaviour + ".qmp"), behaviour)
    return start


class Held:
    def __init__(self, holders):
        self.holders = holders

    def stop(self):
        for h in self.holders:
            h.release()


def lockout(ctx):
    """Defect 4: unprivileged users hold every connection they may, then flood connects."""
    n = hostile.constant("CONTROL_MAX_CLIENTS")
    return Held([hostile.Holder(ctx.daemon, uid, n, flood=2000) for uid in hostile.USERS])


def bad_input(ctx):
    """Defect 9: malformed and out-of-range requests, and overrides for guests that do not exist."""
    requests = [
        b'{"method":"io.memtide.Manager.SetOverride","parameters":{"name":"g%d","shares":4000000000}}',
        b'{"method":"io.memtide.Manager.SetOverride","parameters":{"name":"\xff\xfe","min_bytes":1}}',
        b'{"method":"io.memtide.Manager.SetOverride","parameters":{"name":"a\\u0000b","min_bytes":1}}',
        b'{"method":"io.memtide.Manager.GetGuest","parameters":{"name":"x"}} trailing',
        b'{"method":"io.memtide.Manager.SetOverride","parameters":{"name":"ghost%d","min_bytes":'
        b'99999999999999999999999}}',
        b'{"method":"io.memtide.Manager.SetOverride","parameters":{"name":"ghost%d","min_bytes":1048576}}',
    ]
    counter = [0]

    def run(stop):
        s = socket.socket(socket.AF_UNIX)
        s.connect(ctx.daemon.socket)
        s.settimeout(2)
        for r in requests:
            counter[0] += 1
            msg = r.replace(b"%d", str(counter[0]).encode()) if b"%d" in r else r
            s.sendall(msg + b"\0")
            try:
                s.recv(65536)
            except OSError:
                break
        s.close()
    return Loop(run)


def forced_cycles(ctx):
    """Defect 7: a guest at its maximum reporting low free memory at every poll."""
    return early.FakeBalloonQemu(os.path.join(ctx.attack_dir, "greedy.qmp"), "greedy",
                                 boot=1024 * MIB, actual=1024 * MIB, stats=early.full_stats,
                                 per_poll=True)


ATTACKS = [
    ("unread-replies", "defect 1", unread_replies),
    ("qmp-objects", "defect 3", qmp_peer("objects")),
    ("qmp-numbers", "defect 3", qmp_peer("numbers")),
    ("lockout-flood", "defect 4", lockout),
    ("forced-cycles", "defect 7", forced_cycles),
    ("bad-input", "defect 9", bad_input),
    ("stats-only-peer", "defect 10", qmp_peer("statsonly")),
]


class Ctx:
    pass


def guests_managed(daemon, names, max_age=10):
    listed = daemon.guests()
    for n in names:
        g = listed.get(n)
        if not g or g.get("stats_age_seconds") is None or g["stats_age_seconds"] > max_age:
            return False
    return True


def cycles(daemon):
    return json.loads(daemon.ctl("--json", "status").stdout)["daemon"]["cycles"]


def run_attack(ctx, name, start, seconds):
    before = rss_kib(ctx.daemon.proc.pid)
    c0 = cycles(ctx.daemon)
    sampler = Sampler(ctx.daemon.proc.pid)
    probe = StatusProbe(ctx.daemon)
    probe.start()
    attack = start(ctx)
    time.sleep(seconds)
    managed = guests_managed(ctx.daemon, ctx.guest_names)
    attack.stop() if hasattr(attack, "stop") else attack.close()
    probe.stop()
    peak = sampler.stop()
    return {"attack": name, "rss_before_mib": before / 1024, "peak_rss_mib": peak / 1024,
            "slowest_status_s": probe.worst, "status_failures": len(probe.failures),
            "cycles": cycles(ctx.daemon) - c0, "guests_managed": managed}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    os.environ["MEMTIDE_BUILD_DIR"] = os.path.abspath(args.build)
    os.environ.setdefault("MEMTIDE_GUEST_IMAGE",
                          os.path.join(os.path.abspath(args.build), "tests", "guest", "image"))
    only = set(filter(None, args.only.split(",")))

    ctx = Ctx()
    wd = harness.workdir("memtide-hostile-")
    os.chmod(wd, 0o755)  # the unprivileged attackers reach the control socket in it
    ctx.attack_dir = os.path.join(wd, "attack")
    os.makedirs(ctx.attack_dir)
    real = [guests.Guest(n, wd, mem_mib=512) for n in ("calm1", "calm2")]
    ctx.guest_names = [g.name for g in real]
    ctx.daemon = harness.Daemon(wd, {
        "Backend": "qmp", "Interval": "2s", "StatsPeriod": "1s",
        "QMPSockets": " ".join([g.qmp_path for g in real] +
                               [os.path.join(ctx.attack_dir, "*.qmp")]),
        "StateDirectory": os.path.join(wd, "state")})
    rows = []
    try:
        for g in real:
            g.start()
        for g in real:
            g.wait_ready()
        ctx.daemon.start()
        harness.wait_for(lambda: guests_managed(ctx.daemon, ctx.guest_names), 60,
                         "the real guests to be managed")
        time.sleep(5)
        for name, defect, start in ATTACKS:
            if only and name not in only:
                continue
            row = run_attack(ctx, name, start, args.seconds)
            row["defect"] = defect
            rows.append(row)
            print(json.dumps(row), flush=True)
            time.sleep(3)  # let the daemon settle between attacks
    finally:
        ctx.daemon.stop()
        for g in real:
            g.kill()

    bad = 0
    print("\n%-16s %-9s %8s %9s %11s %7s %8s" % ("attack", "issue 12", "RSS MiB", "peak MiB",
                                                "status max", "cycles", "guests"))
    for r in rows:
        ok = (r["peak_rss_mib"] < RSS_BOUND_MIB and r["slowest_status_s"] < STATUS_BOUND_S
              and not r["status_failures"] and r["guests_managed"])
        bad += not ok
        print("%-16s %-9s %8.1f %9.1f %10.3fs %7d %8s%s" % (
            r["attack"], r["defect"], r["rss_before_mib"], r["peak_rss_mib"],
            r["slowest_status_s"], r["cycles"], "managed" if r["guests_managed"] else "LOST",
            "" if ok else "   <- over a bound"))
    print("bounds: peak RSS < %d MiB, status < %.0f s, both real guests managed; %d of %d "
          "attacks within them" % (RSS_BOUND_MIB, STATUS_BOUND_S, len(rows) - bad, len(rows)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
