# SPDX-License-Identifier: GPL-2.0-or-later
"""The slice of a trace bench/replay.py replays: which VMs, which window,
on what clock, and the demand each guest is given (stdlib only).

A VM's use is its used/provisioned fraction, linear between samples (as the
simulator reads traces), read at the window's start and every sample period
after it; on the replay's clock sample k comes at round(k * period /
speedup) s. The trace's use was measured by the hypervisor, so a guest's
demand is what its memory resident on the host is to be: at a point, that
fraction of its size, at least what the idle guest already has resident
(`base`: its kernel, what it touched booting), at most the base plus what
the workload can hold without running out (`room`: MemTotal less the idle
guest's use and HEADROOM); between points it is linear. The workload holds
demand - base. The replay drives the guests with exactly the points it
writes for `memtidectl simulate`, so both see the same demand.
"""
import bisect
import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import slices  # noqa: E402  (the trace reader of the benchmarks)

MIB = 1 << 20
PERIOD = 300  # the trace's sample period, seconds
# What a guest keeps free at its fullest: the kernel's watermarks and the
# workload's own pages (no swap in the guests: more would be an OOM kill
# whatever the host does).
HEADROOM = 24 * MIB


class TraceError(Exception):
    """A trace or a VM choice that cannot be replayed."""


def fraction_at(samples, t):
    """Linear between samples [(t, fraction)], held beyond the ends."""
    times = [s[0] for s in samples]
    i = bisect.bisect_left(times, t)
    if i == 0:
        return samples[0][1]
    if i == len(samples):
        return samples[-1][1]
    (t0, f0), (t1, f1) = samples[i - 1], samples[i]
    return f0 + (f1 - f0) * (t - t0) / (t1 - t0)


def read_vms(path, start_hour, hours):
    """{vm: [(t, used/provisioned)]} of the samples in the window (and one
    beyond each end, for interpolation), VM order of first appearance, and
    the window's start."""
    first, series = None, {}
    try:
        for row, ts, prov in slices.trace_rows(path):
            first = ts if first is None else min(first, ts)
            if prov > 0:
                series.setdefault(row[0], []).append((ts, min(int(row[3]) / prov, 1.0)))
    except slices.Failure as e:
        raise TraceError(str(e)) from None
    if first is None:
        raise TraceError("%s: no samples" % path)
    start = first + start_hour * 3600
    end = start + hours * 3600
    window = {}
    for vm, s in series.items():
        s.sort()
        inside = [i for i, (t, _) in enumerate(s) if start <= t <= end]
        if inside:
            window[vm] = s[max(inside[0] - 1, 0):inside[-1] + 2]
    return window, start


def choose(window, start, hours, spec, n):
    """The VMs of spec: busiest[:N] (highest mean fraction over the window,
    N defaulting to n) or indexes into the VMs with data in the window."""
    names = list(window)
    points = [start + k * PERIOD for k in range(int(hours * 3600 / PERIOD) + 1)]
    if spec.startswith("busiest"):
        count = int(spec.split(":", 1)[1]) if ":" in spec else n
        mean = {vm: sum(fraction_at(window[vm], t) for t in points) / len(points)
                for vm in names}
        chosen = sorted(names, key=lambda vm: (-mean[vm], vm))[:count]
    else:
        try:
            chosen = [names[int(i)] for i in spec.split(",")]
        except (ValueError, IndexError):
            raise TraceError("--vms %s: indexes from 0 to %d, or busiest:N"
                             % (spec, len(names) - 1)) from None
    if len(chosen) != n:
        raise TraceError("--vms %s names %d VMs for %d guests" % (spec, len(chosen), n))
    return chosen


class Slice:
    def __init__(self, vms, fractions, times, mem_mib, budget_bytes):
        self.vms = vms
        self.fractions = fractions  # per VM, per point
        self.times = times          # replay seconds of the points
        self.mem_bytes = mem_mib * MIB
        self.budget_bytes = budget_bytes
        self.duration_sec = times[-1]

    @classmethod
    def load(cls, path, spec, n, start_hour, hours, speedup, mem_mib, budget_fraction):
        if PERIOD / speedup < 1:
            raise TraceError("--speedup %g: at most %d (one sample per second)" % (speedup, PERIOD))
        window, start = read_vms(path, start_hour, hours)
        if not window:
            raise TraceError("%s: no VM has samples in hours %g-%g" % (path, start_hour,
                                                                     start_hour + hours))
        vms = choose(window, start, hours, spec, n)
        count = int(hours * 3600 / PERIOD) + 1
        times = [round(k * PERIOD / speedup) for k in range(count)]
        fractions = [[fraction_at(window[vm], start + k * PERIOD) for k in range(count)]
                     for vm in vms]
        return cls(vms, fractions, times, mem_mib, int(budget_fraction * n * mem_mib * MIB))

    def set_guests(self, base, room):
        """Per guest: resident when idle, and the most the workload may hold."""
        self.base = base
        self.room = [max(r - HEADROOM, 0) for r in room]

    def point_bytes(self, i, k):
        """Guest i's demand at point k (see the module's description)."""
        want = self.fractions[i][k] * self.mem_bytes
        return int(min(max(want, self.base[i]), self.base[i] + self.room[i]))

    def demand_bytes(self, i, t):
        """Guest i's demand t seconds into the replay, linear between points."""
        k = min(bisect.bisect_right(self.times, t), len(self.times) - 1)
        if k == 0:
            return self.point_bytes(i, 0)
        t0, t1 = self.times[k - 1], self.times[k]
        d0, d1 = self.point_bytes(i, k - 1), self.point_bytes(i, k)
        return int(d0 + (d1 - d0) * min(max(t - t0, 0), t1 - t0) / (t1 - t0))

    def hold_mib(self, i, t):
        """What guest i's workload holds t seconds into the replay."""
        return (self.demand_bytes(i, t) - self.base[i]) // MIB

    def capped_points(self):
        """How many points were cut to what a guest can hold."""
        return sum(1 for i, fr in enumerate(self.fractions) for f in fr
                   if f * self.mem_bytes > self.base[i] + self.room[i])

    def write_csv(self, path):
        """The demand points as a trace for `memtidectl simulate`."""
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(slices.HEADER)
            for i, vm in enumerate(self.vms):
                for k, t in enumerate(self.times):
                    w.writerow([vm, t, self.mem_bytes // 1024, self.point_bytes(i, k) // 1024])
