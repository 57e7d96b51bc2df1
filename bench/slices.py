#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks that the policy results hold on slices of a trace, not only on the whole of it.

Cuts the trace into four consecutive 7-day windows (week1..week4, counted
from its first timestamp; rows past day 28 go to week4) and two halves of
its VMs (names sorted, alternating: vms-a, vms-b), sweeps every strategy on
each slice with memtidectl simulate and prints the smallest acceptable host
per strategy, adaptive against the oracle and against the best of mom and
proxmox (each also run with FloorNarrowing=no, see variants.py), the OOM
events, and on how many slices each acceptance bar holds.
Uses only memtidectl simulate and the standard library.

  bench/slices.py [--memtidectl PATH] [--trace FILE] [--strategies LIST]
                  [--config FILE] [--jobs N] [--json] [-- MODEL OPTIONS]
"""
import argparse
import concurrent.futures
import csv
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import variants

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HEADER = ["vm", "timestamp_s", "mem_provisioned_kb", "mem_used_kb"]
KNOWN = ["adaptive", "mom", "proxmox", "static", "oracle"]
STRATEGIES = ["adaptive"] + variants.BASELINES + ["oracle"]
RIVALS = variants.BASELINES  # each baseline with either floor (bench/variants.py)
WEEKS = ["week1", "week2", "week3", "week4"]
HALVES = ["vms-a", "vms-b"]
DAY = 86400
SWEEP_MAX = 1.0  # memtidectl --sweep looks no further than this host fraction
ORACLE_BAR = 10.0  # adaptive at most +10 % over the oracle
RIVAL_BAR = -20.0  # adaptive at least 20 % smaller than the better of mom and proxmox


class Failure(Exception):
    """An unreadable trace or a failed memtidectl run: reported, exit status 1."""


def open_trace(path):
    with open(path, "rb") as f:
        packed = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", newline="") if packed else open(path, newline="")


def trace_rows(path):
    """Yields (row, timestamp, provisioned kB) of every sample, as memtidectl reads them."""
    try:
        with open_trace(path) as f:
            reader = csv.reader(f)
            for row in reader:
                if not row or row[0].startswith("#") or (reader.line_num == 1 and row[0] == "vm"):
                    continue
                try:
                    if len(row) != 4:
                        raise ValueError
                    yield row, int(row[1]), int(row[2])
                except ValueError:
                    raise Failure("cannot read trace %s: malformed line %d"
                                  % (path, reader.line_num)) from None
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as e:
        raise Failure("cannot read trace %s: %s" % (path, e)) from None


def scan(path):
    """First pass: the first timestamp and the sorted VM names."""
    start, vms = None, set()
    for row, ts, _ in trace_rows(path):
        start = ts if start is None else min(start, ts)
        vms.add(row[0])
    if not vms:
        raise Failure("cannot read trace %s: no samples" % path)
    return start, sorted(vms)


class Slice:
    """One slice file being written, and the span of the samples memtidectl will use."""

    def __init__(self, directory, name):
        self.name = name
        self.path = os.path.join(directory, name + ".csv")
        self.file = open(self.path, "w", newline="")
        self.writer = csv.writer(self.file, lineterminator="\n")
        self.writer.writerow(HEADER)
        self.spans = {}  # vm -> [first, last] time of a sample with data

    def add(self, row, ts, provisioned):
        self.writer.writerow(row)
        if provisioned > 0:  # memtidectl drops rows without data
            span = self.spans.setdefault(row[0], [ts, ts])
            span[0], span[1] = min(span[0], ts), max(span[1], ts)

    def close(self):
        """Closes the file; returns the VMs and days memtidectl will simulate."""
        self.file.close()
        spans = [s for s in self.spans.values() if s[0] < s[1]]  # one sample spans no time
        days = (max(s[1] for s in spans) - min(s[0] for s in spans)) / DAY if spans else 0.0
        return {"slice": self.name, "path": self.path, "vms": len(spans), "days": days}


def write_slices(path, directory):
    """Second pass: writes week1..week4, vms-a and vms-b into directory."""
    start, vms = scan(path)
    half = {vm: HALVES[i % 2] for i, vm in enumerate(vms)}
    slices = {name: Slice(directory, name) for name in WEEKS + HALVES}
    for row, ts, provisioned in trace_rows(path):
        week = WEEKS[min((ts - start) // (7 * DAY), len(WEEKS) - 1)]
        slices[week].add(row, ts, provisioned)
        slices[half[row[0]]].add(row, ts, provisioned)
    return [s.close() for s in slices.values()]


def sweep(ctl, trace, args, extra):
    cmd = [ctl, "simulate", "--trace", trace, "--sweep", "--json"] + args + extra
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise Failure("%s failed (exit status %d):\n%s"
                      % (" ".join(cmd), p.returncode, p.stderr.rstrip()))
    try:
        r = json.loads(p.stdout)
    except ValueError:
        raise Failure("%s printed no JSON:\n%s" % (" ".join(cmd), p.stdout[:500])) from None
    r["wall_seconds"] = time.monotonic() - start
    return r


def fraction(r):
    """The smallest acceptable host, None if there is none up to SWEEP_MAX."""
    f = r["min_host_fraction"]
    return f if f is not None and f >= 0 else None


def run_all(a, slices, extra):
    """Sweeps every strategy on every slice, a.jobs at a time; {slice: {strategy: result}}."""
    jobs = [(s, name) for s in slices for name in a.strategies]
    results = {s["slice"]: {} for s in slices}
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        futures = {pool.submit(sweep, a.memtidectl, s["path"],
                               variants.simulate_args(name, a.config, s["dir"]), extra): (s, name)
                   for s, name in jobs}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            s, name = futures[future]
            try:
                r = future.result()
            except Failure:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            results[s["slice"]][name] = r
            f = fraction(r)
            print("[%d/%d] %-6s %-8s min host %s, %.1f s" % (
                done, len(jobs), s["slice"], name, "%.4f" % f if f is not None else "> 1",
                r["wall_seconds"]), file=sys.stderr, flush=True)
    return results


def pct(x, ref):
    return None if x is None or not ref else 100 * (x / ref - 1)


def compare(results):
    """adaptive against the oracle and the best baseline (either floor), and the three bars."""
    f = {name: fraction(r) for name, r in results.items()}
    oom = {name: r["oom_events"] for name, r in results.items()}
    a = f.get("adaptive")
    vs_oracle = pct(a, f.get("oracle"))
    rivals = [f[n] if f[n] is not None else SWEEP_MAX for n in RIVALS if n in f]
    vs_rivals = pct(a, min(rivals)) if rivals else None
    bars = {"oracle": None, "rivals": None, "oom": None}
    if "adaptive" in f and "oracle" in f:
        bars["oracle"] = vs_oracle is not None and vs_oracle <= ORACLE_BAR
    if "adaptive" in f and rivals:
        bars["rivals"] = vs_rivals is not None and vs_rivals <= RIVAL_BAR
    if "adaptive" in oom and all(n in oom for n in RIVALS):
        lowest = min(oom[n] for n in RIVALS)
        bars["oom"] = oom["adaptive"] < lowest or oom["adaptive"] == lowest == 0
    return {"min_host_fraction": f, "oom_events": oom,
            "adaptive_vs_oracle_pct": vs_oracle, "adaptive_vs_rivals_pct": vs_rivals,
            # the better rival found no host up to SWEEP_MAX: the true figure is smaller
            "rivals_bound": bool(rivals) and all(f[n] is None for n in RIVALS if n in f),
            "bars": bars}


def build_rows(slices, results):
    rows = []
    for s in slices:
        row = {"slice": s["slice"], "vms": s["vms"], "days": round(s["days"], 2)}
        row.update(compare(results[s["slice"]]))
        rows.append(row)
    return rows


def fmt_pct(p, bound=False):
    return "n/a" if p is None else ("<" if bound else "") + "%+.1f %%" % p


def print_table(rows, strategies):
    ooms = [n for n in strategies if n != "oracle"]
    width = {n: max(9, len(n)) for n in strategies}
    print("%-7s %4s %5s" % ("slice", "VMs", "days")
          + "".join(" %*s" % (width[n], n) for n in strategies)
          + " %15s %22s" % ("adaptive/oracle", "adaptive/best baseline")
          + "  OOM " + "/".join(ooms))
    for r in rows:
        f = r["min_host_fraction"]
        print("%-7s %4d %5.1f" % (r["slice"], r["vms"], r["days"])
              + "".join(" %*s" % (width[n], "%.4f" % f[n] if f[n] is not None else "> 1")
                        for n in strategies)
              + " %15s %22s" % (fmt_pct(r["adaptive_vs_oracle_pct"]),
                                fmt_pct(r["adaptive_vs_rivals_pct"], r["rivals_bound"]))
              + "  " + " / ".join("%d" % r["oom_events"][n] for n in ooms))


def print_bars(rows):
    def held(bar):
        known = [r["bars"][bar] for r in rows if r["bars"][bar] is not None]
        return "%d/%d" % (sum(known), len(rows)) if known else "n/a"

    print("bars held: adaptive <= %+.0f %% over oracle: %s slices; adaptive >= %.0f %% below "
          "the best of mom/proxmox (either floor): %s; adaptive fewer OOM events than each, "
          "or all zero (each at its own smallest host): %s"
          % (ORACLE_BAR, held("oracle"), -RIVAL_BAR, held("rivals"), held("oom")))


def strategy_list(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n.partition("/")[0] not in KNOWN
               or n.partition("/")[2] not in ("",) + tuple(variants.VARIANT_POLICY)]
    if not names or unknown:
        raise argparse.ArgumentTypeError("strategies are %s, optionally NAME/%s"
                                         % (", ".join(KNOWN), "|".join(variants.VARIANT_POLICY)))
    return names


def parse_args(argv):
    """Options before "--"; whatever follows goes to every memtidectl run."""
    extra = []
    if "--" in argv:
        argv, extra = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                usage="%(prog)s [options] [-- MODEL OPTIONS]",
                                epilog="Model options after -- go to memtidectl simulate.")
    p.add_argument("--memtidectl", default=os.path.join(ROOT, "build", "cli", "memtidectl"))
    p.add_argument("--trace", default=os.path.join(os.path.dirname(ROOT), "shared", "traces",
                                                   "bitbrains-rnd-2013-7.csv.gz"))
    p.add_argument("--strategies", type=strategy_list, default=STRATEGIES,
                   help="comma-separated (default: %s)" % ",".join(STRATEGIES))
    p.add_argument("--config", help="memtide.conf with [Policy] knobs to test")
    p.add_argument("--jobs", type=int, default=1,
                   help="sweeps run at once (each already uses two threads)")
    p.add_argument("--json", action="store_true", help="print the rows as a JSON list")
    a = p.parse_args(argv)
    if a.jobs < 1:
        p.error("--jobs must be at least 1")
    return a, extra


def main():
    a, extra = parse_args(sys.argv[1:])
    start = time.monotonic()
    if not os.access(a.memtidectl, os.X_OK):
        raise Failure("no memtidectl at %s (build it: ninja -C build)" % a.memtidectl)
    if a.config and not os.access(a.config, os.R_OK):
        raise Failure("cannot read config %s" % a.config)
    with tempfile.TemporaryDirectory(prefix="memtide-slices-") as directory:
        slices = write_slices(a.trace, directory)
        for s in slices:
            if s["vms"] == 0:
                print("slices.py: skipping %s: no VM with two samples" % s["slice"],
                      file=sys.stderr)
        slices = [s for s in slices if s["vms"] > 0]
        for s in slices:
            s["dir"] = directory
        rows = build_rows(slices, run_all(a, slices, extra))
    wall = "total wall time: %.0f s" % (time.monotonic() - start)
    if a.json:
        print(json.dumps(rows, indent=2))
        print(wall, file=sys.stderr)
        return 0
    print("trace: %s\n" % a.trace)
    print_table(rows, a.strategies)
    print()
    print_bars(rows)
    print(wall)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print("slices.py: %s" % e, file=sys.stderr)
        sys.exit(1)
