#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Fault injection, config and state: with one real guest managed,
`memtidectl reload` (and SIGHUP) of a broken main file, of a main file that
cannot be read (a directory in its place: root ignores mode bits), and of a
drop-in with an invalid value after a valid one, is refused with an error
naming the file (and line where there is one) while the old config stays in
force (memtidectl --json status shows the old interval); a drop-in that
validly overrides an earlier one wins. Then the state directory on a full
tmpfs: `memtidectl set` fails with a clear error, the previous override stays
in force (and on disk), and the daemon keeps managing the guest.
memtidectl status answers within 1 s throughout."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_qmp import StatusProbe  # noqa: E402
from harness import (run_test, MIB, Daemon, guests, log, require_guests, show, skip,  # noqa: E402
                     teardown, wait_for, workdir)


def interval(daemon):
    return json.loads(daemon.ctl("--json", "status").stdout)["daemon"]["interval_seconds"]


def cycles(daemon):
    return json.loads(daemon.ctl("--json", "status").stdout)["daemon"]["cycles"]


def actual(daemon):
    return daemon.guests()["cfg"]["actual_bytes"]


def refused(daemon, what, must_name):
    """memtidectl reload must fail with every string of must_name in its
    error, and the old interval (1 s) must stay in force."""
    r = daemon.ctl("reload", check=False)
    log("%s: exit %d: %s" % (what, r.returncode, r.stderr.strip()))
    assert r.returncode == 1, "%s: reload not refused: %r" % (what, r)
    assert "reload refused" in r.stderr, r.stderr
    for s in must_name:
        assert s in r.stderr, "%s: %r not in the error: %s" % (what, s, r.stderr)
    assert interval(daemon) == 1.0, "%s: the interval changed to %s" % (what, interval(daemon))
    assert daemon.alive()


def check_reloads(daemon):
    conf = daemon.config
    dropins = conf + ".d"
    with open(conf) as f:
        good = f.read()
    n_lines = good.count("\n")

    # 1. broken main file: an invalid value, then a line that is no assignment
    with open(conf, "w") as f:
        f.write(good + "Interval=banana\n")
    refused(daemon, "invalid value", ["%s:%d:" % (conf, n_lines + 1), "Interval=banana"])
    with open(conf, "w") as f:
        f.write(good + "[Policy\n")
    refused(daemon, "broken section header", ["%s:%d:" % (conf, n_lines + 1)])
    # the same through SIGHUP: logged with file:line, old config kept
    mark = daemon.log_text().count("keeping the current config")
    os.kill(daemon.proc.pid, signal.SIGHUP)
    wait_for(lambda: daemon.log_text().count("keeping the current config") > mark, 10,
             "the SIGHUP reload to be refused")
    last = [ln for ln in daemon.log_text().splitlines() if "keeping the current config" in ln][-1]
    log("SIGHUP: " + last)
    assert "%s:%d:" % (conf, n_lines + 1) in last, last
    assert interval(daemon) == 1.0

    # 2. the main file cannot be read: a directory in its place (EISDIR)
    os.rename(conf, conf + ".saved")
    os.mkdir(conf)
    try:
        refused(daemon, "main file is a directory", [conf])
    finally:
        os.rmdir(conf)
        os.rename(conf + ".saved", conf)
    with open(conf, "w") as f:
        f.write(good)

    # 3. drop-ins: a valid one, then a later one with an invalid value: the
    #    whole reload is refused (nothing of the valid one applies either)
    os.mkdir(dropins)
    with open(os.path.join(dropins, "10-slow.conf"), "w") as f:
        f.write("[Daemon]\nInterval=3s\n")
    bad = os.path.join(dropins, "20-broken.conf")
    with open(bad, "w") as f:
        f.write("# conflicts with 10-slow.conf, and is invalid\n[Daemon]\nInterval=-5s\n")
    refused(daemon, "invalid later drop-in", ["%s:3:" % bad, "Interval=-5s"])
    # a later drop-in that validly overrides: later wins (2 s, not 3 s nor 1 s)
    os.unlink(bad)
    with open(os.path.join(dropins, "20-override.conf"), "w") as f:
        f.write("[Daemon]\nInterval=2s\n")
    daemon.ctl("reload")
    assert interval(daemon) == 2.0, "later drop-in did not win: interval %s" % interval(daemon)
    log("valid drop-ins reloaded: interval %.0f s (20-override.conf over 10-slow.conf)"
        % interval(daemon))
    # back to the original: 1 s
    shutil.rmtree(dropins)
    daemon.ctl("reload")
    assert interval(daemon) == 1.0


def check_full_state_dir(daemon, state):
    os.makedirs(state, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", state]).returncode:
        skip("cannot mount a small tmpfs here")
    try:
        daemon.ctl("set", "cfg", "--min", "220M")
        path = os.path.join(state, "overrides.json")
        assert json.load(open(path))["overrides"][0]["min_bytes"] == 220 * MIB
        wait_for(lambda: actual(daemon) >= 219 * MIB, 20, "the override to raise the guest")
        subprocess.run(["dd", "if=/dev/zero", "of=" + os.path.join(state, "fill"), "bs=4k"],
                       capture_output=True)
        on_disk = open(path).read()
        r = daemon.ctl("set", "cfg", "--min", "320M", check=False)
        log("set on a full state directory: exit %d: %s" % (r.returncode, r.stderr.strip()))
        assert r.returncode == 1, r
        assert "cannot save" in r.stderr and "No space left on device" in r.stderr and \
            "previous overrides stay in force" in r.stderr, r.stderr
        r2 = daemon.ctl("reset", "cfg", check=False)
        assert r2.returncode == 1, "reset succeeded on a full disk: %r" % r2
        err = [ln for ln in daemon.log_text().splitlines()
               if "Failed to save runtime overrides" in ln]
        assert err and path in err[-1] and "No space left on device" in err[-1], err
        log("daemon log: " + err[-1])
        assert open(path).read() == on_disk, "overrides.json changed"
        assert not [n for n in os.listdir(state) if ".tmp." in n], os.listdir(state)
        shown = json.loads(daemon.ctl("--json", "show", "cfg").stdout)
        assert shown["override"]["min_bytes"] == 220 * MIB, shown["override"]
        # the old override stays in force: the guest is not raised to 320M
        c0 = cycles(daemon)
        time.sleep(4)
        assert cycles(daemon) >= c0 + 2, "the cycle stopped"
        assert 219 * MIB <= actual(daemon) < 300 * MIB, actual(daemon) / MIB
        # space back: set works again
        os.unlink(os.path.join(state, "fill"))
        daemon.ctl("reset", "cfg")
        assert json.load(open(path))["overrides"] == []
        # a read-only state directory: refused the same way, nothing changes
        subprocess.run(["mount", "-o", "remount,ro", state], check=True)
        r = daemon.ctl("set", "cfg", "--min", "300M", check=False)
        assert r.returncode == 1 and "Read-only file system" in r.stderr, r.stderr
        assert json.load(open(path))["overrides"] == []
        subprocess.run(["mount", "-o", "remount,rw", state], check=True)
        daemon.ctl("set", "cfg", "--min", "300M")
        daemon.ctl("reset", "cfg")
    finally:
        subprocess.run(["umount", state])


def main():
    image = require_guests()
    wd = workdir("memtide-fcfg-")
    g = guests.Guest("cfg", wd, mem_mib=512, image_dir=image, test_monitor=True)
    state = os.path.join(wd, "state")
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": g.qmp_path, "Interval": "1s",
                         "StatsPeriod": "1s", "StateDirectory": state})
    probe = None
    passed = False
    try:
        g.start()
        g.wait_ready()
        daemon.start()
        probe = StatusProbe(daemon).start()
        wait_for(lambda: daemon.guests().get("cfg") and actual(daemon) < 250 * MIB, 60,
                 "the guest to be squeezed")
        show(daemon)
        check_reloads(daemon)
        check_full_state_dir(daemon, state)

        # still managed: the guest gets memory when it allocates
        before = actual(daemon)
        reply = g.alloc(150, 25, timeout=90)  # 25 MiB/s: the e2e test holds the 50 MiB/s bar
        assert reply == "allocated 150", reply
        assert not g.oom_killed(), g.console_text()[-2000:]
        wait_for(lambda: actual(daemon) > before + 100 * MIB, 20, "the guest to get memory")
        show(daemon)
        probe.finish(1.0)
        passed = True
        print("PASS")
    finally:
        teardown(daemon, [g], passed, probe)


if __name__ == "__main__":
    run_test(main)
