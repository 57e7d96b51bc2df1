#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Watching before trusting, on a real TCG guest over QMP.

- Mode=observe: the policy proposes a target below the balloon (explain shows
  it as observed), memtided sends no balloon command (status counts none) and
  the guest keeps all its memory; list and status say the host is observed.
- memtidectl pause holds across a reload to Mode=manage and across a restart
  (kept in the state directory); memtidectl resume and the guest is squeezed.
- explain --since: every change of target with ISO times (text) and seconds
  plus ISO (JSON), observed ones marked.
- set with a glob (--manage no) reaches the guest, with its source.
- list --all shows a guest that is known and not managed (a dead QMP socket)
  with why; plain list does not.
- memtidectl log-level debug: decisions appear in the log from then on."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, Daemon, guests, log, require_guests, show,  # noqa: E402
                     squeezed, teardown, wait_for, workdir)


def status(daemon):
    return json.loads(daemon.ctl("--json", "status").stdout)["daemon"]


def dead_socket(path):
    """A QMP socket file whose QEMU is gone: bound, then closed, not removed."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()


def observe_phase(daemon, g):
    wait_for(lambda: daemon.guests().get("obs"), 30, "the guest to be known")
    d = status(daemon)
    assert d["mode"] == "observe" and "Mode=observe" in d["observe_reason"], d

    def proposed():
        info = daemon.guests()["obs"]
        return info if "observing, not sent" in (info["reason"] or "") else None
    info = wait_for(proposed, 60, "a target proposed while observing")
    show(daemon)
    assert info["target_bytes"] < info["actual_bytes"], info
    sizes = [g.balloon_actual_mib()]
    for _ in range(8):
        time.sleep(1)
        sizes.append(g.balloon_actual_mib())
    assert all(s == 512 for s in sizes), "the balloon moved while observing: %r" % sizes
    assert status(daemon)["balloon_commands"] == 0, status(daemon)
    listing = daemon.ctl("list").stdout
    assert listing.startswith("Observing"), listing
    explain = json.loads(daemon.ctl("--json", "explain", "obs").stdout)["guests"][0]
    observed = [x for x in explain["decisions"] if x["change"]]
    assert observed and not any(x["sent"] for x in observed), explain
    log("observe: proposed %.0f MiB of %.0f, balloon stayed at 512 MiB, 0 commands" % (
        info["target_bytes"] / MIB, info["actual_bytes"] / MIB))


def pause_phase(wd, daemon, keys, g):
    assert "Paused" in daemon.ctl("pause").stdout
    keys["Mode"] = "manage"
    with open(daemon.config, "w") as f:
        f.write("[Daemon]\n" + "".join("%s=%s\n" % kv for kv in keys.items()))
    daemon.ctl("reload")
    d = status(daemon)
    assert d["mode"] == "observe" and d["observe_reason"] == "memtidectl pause", d
    assert os.path.exists(os.path.join(keys["StateDirectory"], "paused.json"))
    daemon.stop()
    restarted = Daemon(wd, keys)
    restarted.start()
    wait_for(lambda: restarted.guests().get("obs"), 30, "the guest after the restart")
    d = status(restarted)
    assert d["mode"] == "observe" and d["observe_reason"] == "memtidectl pause", d
    time.sleep(3)
    assert g.balloon_actual_mib() == 512 and status(restarted)["balloon_commands"] == 0
    log("pause: held across a reload to Mode=manage and a restart")
    out = restarted.ctl("resume").stdout
    assert "manages the guests again" in out, out
    got = wait_for(lambda: squeezed(restarted, "obs"), 90, "the guest squeezed after resume")
    log("resume: squeezed to %.0f MiB" % (got["actual_bytes"] / MIB))
    # list's REASON fits the terminal and never shows the strategy's wish
    # as if it were the target ("-> N MiB"; TARGET is the guard rails' value).
    os.environ["COLUMNS"] = "100"
    try:
        rows = restarted.ctl("list").stdout.splitlines()
    finally:
        del os.environ["COLUMNS"]
    row = [r for r in rows if r.startswith("obs ")][0]
    log("list at 100 columns: " + row)
    assert all(len(r) <= 100 for r in rows if r.startswith("obs ")), rows
    assert " -> " not in row and not row.split()[-1].startswith("target"), row
    return restarted


def history_phase(daemon):
    text = daemon.ctl("explain", "obs", "--since", "10min").stdout
    log("explain --since 10min:\n" + text)
    assert "change(s) of target" in text and "(observed)" in text, text
    assert "T" in text.split("change(s) of target")[1].splitlines()[1], text
    j = json.loads(daemon.ctl("--json", "explain", "obs", "--since", "10min").stdout)
    changes = j["guests"][0]["changes"]
    assert any(c["sent"] for c in changes) and any(not c["sent"] for c in changes), changes
    assert all(c["first"].endswith("Z") and c["first_seconds"] > 1.6e9 for c in changes)
    squeeze = [c for c in changes if c["sent"] and c["target_bytes"] < c["from_bytes"]]
    assert squeeze and max(c["steps"] for c in squeeze) > 1, changes  # capped steps merged
    r = daemon.ctl("explain", "obs", "--since", "yesterday-ish", check=False)
    assert r.returncode == 2 and "--since" in r.stderr, r


def glob_and_all_phase(daemon):
    daemon.ctl("set", "ob*", "--manage", "no")
    show_text = daemon.ctl("show", "obs").stdout
    g = daemon.guests()["obs"]
    assert g["managed"] is False, g
    assert g["settings_sources"]["manage"] == "override 'ob*' (memtidectl set)", g
    names = [x["name"] for x in json.loads(daemon.ctl("--json", "list").stdout)["guests"]]
    assert names == ["obs"], names
    every = json.loads(daemon.ctl("--json", "list", "--all").stdout)["guests"]
    dead = [x for x in every if x["name"] == "dead"]
    assert dead and dead[0]["state"] == "disconnected" and dead[0]["reason"], every
    text = daemon.ctl("list", "--all").stdout
    assert "not managed (disconnected)" in text, text
    log("list --all: %s" % [line for line in text.splitlines() if line.startswith("dead")][0])
    assert "Managed" in show_text or "managed" in show_text.lower()


def log_level_phase(daemon):
    before = daemon.log_text().count("hold")
    daemon.ctl("log-level", "warning")
    time.sleep(3)
    quiet = daemon.log_text().count("hold")
    daemon.ctl("log-level", "debug")
    time.sleep(3)
    loud = daemon.log_text().count("hold")
    assert status(daemon)["log_level"] == "debug"
    assert loud > quiet, (before, quiet, loud)
    r = daemon.ctl("log-level", "chatty", check=False)
    assert r.returncode != 0, r


def main():
    image = require_guests()
    wd = workdir("memtide-observe-")
    qmp_dir = os.path.join(wd, "qmp")
    os.makedirs(qmp_dir)
    g = guests.Guest("obs", wd, mem_mib=512, free_page_reporting=False, image_dir=image,
                     test_monitor=True)
    keys = {"Backend": "qmp", "QMPSockets": os.path.join(qmp_dir, "*.qmp"), "Interval": "1s",
            "StatsPeriod": "1s", "Mode": "observe", "LogLevel": "info",
            "StateDirectory": os.path.join(wd, "state")}
    daemon = Daemon(wd, keys)
    passed = False
    try:
        g.start()
        g.wait_ready()
        os.symlink(g.qmp_path, os.path.join(qmp_dir, "obs.qmp"))
        dead_socket(os.path.join(qmp_dir, "dead.qmp"))
        daemon.start()
        observe_phase(daemon, g)
        daemon = pause_phase(wd, daemon, keys, g)
        history_phase(daemon)
        glob_and_all_phase(daemon)
        log_level_phase(daemon)
        passed = True
    finally:
        teardown(daemon, [g], passed)


if __name__ == "__main__":
    run_test(main)
