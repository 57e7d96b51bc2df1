#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Replays real VM memory traces on real guests under a host budget.

Boots N TCG guests (tests/guest, free page reporting on, a virtio disk for
page cache), puts their QEMU processes in a memory cgroup limited to the
budget (--budget-fraction of the guests' total memory) plus QEMU's own
overhead (measured on the idle guests), starts memtided with --strategy
(none for static), and makes each guest's memory use follow one VM of the
trace: that VM's used/provisioned fraction times the guest's size, time
compressed by --speedup. Every second it records each QEMU's RSS, the
cgroup's usage, balloons, memtided's targets, guest OOM kills (console),
host OOM kills (QEMUs killed by the cgroup) and allocation stalls. Then it
runs `memtidectl simulate` on the same VMs, scaling, speedup and host, so
that every run also measures the simulator's error.

  bench/replay.py [--guests N] [--hours H] [--budget-fraction F]
                  [--strategy S | --compare] [--vms busiest:N|I,J,...]
                  [--speedup X] [--json] [--svg FILE] [--build DIR]

Needs root (cgroups), QEMU and the guest image (MEMTIDE_GUEST_IMAGE, else
BUILD/tests/guest/image). Stdlib only.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "guest"))

import guests  # noqa: E402
import replay_cgroup  # noqa: E402
import replay_plot  # noqa: E402
import replay_trace  # noqa: E402

MIB = 1 << 20
STRATEGIES = ["adaptive", "mom", "proxmox", "static"]
OOM_KILL_RE = re.compile(r"Out of memory: Killed process \d+|Memory cgroup out of memory")
# Proxmox balloons only guests with a minimum; as in `memtidectl simulate`,
# the proxmox run gives every guest one of 1/16 of its memory.
PROXMOX_MIN_SHARE = 0.0625
WARM_UP_MIB = 64


class ReplayError(Exception):
    """The run could not be set up or driven: reported, exit status 1."""


# --- memtided -----------------------------------------------------------------

def write_config(path, a, strategy, sockets, workdir, budget_key):
    """memtided's config, also given to the simulator: the policy settings
    of both are the same file."""
    lines = ["[Daemon]", "Backend=qmp", "QMPSockets=%s" % " ".join(sockets),
             "ControlSocket=%s" % os.path.join(workdir, "memtide.sock"),
             "StateDirectory=%s" % os.path.join(workdir, "state")]
    if budget_key:
        # The cgroup's limit and usage: what the guests may hold and hold.
        lines.append("GuestMemoryBudget=auto")
    lines += ["", "[Policy]", "Strategy=%s" % (strategy if strategy != "static" else "adaptive")]
    if strategy == "proxmox":
        lines += ["", "[Guest:*]", "MinMemory=%dM" % int(a.mem * PROXMOX_MIN_SHARE)]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def budget_key_supported(memtided, workdir):
    """Whether this memtided knows [Daemon] GuestMemoryBudget= (issue 15)."""
    path = os.path.join(workdir, "probe.conf")
    with open(path, "w") as f:
        f.write("[Daemon]\nGuestMemoryBudget=auto\n")
    r = subprocess.run([memtided, "--config", path, "--check-config"], capture_output=True,
                       text=True)
    return r.returncode == 0


class Daemon:
    def __init__(self, build, config, workdir):
        self.ctl = os.path.join(build, "cli", "memtidectl")
        self.socket = os.path.join(workdir, "memtide.sock")
        self.log_path = os.path.join(workdir, "memtided.log")
        self.exe = os.path.join(build, "daemon", "memtided")
        self.config = config
        self.proc = None

    def start(self):
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([self.exe, "--config", self.config], stdout=log,
                                         stderr=subprocess.STDOUT,
                                         preexec_fn=guests._child_setup)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise ReplayError("memtided did not start; log:\n" + self.log_tail())
            time.sleep(0.1)

    def targets(self):
        """memtided's target per guest name (bytes), {} when it does not answer."""
        r = subprocess.run([self.ctl, "--socket", self.socket, "--json", "list"],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            return {}
        return {g["name"]: g.get("target_bytes") for g in json.loads(r.stdout)["guests"]}

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""


# --- QEMU's memory ------------------------------------------------------------

def qemu_memory(pid, mem_mib):
    """(VmRSS, resident part of the guest's RAM block) of a QEMU, bytes; the
    RAM block is the anonymous mapping of the guest's size (pc.ram)."""
    rss = guest_ram = 0
    size = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if "-" in line.split(" ", 1)[0]:
                start, end = line.split(" ", 1)[0].split("-")
                fields = line.split()
                anon = len(fields) < 6
                size = int(end, 16) - int(start, 16) if anon else None
            elif line.startswith("Rss:"):
                kib = int(line.split()[1])
                rss += kib * 1024
                if size == mem_mib * MIB:
                    guest_ram += kib * 1024
    return rss, guest_ram


# --- one run --------------------------------------------------------------------

class Run:
    """One strategy on the slice: guests, cgroup, memtided, the drive loop."""

    def __init__(self, a, strategy, slice_, workdir):
        self.a = a
        self.strategy = strategy
        self.slice = slice_
        self.workdir = workdir
        self.guests = []
        self.cgroup = None
        self.daemon = None
        self.samples = []
        self.info = {}

    def log(self, msg):
        print("[%s %6.1f] %s" % (self.strategy, time.monotonic() - self.t0, msg), flush=True)

    def boot(self):
        self.cgroup = replay_cgroup.Cgroup.create("memtide-replay-%d-%s" % (os.getpid(),
                                                                            self.strategy))
        for i, vm in enumerate(self.slice.vms):
            g = guests.Guest("replay%d" % (i + 1), self.workdir, mem_mib=self.a.mem,
                             free_page_reporting=True, test_monitor=True, disk_mib=self.a.mem,
                             image_dir=self.a.image, cgroup_procs=self.cgroup.procs_path)
            self.guests.append(g)
            g.start()
        for g in self.guests:
            g.wait_ready(240)

    def warm_up(self):
        """Runs the paths the replay will (allocating, freeing, reading the
        disk, the balloon both ways) once, so that QEMU's code cache has them
        before its overhead is measured; then drops the cache and lets page
        reporting return what was freed."""
        for g in self.guests:
            g.hold(WARM_UP_MIB)
            g.cache(WARM_UP_MIB)
            g.set_balloon_mib(self.a.mem - 2 * WARM_UP_MIB)
        time.sleep(2)
        for g in self.guests:
            g.set_balloon_mib(self.a.mem)
            g.hold(0)
            g.cache(0)
            if g.command("dropcache") != "dropped":
                raise ReplayError("%s: dropcache failed" % g.name)

    def measure_idle(self):
        """What the idle guests have resident (the demand's base) and may
        still hold, and QEMU's overhead: the cgroup's usage (RSS, kernel
        memory, page cache charged to it) less the guests' resident RAM.
        Measured with memtided running: its set-up (query-qmp-schema among
        others) grows each QEMU's heap by ~20 MiB for good."""
        time.sleep(self.a.settle)
        base, room, overhead, rss = [], [], [], []
        for g in self.guests:
            mi = g.meminfo()
            room.append((mi["available_kib"]) * 1024)
            r, ram = qemu_memory(g.pid, self.a.mem)
            base.append(ram)
            rss.append(r)
            overhead.append(r - ram)
        self.overhead_bytes = self.cgroup.usage() - sum(base)
        self.slice.set_guests(base, room)
        self.info.update(idle_resident_bytes=base, idle_rss_bytes=rss,
                         qemu_overhead_bytes=overhead, overhead_bytes=self.overhead_bytes,
                         capped_points=self.slice.capped_points())
        self.log("idle guests: RAM resident %s MiB, QEMU RSS %s MiB (RSS overhead %s MiB); "
                 "cgroup overhead %d MiB; %d demand points capped at what a guest can hold" % (
                     [b // MIB for b in base], [r // MIB for r in rss],
                     [o // MIB for o in overhead], self.overhead_bytes // MIB,
                     self.info["capped_points"]))

    def start_manager(self, budget_key):
        sockets = [g.qmp_path for g in self.guests]
        self.config = os.path.join(self.workdir, "memtide.conf")
        write_config(self.config, self.a, self.strategy, sockets, self.workdir, budget_key)
        if self.strategy == "static":
            return
        self.daemon = Daemon(self.a.build, self.config, self.workdir)
        self.daemon.start()

    def drive(self):
        """Every second: each guest's target from the trace, then a sample."""
        duration = self.slice.duration_sec
        start = time.monotonic()
        for g in self.guests:
            g.cache(self.a.cache_rate)
        next_t = start
        while True:
            now = time.monotonic() - start
            if now > duration:
                break
            self.samples.append(self.sample(now))
            next_t += 1.0
            time.sleep(max(0.0, next_t - time.monotonic()))
            if len(self.samples) % 30 == 0:
                s = self.samples[-1]
                self.log("t=%3.0f s  RSS %5d MiB  cgroup %5d MiB  guest OOM %d  host OOM %d" % (
                    now, s["rss_sum"] // MIB, s["cgroup_bytes"] // MIB, s["guest_oom"],
                    s["host_oom"]))

    def sample(self, now):
        """Sends the holds, then reads every figure of this second."""
        live = [g.is_running() for g in self.guests]
        for i, g in enumerate(self.guests):
            if live[i]:
                self.try_send(g, "hold %d 0\nmeminfo" % self.slice.hold_mib(i, now))
        rec = {"t": round(now, 2), "rss": [], "guest_ram": [], "balloon": [], "held": [],
               "cache": [], "allocstall": [],
               "demand": [self.slice.demand_bytes(i, now) for i in range(len(self.guests))]}
        for i, g in enumerate(self.guests):
            self.read_guest(g, live[i], rec)
        targets = self.daemon.targets() if self.daemon and self.daemon.alive() else {}
        rec["target"] = [targets.get(g.name) for g in self.guests]
        rec["rss_sum"] = sum(rec["rss"])
        rec["cgroup_bytes"] = self.cgroup.usage()
        rec["overhead_bytes"] = rec["cgroup_bytes"] - sum(rec["guest_ram"])
        rec["guest_oom"] = sum(len(OOM_KILL_RE.findall(g.console_text())) for g in self.guests)
        rec["host_oom"] = self.host_ooms()
        return rec

    def try_send(self, g, text):
        try:
            g.send(text)
        except (guests.GuestError, OSError):
            pass

    def read_guest(self, g, live, rec):
        held = cache = stall = balloon = None
        rss = ram = 0
        if live:
            try:
                rss, ram = qemu_memory(g.pid, self.a.mem)
                for _ in range(2):
                    line = g.read_line(5.0)
                    if line.startswith("hold "):
                        held = int(line.split()[-1])
                    elif line.startswith("meminfo "):
                        mi = dict(kv.split("=") for kv in line.split()[1:])
                        cache = (int(mi["buffers_kib"]) + int(mi["cached_kib"])) * 1024
                        stall = int(mi["allocstall"])
                balloon = int(g.qmp("query-balloon", timeout=5)["actual"])
            except (guests.GuestError, OSError, ValueError, KeyError):
                g.drain() if g.is_running() else None
        for key, v in (("rss", rss), ("guest_ram", ram), ("held", held), ("cache", cache),
                       ("allocstall", stall), ("balloon", balloon)):
            rec[key].append(v)

    def host_ooms(self):
        """QEMUs the cgroup's OOM killer killed: its counter where the kernel
        has one, at least the QEMUs that died."""
        dead = sum(1 for g in self.guests if not g.is_running())
        return max(self.cgroup.oom_kills(), dead)

    def run(self, budget_key):
        self.t0 = time.monotonic()
        try:
            self.boot()
            self.warm_up()
            # A limit from the start, so that memtided finds one; the final
            # one once the overhead is measured with memtided running.
            self.cgroup.set_limit(self.slice.budget_bytes + 2 * self.cgroup.usage())
            self.start_manager(budget_key)
            self.measure_idle()
            limit = self.slice.budget_bytes + self.overhead_bytes
            self.cgroup.set_limit(limit)
            self.info.update(cgroup_limit_bytes=limit, cgroup_version=self.cgroup.version)
            self.log("cgroup %s (v%d) limit %d MiB = budget %d MiB + QEMU overhead %d MiB" % (
                self.cgroup.path, self.cgroup.version, limit // MIB,
                self.slice.budget_bytes // MIB, self.overhead_bytes // MIB))
            self.drive()
        finally:
            self.teardown()
        return self.summary()

    def teardown(self):
        if self.daemon:
            self.daemon.stop()
        for g in self.guests:
            g.kill()
        if self.cgroup:
            self.cgroup.remove()

    def summary(self):
        s = self.samples
        if not s:
            raise ReplayError("%s: no samples recorded" % self.strategy)
        churn = 0
        for prev, cur in zip(s, s[1:]):
            churn += sum(abs(b - a) for a, b in zip(prev["balloon"], cur["balloon"])
                         if a is not None and b is not None)
        stalls = [b - a for a, b in zip(s[0]["allocstall"], s[-1]["allocstall"])
                  if a is not None and b is not None]
        return {
            "strategy": self.strategy,
            "guests": len(self.guests),
            "peak_rss_bytes": max(r["rss_sum"] for r in s),
            "mean_rss_bytes": int(sum(r["rss_sum"] for r in s) / len(s)),
            "peak_guest_ram_bytes": max(sum(r["guest_ram"]) for r in s),
            "peak_cgroup_bytes": max(r["cgroup_bytes"] for r in s),
            "peak_overhead_bytes": max(r["overhead_bytes"] for r in s),
            "budget_bytes": self.slice.budget_bytes,
            "guest_oom": s[-1]["guest_oom"],
            "host_oom": s[-1]["host_oom"],
            "churn_bytes": churn,
            "alloc_stalls": sum(stalls),
            "seconds": len(s),
            **self.info,
        }


# --- the simulator on the same slice ------------------------------------------------

def simulate(a, run, slice_, summary):
    """memtidectl simulate on the demand the guests were given: the same VMs,
    scaling, speedup (a step of 1 s on the compressed clock), host (the
    budget), cache growth, page reporting and no swap (the guests have none)."""
    csv_path = os.path.join(run.workdir, "slice.csv")
    slice_.write_csv(csv_path)
    strategy = run.strategy
    cmd = [os.path.join(a.build, "cli", "memtidectl"), "simulate", "--json", "--timeline",
           "--trace", csv_path, "--strategy", strategy, "--host-fraction", repr(a.budget_fraction),
           "--config", run.config, "--step", "1", "--cache-rate", repr(a.cache_rate),
           "--swap-share", "0", "--page-reporting"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise ReplayError("%s failed: %s" % (" ".join(cmd), r.stderr.strip()))
    sim = json.loads(r.stdout)
    # VmRSS also counts QEMU's binary and libraries, in every QEMU: the
    # simulated guest memory plus the RSS overhead measured on the idle guests.
    overhead = sum(run.info["qemu_overhead_bytes"])
    peak = int(sim["peak_resident_gib"] * (1 << 30))
    summary.update(
        sim_peak_rss_bytes=peak + overhead,
        sim_peak_guest_ram_bytes=peak,
        sim_oom=sim["oom_events"],
        sim_overrun_gib_hours=sim["overrun_gib_hours"],
        sim_command=" ".join(cmd),
        sim_error=(peak + overhead) / summary["peak_rss_bytes"] - 1,
        sim_guest_ram_error=peak / max(summary["peak_guest_ram_bytes"], 1) - 1)
    curve = [(p["time_seconds"], p["resident_bytes"] + overhead) for p in sim["timeline"]]
    summary["sim_error_before_host_oom"] = error_before_host_oom(run.samples, curve)
    return curve


def error_before_host_oom(samples, curve):
    """The simulator's peak against the measured one until the first QEMU
    was killed: a killed QEMU's memory is gone from the measurement, not
    from the simulation, which only counts the overrun."""
    end = next((r["t"] for r in samples if r["host_oom"] > 0), float("inf"))
    real = max((r["rss_sum"] for r in samples if r["t"] < end), default=0)
    sim = max((b for t, b in curve if t < end), default=0)
    return sim / real - 1 if real else None


# --- output -------------------------------------------------------------------------

def print_table(rows):
    print("%-9s %8s %8s %8s %6s %6s %8s %7s %9s %5s %8s %7s %9s" % (
        "strategy", "peak RSS", "mean RSS", "budget", "guest", "host", "churn", "stalls",
        "sim peak", "sim", "sim", "sim", "sim error"))
    print("%-9s %8s %8s %8s %6s %6s %8s %7s %9s %5s %8s %7s %9s" % (
        "", "MiB", "MiB", "MiB", "OOM", "OOM", "MiB", "", "RSS MiB", "OOM", "overrun", "error",
        "< host OOM"))
    for r in rows:
        before = r["sim_error_before_host_oom"]
        print("%-9s %8d %8d %8d %6d %6d %8d %7d %9d %5d %8s %+6.1f%% %9s" % (
            r["strategy"], r["peak_rss_bytes"] // MIB, r["mean_rss_bytes"] // MIB,
            r["budget_bytes"] // MIB, r["guest_oom"], r["host_oom"], r["churn_bytes"] // MIB,
            r["alloc_stalls"], r["sim_peak_rss_bytes"] // MIB, r["sim_oom"],
            "yes" if r["sim_overrun_gib_hours"] > 0 else "no", 100 * r["sim_error"],
            "-" if before is None else "%+.1f%%" % (100 * before)))
    r = rows[0]
    print("budget: %.3f of %d x %d MiB; cgroup limit %d MiB (budget + QEMU overhead %d MiB "
          "measured on the idle guests after a warm-up)" % (r["budget_fraction"], r["guests"], r["mem_mib"],
                                            r["cgroup_limit_bytes"] // MIB,
                                            r["overhead_bytes"] // MIB))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--guests", type=int, default=8)
    p.add_argument("--mem", type=int, default=512, help="MiB per guest (default 512)")
    p.add_argument("--budget-fraction", type=float, default=0.5,
                   help="guest memory budget, share of the guests' total (default 0.5)")
    p.add_argument("--strategy", choices=STRATEGIES, default="adaptive")
    p.add_argument("--compare", action="store_true",
                   help="run %s one after another on the same slice" % ", ".join(STRATEGIES))
    p.add_argument("--trace", default=os.path.join(os.path.dirname(ROOT), "shared", "traces",
                                                   "bitbrains-rnd-2013-7.csv.gz"))
    p.add_argument("--vms", default="busiest",
                   help="busiest:N (highest mean use in the window), or trace indexes I,J,... "
                        "(order of first appearance, from 0); default busiest:GUESTS")
    p.add_argument("--start-hour", type=float, default=0,
                   help="where the window starts, hours after the trace's first sample")
    p.add_argument("--hours", type=float, default=12, help="trace hours replayed (default 12)")
    p.add_argument("--speedup", type=float, default=100,
                   help="trace seconds per real second (default 100: a 5-min sample every 3 s)")
    p.add_argument("--cache-rate", type=float, default=1.0,
                   help="page cache growth per guest, MiB/s (default 1, as the simulator's)")
    p.add_argument("--settle", type=float, default=10,
                   help="seconds the idle guests settle before the overhead is measured")
    p.add_argument("--no-budget-key", action="store_true",
                   help="do not pass GuestMemoryBudget= to memtided (also when it lacks the key)")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--image", default=None, help="guest image directory")
    p.add_argument("--workdir", default=None, help="keep the run's files here")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--record", help="write every second's samples (JSON) to this file")
    p.add_argument("--svg", help="plot the sum of RSS against time (default with --compare: "
                                 "docs/replay.svg)")
    a = p.parse_args(argv)
    if a.guests < 1 or not 0 < a.budget_fraction <= 2 or a.hours <= 0 or a.speedup <= 0:
        p.error("--guests, --budget-fraction (0, 2], --hours and --speedup must be positive")
    a.image = a.image or os.environ.get("MEMTIDE_GUEST_IMAGE") or \
        os.path.join(a.build, "tests", "guest", "image")
    if a.compare and not a.svg:
        a.svg = os.path.join(ROOT, "docs", "replay.svg")
    return a


def run_all(a, workdir):
    slice_ = replay_trace.Slice.load(a.trace, a.vms, a.guests, a.start_hour, a.hours, a.speedup,
                                     a.mem, a.budget_fraction)
    print("trace %s: VMs %s, hours %g-%g, speedup %g (%.0f s), budget %d MiB" % (
        os.path.basename(a.trace), ", ".join(slice_.vms), a.start_hour, a.start_hour + a.hours,
        a.speedup, slice_.duration_sec, slice_.budget_bytes // MIB), flush=True)
    memtided = os.path.join(a.build, "daemon", "memtided")
    budget_key = not a.no_budget_key and budget_key_supported(memtided, workdir)
    if not budget_key:
        print("note: memtided is not told the budget (GuestMemoryBudget= %s)" % (
            "left out" if a.no_budget_key else "not known to this memtided"), flush=True)
    rows, curves = [], {}
    for strategy in (STRATEGIES if a.compare else [a.strategy]):
        d = os.path.join(workdir, strategy)
        os.makedirs(d, exist_ok=True)
        run = Run(a, strategy, slice_, d)
        summary = run.run(budget_key)
        summary.update(budget_fraction=a.budget_fraction, mem_mib=a.mem, vms=slice_.vms,
                       budget_key=budget_key, hours=a.hours, speedup=a.speedup)
        sim_curve = simulate(a, run, slice_, summary)
        curves[strategy] = ([(r["t"], r["rss_sum"]) for r in run.samples], sim_curve)
        rows.append(summary)
        if a.record:
            with open(a.record if not a.compare else "%s.%s" % (a.record, strategy), "w") as f:
                json.dump(run.samples, f)
    return rows, curves


def main(argv=None):
    a = parse_args(argv)
    if os.geteuid() != 0:
        print("replay: needs root (a memory cgroup for the QEMUs)", file=sys.stderr)
        return 1
    # The compressed kernel: vmlinux-pvh is a file mapping every QEMU's RSS
    # counts in full although the host holds it once.
    os.environ["MEMTIDE_GUEST_PVH"] = "0"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = a.workdir or tempfile.mkdtemp(prefix="memtide-replay-")
    os.makedirs(workdir, exist_ok=True)
    try:
        rows, curves = run_all(a, workdir)
    except (ReplayError, replay_trace.TraceError, replay_cgroup.CgroupError,
            guests.GuestError) as e:
        print("replay: %s" % e, file=sys.stderr)
        return 1
    with open(os.path.join(workdir, "results.json"), "w") as f:
        json.dump(rows, f, indent=2)
    if a.json:
        print(json.dumps(rows if a.compare else rows[0], indent=2))
    else:
        print_table(rows)
    if a.svg:
        replay_plot.write_svg(a.svg, curves, rows[0]["cgroup_limit_bytes"],
                              rows[0]["budget_bytes"], a)
        print("plot: %s" % a.svg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
