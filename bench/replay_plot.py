# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/replay.py's plot: the QEMUs' summed RSS against time, one line per
strategy (solid: measured; dashed: `memtidectl simulate` plus the measured
QEMU overhead), the cgroup's limit and the guest budget drawn. SVG written
with the standard library, as bench/benchmark.py writes docs/simulation.svg."""

MIB = 1 << 20
COLORS = {"adaptive": "#1b9e77", "mom": "#d95f02", "proxmox": "#7570b3", "static": "#888888"}


def write_svg(path, curves, limit_bytes, budget_bytes, a):
    """curves: {strategy: (measured [(s, bytes)], simulated [(s, bytes)])}."""
    w, h, left, right, top, bottom = 760, 440, 70, 170, 30, 50
    points = [p for real, sim in curves.values() for p in real + sim]
    xmax = max(t for t, _ in points) or 1
    ymax = max([y for _, y in points] + [limit_bytes]) * 1.08 / MIB

    def px(t):
        return left + t / xmax * (w - left - right)

    def py(b):
        return top + (1 - b / MIB / ymax) * (h - top - bottom)

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>']
    out += _grid(px, py, xmax, ymax, left, w - right, top, h - bottom)
    for y, label in ((limit_bytes, "cgroup limit"), (budget_bytes, "guest budget")):
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black" '
                   'stroke-dasharray="6 3"/>' % (left, py(y), w - right, py(y)))
        out.append('<text x="%d" y="%.1f">%s %d MiB</text>' % (w - right + 5, py(y) + 4, label,
                                                                 y // MIB))
    for i, (name, (real, sim)) in enumerate(curves.items()):
        color = COLORS.get(name, "#000")
        for pts, dash in ((real, ""), (sim, ' stroke-dasharray="2 3"')):
            out.append('<polyline fill="none" stroke="%s" stroke-width="1.5"%s points="%s"/>' % (
                color, dash, " ".join("%.1f,%.1f" % (px(t), py(b)) for t, b in pts)))
        out.append('<text x="%d" y="%d" fill="%s">%s</text>' % (w - right + 5, top + 60 + 16 * i,
                                                                color, name))
    out.append('<text x="%d" y="%d" fill="#555">solid: measured</text>'
               % (w - right + 5, top + 76 + 16 * len(curves)))
    out.append('<text x="%d" y="%d" fill="#555">dotted: simulated</text>'
               % (w - right + 5, top + 92 + 16 * len(curves)))
    out.append('<text x="%d" y="%d" text-anchor="middle">seconds (x%g: %g trace hours, '
               '%d guests of %d MiB)</text>' % ((left + w - right) / 2, h - 10, a.speedup,
                                                 a.hours, a.guests, a.mem))
    out.append('<text x="15" y="%d" transform="rotate(-90 15 %d)" text-anchor="middle">'
               'sum of QEMU RSS, MiB</text>' % ((top + h - bottom) / 2, (top + h - bottom) / 2))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def _grid(px, py, xmax, ymax, x0, x1, y0, y1):
    out = []
    ystep = _step(ymax)
    y = 0
    while y <= ymax:
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>'
                   % (x0, py(y * MIB), x1, py(y * MIB)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%d</text>' % (x0 - 5, py(y * MIB) + 4,
                                                                         y))
        y += ystep
    xstep = _step(xmax)
    t = 0
    while t <= xmax:
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>' % (px(t), y0, px(t),
                                                                                y1))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (px(t), y1 + 16, t))
        t += xstep
    return out


def _step(span):
    """A round grid step giving 4 to 10 lines."""
    step = 1
    while span / step > 10:
        for m in (2, 2.5, 2):
            step *= m
            if span / step <= 10:
                break
    return step
