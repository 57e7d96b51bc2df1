#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""memtided's own cost at scale on the QMP backend: N fake QEMUs
(bench/fake_qemu.py, one process answering as QEMU 7.2 did) managed by the
real memtided of BUILD_DIR with Backend=qmp, StatsPeriod=1s and the default
Interval.

For each N: start the fake and memtided, wait until every guest is managed,
probed (compat) and its balloon settled (no command on its way, sizes
still), then over a
steady window of S seconds measure memtided's share of one core (its CPU
time from the scheduler, /proc/PID/task/*/schedstat, over wall time), its RssAnon (/proc/PID/status),
PSS and private memory (Private_Clean + Private_Dirty, /proc/PID/smaps_rollup),
the fake's own share of a core and the QMP commands it answered per second.
Then the reaction: guests spread over the range are made to report distress
one at a time, and the time from that report to memtided's deflating
`balloon` command arriving at the fake is taken.

    bench/qmp-scale.py BUILD_DIR [--guests 10,100,1000] [--seconds 60] [--json]

Stdlib only; memtided runs without --debug (LogLevel=info), its log in the
work directory.
"""

import argparse
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("MEMTIDE_BUILD_DIR", "")

from harness import Daemon, wait_for  # noqa: E402

MIB = 1 << 20
REACTION_TRIALS = 9
REACTION_TIMEOUT_SEC = 10


def cpu_sec(pid):
    """CPU time of all the process's threads: the scheduler's nanoseconds
    (/proc/PID/task/*/schedstat) where the kernel has them, else
    utime+stime in clock ticks (10 ms: a minute at 0.2 % is 12 ticks)."""
    try:
        total = 0
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kib_fields(path, names):
    out = {}
    with open(path) as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in names:
                out[key] = int(rest.split()[0])
    return out


def memory_mib(pid):
    status = kib_fields("/proc/%d/status" % pid, ("RssAnon", "VmRSS", "VmHWM"))
    rollup = kib_fields("/proc/%d/smaps_rollup" % pid, ("Pss", "Private_Clean", "Private_Dirty"))
    return {"rss_anon_mib": status["RssAnon"] / 1024, "rss_mib": status["VmRSS"] / 1024,
            "peak_rss_mib": status["VmHWM"] / 1024, "pss_mib": rollup["Pss"] / 1024,
            "private_mib": (rollup["Private_Clean"] + rollup["Private_Dirty"]) / 1024}


class QuietDaemon(Daemon):
    """harness.Daemon without --debug: a benchmark measures the daemon as
    it runs in production, not its debug logging."""

    def start(self):
        exe = os.path.join(os.environ["MEMTIDE_BUILD_DIR"], "daemon", "memtided")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([exe, "--config", self.config], stdout=self._log,
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(self.socket), 10, "control socket to appear")
        return self


class Fake:
    """bench/fake_qemu.py as a child: control lines in, answers read by a thread."""

    def __init__(self, directory, n):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_qemu.py"),
                                      directory, str(n)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("ready", 60)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.split())

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, word, timeout, index=None):
        deadline = time.monotonic() + timeout
        while True:
            try:
                words = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise SystemExit("fake_qemu.py exited with %s" % self.proc.returncode)
                if time.monotonic() >= deadline:
                    return None
                continue
            if words[0] == word and (index is None or int(words[1]) == index):
                return words

    def counts(self):
        self.send("counts")
        return json.loads(" ".join(self.expect("counts", 30)[1:]))

    def close(self):
        if self.proc.poll() is None:
            self.send("quit")
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def settled(daemon, fake, n, last):
    """True once n guests are managed, every one has had its first compat
    probe (x-query-virtio and the device's status: set-up work, not the
    steady state) and a balloon command (the fake's idle guests are all
    squeezed), none has a command on its way and the fake's sizes are those
    of the previous call."""
    guests = daemon.guests()
    if len(guests) < n or any(g["command_pending"] for g in guests.values()):
        last[:] = []
        return False
    counts = fake.counts()
    if min(counts["commands"].get(c, 0) for c in ("x-query-virtio", "balloon")) < n:
        return False
    still = counts["actual"] == last
    last[:] = counts["actual"]
    return still


def reaction(fake, n):
    """Seconds from a distress report to the deflating balloon command, per trial."""
    picks = sorted({1 + (n - 1) * k // max(REACTION_TRIALS - 1, 1) for k in range(REACTION_TRIALS)})
    out = []
    for i in picks:
        fake.send("distress %d" % i)
        t0 = float(fake.expect("distress", 10, i)[2])  # the report that shows it
        hit = fake.expect("deflate", REACTION_TIMEOUT_SEC, i)
        out.append(float(hit[2]) - t0 if hit else None)
        fake.send("calm %d" % i)
        fake.expect("calm", 10, i)
        time.sleep(2.5)  # apart from the previous early cycle (at most one per StatsPeriod)
    return out


def run(n, seconds):
    wd = tempfile.mkdtemp(prefix="memtide-qmp-scale-")
    socks = os.path.join(wd, "sock")
    os.mkdir(socks)
    fake = Fake(socks, n)
    daemon = QuietDaemon(wd, {"Backend": "qmp", "QMPSockets": os.path.join(socks, "guest*.qmp"),
                              "StatsPeriod": "1s"})
    result = {"guests": n}
    try:
        t0 = time.monotonic()
        daemon.start()
        wait_for(lambda: len(daemon.guests()) == n, 60 + n / 5, "%d guests managed" % n, 1)
        result["managed_after_sec"] = time.monotonic() - t0
        last = []
        wait_for(lambda: settled(daemon, fake, n, last), 120 + n / 5, "balloons settled", 2)
        result["settled_after_sec"] = time.monotonic() - t0
        pid, fake_pid = daemon.proc.pid, fake.proc.pid
        c0, f0, k0, w0 = cpu_sec(pid), cpu_sec(fake_pid), fake.counts(), time.monotonic()
        time.sleep(seconds)
        c1, f1, w1 = cpu_sec(pid), cpu_sec(fake_pid), time.monotonic()
        k1 = fake.counts()
        wall = w1 - w0
        result.update(memory_mib(pid))
        result["cpu_percent"] = 100 * (c1 - c0) / wall
        result["fake_cpu_percent"] = 100 * (f1 - f0) / wall
        result["window_sec"] = wall
        result["qmp_commands_per_sec"] = (sum(k1["commands"].values()) -
                                          sum(k0["commands"].values())) / wall
        result["commands_per_guest_sec"] = {
            k: round((v - k0["commands"].get(k, 0)) / wall / n, 3)
            for k, v in sorted(k1["commands"].items()) if v > k0["commands"].get(k, 0)}
        result["reconnections"] = k1["connections"] - k0["connections"]
        result["reaction_sec"] = reaction(fake, n)
        if not daemon.alive():
            raise SystemExit("memtided died; log in %s" % daemon.log_path)
    finally:
        daemon.stop()
        fake.close()
    shutil.rmtree(wd, ignore_errors=True)
    return result


def fmt_reaction(r):
    ok = [x for x in r if x is not None]
    missed = len(r) - len(ok)
    s = "%.0f / %.0f ms" % (statistics.median(ok) * 1000, max(ok) * 1000) if ok else "none"
    return s + (" (%d missed)" % missed if missed else "")


def print_table(results):
    print("| guests | memtided CPU (% of a core) | RssAnon MiB | PSS MiB | private MiB "
          "| peak RSS MiB | fake QEMU CPU | QMP commands/s | reaction median / max |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print("| %d | %.3f | %.1f | %.1f | %.1f | %.1f | %.1f %% | %.0f | %s |" % (
            r["guests"], r["cpu_percent"], r["rss_anon_mib"], r["pss_mib"], r["private_mib"],
            r["peak_rss_mib"], r["fake_cpu_percent"], r["qmp_commands_per_sec"],
            fmt_reaction(r["reaction_sec"])))
    for r in results:
        print("%d guests: managed after %.1f s, settled after %.1f s, window %.0f s, "
              "%d reconnections; commands per guest and second: %s" % (
                  r["guests"], r["managed_after_sec"], r["settled_after_sec"], r["window_sec"],
                  r["reconnections"], ", ".join("%s %.2f" % kv
                                                for kv in r["commands_per_guest_sec"].items())))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--guests", default="10,100,1000",
                   help="comma-separated guest counts (default 10,100,1000)")
    p.add_argument("--seconds", type=float, default=60, help="steady window per count")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    a = p.parse_args()
    build = os.path.abspath(a.build_dir)
    for exe in ("daemon/memtided", "cli/memtidectl"):
        if not os.access(os.path.join(build, exe), os.X_OK):
            sys.exit("%s: no %s in this build directory (build it: ninja -C %s)" % (
                a.build_dir, exe, a.build_dir))
    try:
        counts = [int(x) for x in a.guests.split(",")]
    except ValueError:
        sys.exit("--guests: expected comma-separated numbers, got %r" % a.guests)
    os.environ["MEMTIDE_BUILD_DIR"] = build
    results = []
    for n in counts:
        print("-- %d guests" % n, file=sys.stderr, flush=True)
        results.append(run(n, a.seconds))
    if a.json:
        json.dump(results, sys.stdout, indent=1)
        print()
    else:
        print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
