#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""One memtided per set of guests (issue 14): a second memtided started with
the same config, or with another config that shares the control socket or
the state directory, exits at once with an error naming the instance that
holds it, and never removes the first one's control socket. No guests needed."""

import os
import subprocess

import harness
from harness import Daemon, log


def second(daemon, config):
    exe = os.path.join(harness.build_dir(), "daemon", "memtided")
    try:
        return subprocess.run([exe, "--config", config], capture_output=True, text=True,
                              timeout=10)
    except subprocess.TimeoutExpired:
        raise AssertionError("a second memtided kept running beside the first")


def write_config(path, socket, state, qmp_glob):
    with open(path, "w") as f:
        f.write("[Daemon]\nBackend=qmp\nQMPSockets=%s\nControlSocket=%s\nStateDirectory=%s\n"
                % (qmp_glob, socket, state))


def check_refused(daemon, config, what):
    r = second(daemon, config)
    out = r.stdout + r.stderr
    assert r.returncode != 0, "second memtided (%s) exited 0: %s" % (what, out)
    assert "memtided (PID %d)" % daemon.proc.pid in out, out
    assert os.path.exists(daemon.socket), "the first memtided's socket was removed (%s)" % what
    daemon.ctl("status")  # the first still answers
    log("refused (%s): %s" % (what, out.strip().splitlines()[-1]))


def main():
    wd = harness.workdir("memtide-one-")
    state = os.path.join(wd, "state")
    qmp_glob = os.path.join(wd, "none", "*.qmp")
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": qmp_glob, "StateDirectory": state})
    daemon.start()
    try:
        check_refused(daemon, daemon.config, "same config")
        other = os.path.join(wd, "same-socket.conf")
        write_config(other, daemon.socket, os.path.join(wd, "state2"), qmp_glob)
        check_refused(daemon, other, "same control socket")
        write_config(other, os.path.join(wd, "other.sock"), state, qmp_glob)
        check_refused(daemon, other, "same state directory")
        assert not os.path.exists(os.path.join(wd, "other.sock")), "a refused instance listened"
    finally:
        daemon.stop()
    # The lock goes with the process: a new instance starts at once.
    daemon.start()
    daemon.ctl("status")
    daemon.stop()


if __name__ == "__main__":
    harness.run_test(main)
