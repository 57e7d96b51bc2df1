#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Bursts at the physical limit (issue 15): a squeezed 512 MiB guest
allocates 300 MiB at a given rate; does memtided give it the memory in
time?

Per run: boot a 512 MiB TCG test guest (tests/guest; deflate-on-oom off
or on, free page reporting on), start memtided on its QMP socket with
default policy settings (only Backend, QMPSockets, ControlSocket and
StateDirectory are set), wait until it is squeezed (actual within 1.25 x
its floor, under 60 % of boot memory, at its target for 2 s), then have
the guest's workload run `alloc 300 RATE` (0 = flat out) and record:

- met: the workload answered "allocated 300";
- OOM: the guest console shows an OOM kill;
- first reaction: ms from sending the alloc command to memtided's first
  deflate command (its "target ...: deflate" log line, stamped by this
  script as it reads memtided's stderr through a pipe);
- the balloon's size over time (query-balloon on a second QMP monitor
  every 50 ms, BALLOON_CHANGE events aside);
- with deflate-on-oom: guest deflations (the balloon above the last
  target memtided sent: the guest gave pages back on OOM) and fights
  (memtided inflating after a guest deflation, followed by another guest
  deflation), within the burst and 8 s after it.

Prints one cell per (rate, deflate-on-oom): "k/N met, OOM n, first
reaction X ms median", with the 1-minute load average of each run. Runs
go PARALLEL at a time (each its own guest and memtided); only one burst
is measured at a time (a lock), the others boot or settle meanwhile.

    bench/burst-bench.py BUILD_DIR [--rates 50,100,200,400,max] [--runs 3]
                         [--doo off,on] [--parallel 2] [--json FILE]
                         [--wait-load 1.5] [--workdir DIR]

Environment as tests/guest/guests.py (MEMTIDE_GUEST_IMAGE: the image
directory; MEMTIDE_TEST_ACCEL, default tcg).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "guest"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import guests  # noqa: E402
from guests import Guest, GuestError, MIB, QmpConnection  # noqa: E402
from memory_hog import MemoryHog, psi_some_total  # noqa: E402

BOOT_MIB = 512
BURST_MIB = 300
SETTLE_TIMEOUT_S = 180.0
AFTER_S = 8.0
BALLOON_POLL_S = 0.05
TARGET_RE = re.compile(r"target ([0-9.]+) (MiB|GiB|KiB): (\w+)")
UNITS = {"KiB": 1.0 / 1024, "MiB": 1.0, "GiB": 1024.0}

print_lock = threading.Lock()


def log(msg):
    with print_lock:
        print("# [%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


class Memtided:
    """memtided in the foreground on one guest's QMP socket; every stderr
    line is kept with the monotonic time this script read it."""

    def __init__(self, build_dir, workdir, qmp_path, extra=""):
        self.build_dir = build_dir
        self.socket = os.path.join(workdir, "memtide.sock")
        self.config = os.path.join(workdir, "memtide.conf")
        self.log_path = os.path.join(workdir, "memtided.log")
        self.lines = []  # (monotonic seconds, text)
        with open(self.config, "w") as f:
            f.write("[Daemon]\nBackend=qmp\nQMPSockets=%s\nControlSocket=%s\n"
                    "StateDirectory=%s\n%s" % (qmp_path, self.socket,
                                               os.path.join(workdir, "state"), extra))
        self.proc = None
        self._reader = None

    def start(self):
        exe = os.path.join(self.build_dir, "daemon", "memtided")
        self.proc = subprocess.Popen([exe, "--config", self.config, "--debug"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     preexec_fn=guests._child_setup)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise GuestError("memtided did not start:\n" + self.text()[-2000:])
            time.sleep(0.05)

    def _read(self):
        with open(self.log_path, "w") as out:
            for raw in self.proc.stdout:
                t = time.monotonic()
                text = raw.decode("utf-8", "replace").rstrip("\n")
                self.lines.append((t, text))
                out.write("%.3f %s\n" % (t, text))

    def text(self):
        return "\n".join(t for _, t in self.lines)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._reader:
            self._reader.join(5)

    def ctl_json(self, *args):
        exe = os.path.join(self.build_dir, "cli", "memtidectl")
        r = subprocess.run([exe, "--socket", self.socket, "--json"] + list(args),
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def targets(self, since):
        """memtided's commands after `since`: (t, target MiB, 'deflate'|'inflate'|...)."""
        out = []
        for t, text in list(self.lines):
            m = TARGET_RE.search(text)
            if t >= since and m and text.startswith("guest "):
                out.append((t, float(m.group(1)) * UNITS[m.group(2)], m.group(3)))
        return out


class BalloonWatch:
    """query-balloon every 50 ms on the guest's second monitor."""

    def __init__(self, guest):
        self.samples = []  # (monotonic seconds, actual MiB)
        self._path = guest.test_qmp_path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            mon = QmpConnection(self._path)
        except GuestError:
            return
        try:
            while not self._stop.is_set():
                try:
                    actual = mon.execute("query-balloon", timeout=5)["actual"] / MIB
                except (GuestError, OSError):
                    return
                self.samples.append((time.monotonic(), actual))
                mon.events.clear()
                self._stop.wait(BALLOON_POLL_S)
        finally:
            mon.close()

    def stop(self):
        self._stop.set()
        self._thread.join(5)


def wait_squeezed(daemon, name):
    """Until the guest sits at its target near its floor for 2 s; its list entry."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    calm = 0
    while time.monotonic() < deadline:
        doc = daemon.ctl_json("list")
        g = next((x for x in (doc or {}).get("guests", []) if x["name"] == name), None)
        ok = (g and g.get("floor_bytes") and g.get("target_bytes") and
              g["actual_bytes"] <= 1.25 * g["floor_bytes"] and
              g["actual_bytes"] < 0.60 * BOOT_MIB * MIB and
              abs(g["actual_bytes"] - g["target_bytes"]) <= 4 * MIB and
              not g.get("command_pending"))
        calm = calm + 1 if ok else 0
        if calm >= 3:
            return g
        time.sleep(1.0)
    raise GuestError("%s not squeezed within %.0f s" % (name, SETTLE_TIMEOUT_S))


def burst(guest, rate):
    """Sends alloc; returns (t0, reply or None, t_reply). Stops waiting at
    an OOM kill (the workload is restarted, no reply comes)."""
    budget = 60.0 + (BURST_MIB / rate if rate else BURST_MIB / 10.0)
    guest.drain()
    t0 = time.monotonic()
    guest.send("alloc %d %g" % (BURST_MIB, rate))
    deadline = t0 + budget
    while time.monotonic() < deadline:
        try:
            line = guest.read_line(timeout=0.5)
            return t0, line, time.monotonic()
        except GuestError:
            if guest.oom_killed() or not guest.is_running():
                return t0, None, time.monotonic()
    return t0, None, time.monotonic()


def fights(targets, samples, t0, t_end):
    """Guest deflations (balloon above memtided's last target by > 2 MiB)
    and fights (an inflate command after a guest deflation, followed by
    another guest deflation), from t0 to t_end."""
    last_target = None
    cmds = iter(sorted(targets))
    pending = next(cmds, None)
    deflations, rounds = 0, 0
    above, inflated_after = False, False
    for t, actual in samples:
        while pending and pending[0] <= t:
            last_target = pending[1]
            if above and pending[1] < actual:
                inflated_after = True
            above = False
            pending = next(cmds, None)
        if t < t0 or t > t_end or last_target is None:
            continue
        now_above = actual > last_target + 2
        if now_above and not above:
            deflations += 1
            if inflated_after:
                rounds += 1
                inflated_after = False
        above = now_above
    return deflations, rounds


def one_run(build_dir, workdir, rate, doo, index, burst_lock):
    name = "b%d" % index
    wd = os.path.join(workdir, "%s-r%s-doo%s" % (name, rate or "max", "on" if doo else "off"))
    os.makedirs(wd)
    result = {"rate": rate, "deflate_on_oom": doo, "index": index}
    g = Guest(name, wd, mem_mib=BOOT_MIB, deflate_on_oom=doo, test_monitor=True)
    daemon = Memtided(build_dir, wd, g.qmp_path)
    watch = None
    try:
        g.start()
        g.wait_ready(180)
        daemon.start()
        t_settle = time.monotonic()
        entry = wait_squeezed(daemon, name)
        with burst_lock:
            entry = wait_squeezed(daemon, name)  # still there after waiting our turn
            result["load1"] = os.getloadavg()[0]
            result["squeezed_s"] = round(time.monotonic() - t_settle, 1)
            result["actual_mib"] = round(entry["actual_bytes"] / MIB, 1)
            result["floor_mib"] = round(entry["floor_bytes"] / MIB, 1)
            watch = BalloonWatch(g)
            time.sleep(0.5)
            t0, reply, t_reply = burst(g, rate)
            time.sleep(AFTER_S)
            watch.stop()
        result["reply"] = reply
        result["met"] = reply == "allocated %d" % BURST_MIB
        result["burst_s"] = round(t_reply - t0, 2)
        result["oom"] = g.oom_killed()
        targets = daemon.targets(t0 - 0.5)
        deflates = [t for t, _, kind in targets if kind == "deflate" and t >= t0]
        result["first_reaction_ms"] = round((deflates[0] - t0) * 1000) if deflates else None
        result["commands"] = [(round(t - t0, 3), round(mib, 1), kind) for t, mib, kind in targets]
        result["balloon"] = [(round(t - t0, 3), round(a, 1)) for t, a in watch.samples]
        d, f = fights(targets, watch.samples, t0, t_reply + AFTER_S)
        result["guest_deflations"] = d
        result["fights"] = f
        result["workdir"] = wd
    except GuestError as e:
        result["error"] = str(e)[:500]
    finally:
        if watch:
            watch.stop()
        daemon.stop()
        g.kill()
    log("rate %s doo %s #%d: %s" % (rate or "max", "on" if doo else "off", index, summary(result)))
    return result


def summary(r):
    if "error" in r:
        return "error: " + r["error"][:200]
    return ("%s in %.2f s, OOM %s, first reaction %s ms, guest deflations %d, fights %d, "
            "squeezed to %.0f MiB (floor %.0f) in %.0f s, load %.2f" % (
                "met" if r["met"] else "NOT met (%s)" % r["reply"], r["burst_s"],
                "yes" if r["oom"] else "no", r["first_reaction_ms"], r["guest_deflations"],
                r["fights"], r["actual_mib"], r["floor_mib"], r["squeezed_s"], r["load1"]))


# --- host pressure: how soon does memtided see tasks stalling on memory? ---

HOG_FILE_MIB = 512
HOG_LIMIT_MIB = 64
def first_line(daemon, since, needle, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for t, text in list(daemon.lines):
            if t >= since and needle in text:
                return t
        time.sleep(0.01)
    return None


def status_avg10(daemon):
    return ((daemon.ctl_json("status") or {}).get("host") or {}).get("psi_some_avg10_percent") or 0


def first_status_pressure(daemon, before, timeout):
    """main's memtided logs no PSI: the first status whose host sample has
    PSI some avg10 above `before` (what it had when the hog started; a past
    stall decays for minutes), status polled every 50 ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if status_avg10(daemon) > before:
            return time.monotonic()
        time.sleep(0.05)
    return None


def stall_onset(since, timeout):
    """When PSI's some total starts rising (read every 5 ms)."""
    base = psi_some_total()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if psi_some_total() > base:
            return time.monotonic()
        time.sleep(0.005)
    return None


def wait_quiet(seconds=12.0, timeout=120.0):
    """Until no task stalled on memory for `seconds` (PSI total unchanged)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        base, t0 = psi_some_total(), time.monotonic()
        while time.monotonic() - t0 < seconds and psi_some_total() == base:
            time.sleep(0.2)
        if psi_some_total() == base:
            return True
    return False


def host_pressure_run(variant, build_dir, workdir, hog, index, prime):
    wd = os.path.join(workdir, "psi-%s-%d" % (variant.replace(" ", "-"), index))
    os.makedirs(wd)
    extra = {"trigger": "PressureTrigger=yes\n", "no trigger": "PressureTrigger=no\n"}.get(
        variant, "")
    daemon = Memtided(build_dir, wd, os.path.join(wd, "none*.qmp"), extra)
    result = {"variant": variant, "index": index}
    try:
        wait_quiet()
        daemon.start()
        if prime:
            # The kernel's unprivileged trigger fires at the first stall after
            # it is set, however small (memtided ignores that one): a short
            # stall first, so that what is measured is the trigger in use.
            time.sleep(0.5)
            hog.start()
            time.sleep(0.3)
            hog.stop()
            wait_quiet(seconds=4.0)
        time.sleep(3.3 + 0.37 * index)  # the hog starts at a different phase of the cycle
        result["load1"] = os.getloadavg()[0]
        before = status_avg10(daemon) if variant == "main" else 0
        t0 = time.monotonic()
        hog.start()
        onset = stall_onset(t0, 20)
        if variant == "main":
            seen = first_status_pressure(daemon, before, 20)
            fired = None
        else:
            seen = first_line(daemon, t0, "host: tasks stalled on memory", 20)
            fired = first_line(daemon, t0, "PSI trigger: tasks stalled",
                               5 if variant == "trigger" else 0.1)
        hog.stop()
        result["onset_ms"] = round((onset - t0) * 1000) if onset else None
        result["seen_ms"] = round((seen - onset) * 1000) if seen and onset else None
        result["trigger_ms"] = round((fired - onset) * 1000) if fired and onset else None
        result["trigger_log"] = next((t for _, t in daemon.lines if "PSI trigger" in t), None)
    finally:
        hog.stop()
        daemon.stop()
    log("host pressure, %s #%d: stall %s ms after the hog started, first cycle seeing it %s ms "
        "after that, trigger fired at %s ms, load %.2f (%s)" % (
            variant, index, result["onset_ms"], result["seen_ms"], result["trigger_ms"],
            result["load1"], result["trigger_log"]))
    return result


def host_pressure_bench(args):
    variants = ["trigger", "no trigger"] + (["main"] if args.base_build else [])
    hog = MemoryHog(args.workdir, "memtide-burst-hog", HOG_FILE_MIB, HOG_LIMIT_MIB)
    results = []
    try:
        for i in range(args.runs):
            for v in variants:
                build = args.base_build if v == "main" else args.build_dir
                results.append(host_pressure_run(v, build, args.workdir, hog, i, args.prime))
    finally:
        hog.remove()
    print("| memtided | stall seen by a cycle, ms after it began (runs) | median | trigger fired |")
    print("| --- | --- | --- | --- |")
    for v in variants:
        rs = [r for r in results if r["variant"] == v]
        seen = [r["seen_ms"] for r in rs if r["seen_ms"] is not None]
        fired = [r["trigger_ms"] for r in rs if r["trigger_ms"] is not None]
        print("| %s | %s (load %s) | %s | %s |" % (
            v, ", ".join(str(r["seen_ms"]) for r in rs),
            "/".join("%.1f" % r["load1"] for r in rs),
            statistics.median(seen) if seen else "-",
            ", ".join(str(x) for x in fired) if fired else "-"))
    return results


def wait_for_load(limit, max_wait):
    if limit <= 0:
        return
    t0 = time.monotonic()
    while os.getloadavg()[0] > limit and time.monotonic() - t0 < max_wait:
        time.sleep(10)
    load = os.getloadavg()[0]
    if load > limit:
        log("load %.2f still above %.2f after %.0f s: running anyway" % (load, limit, max_wait))


def run_all(args, jobs):
    burst_lock = threading.Lock()
    results = [None] * len(jobs)
    todo = list(enumerate(jobs))
    todo_lock = threading.Lock()

    def worker():
        while True:
            with todo_lock:
                if not todo:
                    return
                i, (rate, doo, idx) = todo.pop(0)
            results[i] = one_run(args.build_dir, args.workdir, rate, doo, idx, burst_lock)

    threads = [threading.Thread(target=worker) for _ in range(args.parallel)]
    for t in threads:
        t.start()
        time.sleep(3)  # staggered boots
    for t in threads:
        t.join()
    return results


def cell(rs):
    ok = [r for r in rs if "error" not in r]
    if not ok:
        return "error"
    reactions = [r["first_reaction_ms"] for r in ok if r["first_reaction_ms"] is not None]
    med = "%d ms" % statistics.median(reactions) if reactions else "none"
    s = "%d/%d met, OOM %d, first reaction %s median" % (
        sum(r["met"] for r in ok), len(ok), sum(r["oom"] for r in ok), med)
    if any(r["deflate_on_oom"] for r in ok):
        s += ", fights %d" % sum(r["fights"] > 0 for r in ok)
    if len(ok) < len(rs):
        s += " (%d failed to run)" % (len(rs) - len(ok))
    return s


def print_table(results, rates, doos, out):
    out.write("| rate (MiB/s) | %s |\n" % " | ".join("deflate-on-oom %s" % d for d in doos))
    out.write("| --- |%s\n" % (" --- |" * len(doos)))
    for rate in rates:
        cells = []
        for d in doos:
            rs = [r for r in results if r["rate"] == rate and r["deflate_on_oom"] == (d == "on")]
            loads = "/".join("%.1f" % r["load1"] for r in rs if "load1" in r)
            cells.append("%s (load %s)" % (cell(rs), loads))
        out.write("| %s | %s |\n" % (rate or "flat out", " | ".join(cells)))


def parse_rates(s):
    return [0 if x == "max" else int(x) for x in s.split(",")]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--rates", default="50,100,200,400,max")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--doo", default="off,on")
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--json", metavar="FILE", help="write every run's record here")
    p.add_argument("--wait-load", type=float, default=1.5,
                   help="wait (up to 10 min) for the 1-min load to fall below this; 0: do not")
    p.add_argument("--workdir", default=None)
    p.add_argument("--host-pressure", action="store_true",
                   help="instead of bursts: how soon memtided sees a host memory hog's stalls, "
                        "with and without its PSI trigger")
    p.add_argument("--prime", action="store_true",
                   help="with --host-pressure: a short stall after memtided starts, before "
                        "the measured one (the trigger's spurious first wake-up out of the way)")
    p.add_argument("--base-build", default=None,
                   help="with --host-pressure: also this memtided (main's), seen through status")
    args = p.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    if not guests.image_present():
        guests.ensure_image()
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="memtide-burst-")
    os.makedirs(args.workdir, exist_ok=True)
    if args.host_pressure:
        results = host_pressure_bench(args)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        return 0
    rates, doos = parse_rates(args.rates), args.doo.split(",")
    jobs = [(rate, d == "on", i) for i in range(args.runs) for d in doos for rate in rates]
    jobs = [(rate, doo, n) for n, (rate, doo, _) in enumerate(jobs)]
    wait_for_load(args.wait_load, 600)
    log("%d runs, %d at a time, in %s; load %.2f" % (len(jobs), args.parallel, args.workdir,
                                                     os.getloadavg()[0]))
    t0 = time.monotonic()
    results = run_all(args, jobs)
    print_table(results, rates, doos, sys.stdout)
    print("%d runs in %.0f s, parallel %d" % (len(results), time.monotonic() - t0, args.parallel))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
