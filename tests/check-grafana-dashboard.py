#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The shipped Grafana dashboard is valid JSON, its panels have unique ids,
and every query in it (panel targets, template variables) names only series
memtided emits (as test-metrics --series lists them, from the daemon's own
renderer) or node_exporter's (node_*): a renamed series fails here, not on
an operator's screen.
Usage: check-grafana-dashboard.py DASHBOARD.json path/to/test-metrics"""

import json
import re
import subprocess
import sys

# PromQL words that are not series: operators, modifiers, literals.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "atan2"}
GROUPING = r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"


def series_in(expr):
    """Names of the series an expression reads; functions are left out."""
    # label_values(metric{...}, label): the label is not a series
    e = re.sub(r"label_values\(([^,()]*),\s*\w+\s*\)", r"(\1)", expr)
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', " ", e)  # strings
    e = re.sub(r"\{[^}]*\}", " ", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)  # ranges, subqueries
    e = re.sub(GROUPING, " ", e)
    e = re.sub(r"\$\{?\w+\}?", " ", e)  # Grafana variables
    e = re.sub(r"(?<![\w:])\d+(\.\d+)?([eE][+-]?\d+)?[smhdwy]*", " ", e)  # numbers, durations
    names = []
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        if word.lower() in KEYWORDS or re.match(r"\s*\(", e[m.end():]):
            continue
        names.append(word)
    return names


def queries(node):
    """Every PromQL string of the dashboard: targets' expr, variables' query."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            elif key == "query" and isinstance(value, str) and value != "prometheus":
                yield value
            else:
                yield from queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from queries(item)


def panel_ids(panels):
    for p in panels:
        yield p.get("id")
        yield from panel_ids(p.get("panels", []))


def main():
    path, renderer = sys.argv[1], sys.argv[2]
    with open(path) as f:
        dash = json.load(f)  # fails the test on invalid JSON
    emitted = set(subprocess.run([renderer, "--series"], check=True, capture_output=True,
                                 text=True).stdout.split())
    assert emitted, "%s --series printed nothing" % renderer
    for key in ("title", "uid", "panels", "schemaVersion"):
        assert key in dash, "dashboard has no %s" % key
    ids = list(panel_ids(dash["panels"]))
    assert None not in ids and len(ids) == len(set(ids)), "panel ids missing or repeated: %s" % ids

    bad, used, n = [], set(), 0
    for expr in queries(dash):
        n += 1
        names = series_in(expr)
        if not names:
            bad.append("%s: names no series" % expr)
        for name in names:
            used.add(name)
            if name not in emitted and not name.startswith("node_"):
                bad.append("%s: %s is neither memtided's nor node_exporter's" % (expr, name))
    assert n, "no queries found in %s" % path
    if bad:
        sys.exit("check-grafana-dashboard: %s:\n  %s" % (path, "\n  ".join(bad)))
    print("check-grafana-dashboard: %d queries, %d series, all emitted (%d of memtided's %d unused: %s)"
          % (n, len(used), len(emitted - used), len(emitted), " ".join(sorted(emitted - used))))


if __name__ == "__main__":
    main()
