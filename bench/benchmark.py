#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs every strategy side by side on a trace and the built-in scenarios.

Prints the headline table (smallest acceptable host per strategy), the
scenario table, and writes an SVG plot of shortfall + overrun against host
size, one line per strategy. Uses only memtidectl simulate and the standard
library.

  bench/benchmark.py [--memtidectl PATH] [--trace FILE] [--svg FILE] [--config FILE]
"""
import argparse
import concurrent.futures
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import variants

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STRATEGIES = ["adaptive", "mom", "mom/wide-floor", "proxmox", "proxmox/wide-floor", "static",
              "oracle"]
PLOTTED = ["adaptive", "mom", "proxmox", "static", "oracle"]
COLORS = {"adaptive": "#1b9e77", "mom": "#d95f02", "proxmox": "#7570b3",
          "static": "#888888", "oracle": "#e7298a"}
GRID = [0.14, 0.16, 0.18, 0.20, 0.22, 0.25, 0.30, 0.35, 0.40, 0.50, 0.60, 0.80, 1.00]


def simulate(ctl, args):
    out = subprocess.run([ctl, "simulate", "--json"] + args, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def sweep(ctl, trace, cfg, spec):
    start = time.monotonic()
    r = simulate(ctl, ["--trace", trace, "--sweep"] + cfg(spec))
    r["wall_seconds"] = time.monotonic() - start
    r["strategy"] = spec
    return r


def grid(ctl, trace, cfg, spec):
    return simulate(ctl, ["--trace", trace, "--grid", ",".join(str(g) for g in GRID)] + cfg(spec))


def print_headline(rows):
    by = {r["strategy"]: r for r in rows}
    print("%-18s %9s %12s %11s %5s %12s %10s %7s" % (
        "strategy", "min host", "shortfall", "overrun", "OOM", "returned", "churn", "wall"))
    print("%-18s %9s %12s %11s %5s %12s %10s %7s" % (
        "", "fraction", "GiB-h", "GiB-h", "", "GiB-h", "GiB", "s"))
    for r in rows:
        f = r["min_host_fraction"]
        print("%-18s %9s %12.2f %11.2f %5d %12.0f %10.0f %7.1f" % (
            r["strategy"], "%.4f" % f if f is not None else "> 1", r["shortfall_gib_hours"],
            r["overrun_gib_hours"], r["oom_events"], r["returned_gib_hours"], r["churn_gib"],
            r["wall_seconds"]))
    a, o = by["adaptive"]["min_host_fraction"], by["oracle"]["min_host_fraction"]
    others = [by[s]["min_host_fraction"] for s in variants.BASELINES
              if by[s]["min_host_fraction"] is not None]
    if a and o:
        print("adaptive vs oracle: %+.1f %% (acceptance: at most +10 %%)" % (100 * (a / o - 1)))
    if a and others:
        print("adaptive vs the best of mom/proxmox, either floor: %+.1f %% (acceptance: at most "
              "-20 %%)" % (100 * (a / min(others) - 1)))


def print_scenarios(rows):
    print("%-13s %-9s %10s %6s %12s %12s %4s" % (
        "scenario", "strategy", "reaction s", "lag s", "short MiB-s", "over MiB-s", "OOM"))
    for r in rows:
        lag = "-" if r["lag_seconds"] is None else "%.0f" % r["lag_seconds"]
        print("%-13s %-9s %10.0f %6s %12.0f %12.0f %4d" % (
            r["scenario"], r["strategy"], r["reaction_seconds"], lag, r["shortfall_mib_seconds"],
            r["overrun_mib_seconds"], r["oom_events"]))


SWAP_SHARES = [0, 0.01, 0.05, 0.10, 0.25]


def oom_by_swap(ctl, trace, cfg, hosts):
    """OOM events of the policies on the same hosts, for several swap allowances:
    the allowance is a model choice, so show what the comparison depends on it."""
    hosts_arg = ",".join(repr(h) for h in hosts)
    print("\nOOM events by swap allowance (share of the guest), on hosts %s:" % hosts_arg)
    names = ["adaptive"] + variants.BASELINES
    print("%-6s" % "swap" + "".join(" %18s" % n for n in names))
    for share in SWAP_SHARES:
        cells = []
        for name in names:
            rows = simulate(ctl, ["--trace", trace, "--grid", hosts_arg,
                                  "--swap-share", str(share)] + cfg(name))
            cells.append(" %18s" % " / ".join(str(r["oom_events"]) for r in rows))
        print("%-6g" % share + "".join(cells))


def print_common_hosts(curves):
    """Shortfall + overrun (GiB-h) and OOM events of every strategy on the same hosts."""
    print("\n%-6s" % "host" + "".join(" %18s" % s for s in curves))
    for i, g in enumerate(GRID):
        cells = []
        for rows in curves.values():
            r = rows[i]
            cells.append(" %11.1f %3d OOM" % (r["shortfall_gib_hours"] + r["overrun_gib_hours"],
                                              r["oom_events"]))
        print("%-6.2f" % g + "".join(cells))


def svg_plot(curves, demand, path):
    """Log-scale y (shortfall + overrun, GiB-h) against host fraction."""
    w, h, left, right, top, bottom = 760, 460, 70, 150, 30, 50
    xs = [GRID[0], GRID[-1]]
    floor = 0.01
    ys = [max(floor, r["shortfall_gib_hours"] + r["overrun_gib_hours"])
          for rows in curves.values() for r in rows]
    ymin, ymax = math.log10(floor), math.log10(max(ys) * 2)

    def px(x):
        return left + (x - xs[0]) / (xs[1] - xs[0]) * (w - left - right)

    def py(y):
        return top + (ymax - math.log10(max(y, floor))) / (ymax - ymin) * (h - top - bottom)

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>']
    for e in range(int(math.floor(ymin)), int(math.ceil(ymax)) + 1):
        y = py(10 ** e)
        if top <= y <= h - bottom:
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (left, y, w - right, y))
            out.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (left - 5, y + 4, 10 ** e))
    last_label = -100
    for g in GRID:
        x = px(g)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>' % (x, top, x, h - bottom))
        if x - last_label >= 32:  # labels of close grid points would overlap
            out.append('<text x="%.1f" y="%d" text-anchor="middle">%g</text>' % (x, h - bottom + 16, g))
            last_label = x
    budget = 0.001 * demand
    out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black" stroke-dasharray="4 3"/>'
               % (left, py(budget), w - right, py(budget)))
    out.append('<text x="%d" y="%.1f">0.1 %% of demand</text>' % (w - right + 5, py(budget) + 4))
    for i, (name, rows) in enumerate(curves.items()):
        pts = " ".join("%.1f,%.1f" % (px(r["host_fraction"]),
                                      py(r["shortfall_gib_hours"] + r["overrun_gib_hours"]))
                       for r in rows)
        out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (COLORS[name], pts))
        out.append('<text x="%d" y="%d" fill="%s">%s</text>' % (w - right + 5, top + 40 + 16 * i, COLORS[name], name))
    out.append('<text x="%d" y="%d" text-anchor="middle">host RAM / total provisioned guest memory</text>'
               % ((left + w - right) / 2, h - 10))
    out.append('<text x="15" y="%d" transform="rotate(-90 15 %d)" text-anchor="middle">'
               'shortfall + overrun, GiB-hours (log)</text>' % ((top + h - bottom) / 2, (top + h - bottom) / 2))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--memtidectl", default=os.path.join(ROOT, "build", "cli", "memtidectl"))
    p.add_argument("--trace", default=os.path.join(ROOT, "..", "shared", "traces",
                                                   "bitbrains-rnd-2013-7.csv.gz"))
    p.add_argument("--svg", default=os.path.join(ROOT, "docs", "simulation.svg"))
    p.add_argument("--config", help="memtide.conf with [Policy] knobs to test")
    p.add_argument("--jobs", type=int, default=1,
                   help="strategies run at once (each sweep already uses two threads)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="memtide-bench-") as tmp:
        return run(a, lambda spec: variants.simulate_args(spec, a.config, tmp))


def run(a, cfg):
    extra = ["--config", a.config] if a.config else []
    print("trace: %s\n" % a.trace)
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        rows = list(pool.map(lambda s: sweep(a.memtidectl, a.trace, cfg, s), STRATEGIES))
    print_headline(rows)
    print()
    print_scenarios(simulate(a.memtidectl, ["--scenario", "all"] + extra))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        curves = dict(zip(PLOTTED, pool.map(lambda s: grid(a.memtidectl, a.trace, cfg, s),
                                            PLOTTED)))
    print_common_hosts(curves)
    by = {r["strategy"]: r for r in rows}
    best_baseline = min((r for r in rows if r["strategy"] in variants.BASELINES
                         and r["min_host_fraction"] is not None),
                        key=lambda r: r["min_host_fraction"], default=None)
    hosts = [by["adaptive"]["min_host_fraction"]]
    if best_baseline:
        hosts.append(best_baseline["min_host_fraction"])
    oom_by_swap(a.memtidectl, a.trace, cfg, [h for h in hosts if h is not None])
    svg_plot(curves, rows[0]["demand_gib_hours"], a.svg)
    print("\nplot: %s" % a.svg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
