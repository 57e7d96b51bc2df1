#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""memtided under valgrind (memcheck) for one end-to-end run on two real
guests: both managed and squeezed, one allocates and gets memory back, the
control socket answers well-formed, malformed and oversized requests, then
one QEMU is killed and dropped (its QMP client torn down mid-stream), and
memtided stops on SIGTERM. Passes when valgrind reports no memory errors and
no definitely lost blocks (its exit status, with --error-exitcode, is then
memtided's own 0). Skipped in a sanitizer build: valgrind cannot run ASan
binaries, and scripts/test.sh runs this suite under ASan separately.

By hand, outside meson, the same check is:
    valgrind --leak-check=full --errors-for-leak-kinds=definite \\
        --error-exitcode=99 build/daemon/memtided --config memtide.conf
then SIGTERM after a while and read the LEAK SUMMARY."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, build_dir, Daemon, dump_logs, guests, log,  # noqa: E402
                     require_guests, sanitized_build, show, skip, wait_for, workdir)

VALGRIND_ERROR = 99


class ValgrindDaemon(Daemon):
    """memtided run by valgrind; everything else as Daemon."""

    def start(self):
        exe = os.path.join(build_dir(), "daemon", "memtided")
        self.valgrind_log = os.path.join(self.workdir, "valgrind.log")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            ["valgrind", "--leak-check=full", "--show-leak-kinds=definite",
             "--errors-for-leak-kinds=definite", "--error-exitcode=%d" % VALGRIND_ERROR,
             "--log-file=" + self.valgrind_log,
             exe, "--config", self.config, "--debug"],
            stdout=self._log, stderr=subprocess.STDOUT, preexec_fn=guests._child_setup)
        # valgrind starts slowly
        wait_for(lambda: os.path.exists(self.socket), 60, "control socket to appear")
        return self

    def valgrind_text(self):
        with open(self.valgrind_log, errors="replace") as f:
            return f.read()


def raw_request(path, data):
    """Sends raw bytes to the control socket; returns what comes back before EOF."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(20)
        s.connect(path)
        try:
            s.sendall(data)
        except BrokenPipeError:
            pass  # closed on us after its error reply, which is still readable
        reply = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                # Closed with our unread bytes still queued: Linux reports a
                # reset after the reply, which has been read by then.
                return reply
            if not chunk:
                return reply
            reply += chunk


def main():
    if sanitized_build():
        skip("sanitizer build: valgrind cannot run ASan binaries")
    if not shutil.which("valgrind"):
        skip("valgrind not installed")
    image = require_guests()
    wd = workdir("memtide-valgrind-")
    a = guests.Guest("grower", wd, mem_mib=512, image_dir=image, test_monitor=True)
    b = guests.Guest("victim", wd, mem_mib=512, image_dir=image, test_monitor=True)
    daemon = ValgrindDaemon(wd, {"Backend": "qmp",
                                 "QMPSockets": "%s %s" % (a.qmp_path, b.qmp_path),
                                 "Interval": "1s", "StatsPeriod": "1s"})
    passed = False
    status = None
    try:
        for g in (a, b):
            g.start()
        for g in (a, b):
            g.wait_ready()
            g.wait_workload()
        daemon.start()
        wait_for(lambda: len(daemon.guests()) == 2, 60, "both guests to be managed")
        wait_for(lambda: all(g["actual_bytes"] < 400 * MIB for g in daemon.guests().values()),
                 90, "both guests to be squeezed")
        show(daemon)

        before = daemon.guests()["grower"]["actual_bytes"]
        reply = a.alloc(150, 50, timeout=120)
        assert reply == "allocated 150", reply
        wait_for(lambda: daemon.guests()["grower"]["actual_bytes"] > before + 100 * MIB, 30,
                 "the growing guest to get memory")
        assert a.command("free").startswith("freed 150")

        daemon.ctl("status")
        daemon.ctl("--json", "status")
        daemon.ctl("list")
        daemon.ctl("compat", "grower", check=False)
        # What a broken client sends: both get an error reply and EOF.
        r = raw_request(daemon.socket, b'{"method": ' + b"\0")
        assert b"InvalidParameter" in r, r
        r = raw_request(daemon.socket, b"{" + b" " * (70 * 1024))
        assert b"InvalidParameter" in r, r

        b.kill()
        wait_for(lambda: "victim" not in daemon.guests(), 30, "the killed guest to be dropped")
        assert daemon.alive(), "memtided died"
        passed = True
    finally:
        # Daemon.stop() raises unless memtided (here: valgrind) exits 0.
        try:
            status = daemon.stop()
        except AssertionError as e:
            passed = False
            print("FAIL: %s" % e)
        for g in (a, b):
            g.kill()
        if os.path.exists(getattr(daemon, "valgrind_log", "")):
            text = daemon.valgrind_text()
            print("---- valgrind (tail) ----\n" + text[-6000:])
            m = re.search(r"definitely lost: ([\d,]+) bytes", text)
            if m and m.group(1) != "0":
                passed = False
        if not passed:
            dump_logs(daemon, [a, b])
    log("memtided under valgrind exited with %s" % status)
    if not passed:
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    run_test(main)
