#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""memtided as a service on a real guest: runtime overrides take effect and
survive a SIGKILL and restart without moving the balloon by more than one
cycle's step; a good config reloads and a bad one is refused with file:line
(SIGHUP and memtidectl reload) while the old one stays in force. Access
control with the memtide group present (the test creates it, and a member,
and removes them after): the socket is 0660 root:memtide, so other users
cannot connect; members can read and write; rights come from the groups the
connecting process has (SO_PEERGROUPS), not from the user database."""

import grp
import json
import os
import pwd
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, build_dir, Daemon, guests, log, require_guests,  # noqa: E402
                     teardown, wait_for, workdir)


def actual(daemon):
    return daemon.guests()["svc"]["actual_bytes"]


GROUP = "memtide"  # CONTROL_WRITE_GROUP in daemon/control.h


class MemtideGroup:
    """The memtide group and a member user, created for the test (before
    memtided starts: it looks the group up at start) and removed after,
    unless they were there already."""

    def __init__(self):
        self.made_group = False
        self.member = "memtide-member-%d" % os.getpid()
        try:
            grp.getgrnam(GROUP)
        except KeyError:
            subprocess.run(["groupadd", "--system", GROUP], check=True)
            self.made_group = True
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        "--groups", GROUP, self.member], check=True)
        self.gid = grp.getgrnam(GROUP).gr_gid

    def remove(self):
        subprocess.run(["userdel", self.member], check=False)
        if self.made_group:
            subprocess.run(["groupdel", GROUP], check=False)


def ctl_as(daemon, setpriv_args, *args):
    ctl = os.path.join(build_dir(), "cli", "memtidectl")
    return subprocess.run(["setpriv"] + setpriv_args + [ctl, "--socket", daemon.socket] +
                          list(args), capture_output=True, text=True, timeout=10)


def check_access_control(daemon, group):
    st = os.stat(daemon.socket)
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == group.gid, \
        "socket mode %o gid %d, not 0660 %s" % (stat.S_IMODE(st.st_mode), st.st_gid, GROUP)

    # Not in the group: the socket's mode keeps it out.
    other = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    r = ctl_as(daemon, other, "--json", "list")
    assert r.returncode == 1 and "Permission denied" in r.stderr, r

    # A member, by the user database and in its process: reads and writes.
    member = ["--reuid=%s" % group.member,
              "--regid=%d" % pwd.getpwnam(group.member).pw_gid, "--init-groups"]
    r = ctl_as(daemon, member, "--json", "list")
    assert r.returncode == 0 and json.loads(r.stdout)["guests"], r
    r = ctl_as(daemon, member, "set", "svc", "--min", "320M")
    assert r.returncode == 0, r

    # nobody with the group among its process's supplementary groups, though
    # the user database does not list it: the peer's groups decide.
    r = ctl_as(daemon, other[:2] + ["--groups=%d" % group.gid], "set", "svc", "--min", "320M")
    assert r.returncode == 0, r
    r = ctl_as(daemon, other[:2] + ["--groups=%d" % group.gid], "reload")
    assert r.returncode == 0, r

    # The group as its primary group only.
    r = ctl_as(daemon, ["--reuid=nobody", "--regid=%d" % group.gid, "--clear-groups"], "reload")
    assert r.returncode == 0, r

    # The daemon's own check, behind the socket's mode: opened to everyone,
    # a non-member may read but not write.
    os.chmod(daemon.socket, 0o666)
    try:
        r = ctl_as(daemon, other, "--json", "list")
        assert r.returncode == 0 and json.loads(r.stdout)["guests"], r
        for write in (["set", "svc", "--min", "100M"], ["reload"]):
            r = ctl_as(daemon, other, *write)
            assert r.returncode == 1 and "permission denied" in r.stderr, r
    finally:
        os.chmod(daemon.socket, 0o660)


def check_reload(daemon):
    with open(daemon.config) as f:
        good = f.read()
    with open(daemon.config, "w") as f:
        f.write(good + "[Policy]\nHeadroomMin=40M\n")
    daemon.ctl("reload")
    assert "Reloaded" in daemon.log_text()
    with open(daemon.config, "w") as f:
        f.write(good + "[Policy]\nHeadroomMin=plenty\n")
    r = daemon.ctl("reload", check=False)
    assert r.returncode == 1, r
    assert "%s:" % daemon.config in r.stderr and "HeadroomMin=plenty" in r.stderr, r.stderr
    os.kill(daemon.proc.pid, signal.SIGHUP)
    wait_for(lambda: daemon.log_text().count("keeping the current config") >= 2, 10,
             "the SIGHUP reload to be refused")
    assert daemon.alive()
    assert daemon.ctl("status").returncode == 0
    with open(daemon.config, "w") as f:
        f.write(good)
    daemon.ctl("reload")


def main():
    image = require_guests()
    wd = workdir("memtide-svc-")
    os.chmod(wd, 0o755)  # the unprivileged client must reach the socket
    g = guests.Guest("svc", wd, mem_mib=512, image_dir=image)
    keys = {"Backend": "qmp", "QMPSockets": g.qmp_path, "Interval": "1s", "StatsPeriod": "1s",
            "StateDirectory": os.path.join(wd, "state")}
    daemon = Daemon(wd, keys)
    group = MemtideGroup()
    passed = False
    try:
        g.start()
        g.wait_ready()
        daemon.start()
        wait_for(lambda: daemon.guests().get("svc") and actual(daemon) < 250 * MIB, 60,
                 "the guest to be squeezed")
        daemon.ctl("set", "svc", "--min", "320M")
        wait_for(lambda: actual(daemon) >= 320 * MIB - MIB, 20, "the override to raise the guest")
        assert json.load(open(os.path.join(wd, "state", "overrides.json")))["overrides"][0][
            "min_bytes"] == 320 * MIB
        check_access_control(daemon, group)
        check_reload(daemon)

        before = actual(daemon)
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait()
        os.unlink(daemon.socket)
        daemon.start()
        wait_for(lambda: daemon.guests().get("svc"), 30, "the guest after the restart")
        shown = json.loads(daemon.ctl("--json", "show", "svc").stdout)
        assert shown["override"]["min_bytes"] == 320 * MIB, shown
        step = 0.10 * 512 * MIB  # the default InflateStep
        samples = []
        for _ in range(6):
            samples.append(actual(daemon))
            time.sleep(1)
        worst = max(abs(s - before) for s in samples)
        log("after restart: balloon moved at most %.1f MiB (one step is %.1f MiB)" % (
            worst / MIB, step / MIB))
        assert worst <= step, samples
        assert min(samples) >= 320 * MIB - MIB, samples

        daemon.ctl("reset", "svc")
        r = daemon.ctl("reset", "svc", check=False)
        assert r.returncode == 1 and "no such guest" in r.stderr, r
        explain = json.loads(daemon.ctl("--json", "explain", "svc").stdout)["guests"][0]
        assert explain["decisions"] and "inputs" in explain["decisions"][-1], explain
        passed = True
        print("PASS")
    finally:
        teardown(daemon, [g], passed)
        group.remove()


if __name__ == "__main__":
    run_test(main)
