#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A QEMU monitor that memtided shares with other clients, as on Proxmox,
where qm, pvestatd and backups open a fresh connection to the VM's QMP
socket for each command and give up after a few seconds. QEMU serves one
client per socket at a time, so memtided must hold such a monitor only for
the commands of one cycle (SharedQMPSockets=).

A real TCG guest is managed through its QMP socket while a second client
connects to the same socket once per second for a minute (20 s in the
sanitizer build), reads the greeting, negotiates and runs query-status, and
times the whole exchange. Checks: every one of its commands is answered
within 1 s; the guest is still squeezed meanwhile; memtided reports the
monitor as shared and opened a session per cycle.

Then, so that this check cannot be blind: the same client against the same
socket when it is not marked shared (memtided holds its connection) gets no
greeting within 1 s."""

import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, Daemon, guests, log, require_guests,  # noqa: E402
                     sanitized_build, show, squeezed, teardown, wait_for, workdir)

ANSWER_LIMIT_S = 1.0


class SecondClient:
    """What Proxmox's qm does: connect, greeting, qmp_capabilities, one
    command, hang up. Returns the seconds the whole exchange took, or None
    when it was not answered within the limit."""

    def __init__(self, path, limit=ANSWER_LIMIT_S):
        self.path = path
        self.limit = limit

    def exchange(self):
        t0 = time.monotonic()
        deadline = t0 + self.limit
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if not self._connect(s, deadline):
                return None
            f = s.makefile("rb")
            for command in (None, "qmp_capabilities", "query-status"):
                if command:
                    s.sendall(json.dumps({"execute": command}).encode() + b"\n")
                s.settimeout(max(deadline - time.monotonic(), 0.001))
                try:
                    message = self._next(f)
                except (socket.timeout, TimeoutError):
                    return None
                if message is None:
                    return None
                if command and "return" not in message:
                    raise AssertionError("%s failed: %r" % (command, message))
            return time.monotonic() - t0
        finally:
            s.close()

    def _connect(self, s, deadline):
        """A blocking connect waits while QEMU's listen backlog is full;
        Python's timeout mode gets EAGAIN there instead, so it is retried."""
        s.settimeout(max(deadline - time.monotonic(), 0.001))
        while True:
            try:
                s.connect(self.path)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)

    @staticmethod
    def _next(f):
        while True:
            line = f.readline()
            if not line:
                raise AssertionError("the monitor closed the connection")
            message = json.loads(line)
            if "event" not in message:
                return message


def control_run(wd, g):
    """memtided on the same socket, not marked shared: the second client is
    locked out (QEMU answers one client at a time)."""
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": g.qmp_path, "SharedQMPSockets": "",
                         "Interval": "1s", "StatsPeriod": "1s"})
    daemon.start()
    try:
        wait_for(lambda: daemon.guests().get("shared"), 30, "the guest to be managed")
        info = daemon.guests()["shared"]
        assert info.get("shared_monitor") is False, info
        tries = [SecondClient(g.qmp_path).exchange() for _ in range(3)]
        log("control (monitor held by memtided): second client's answers %r" % tries)
        assert all(t is None for t in tries), (
            "a second client was answered while memtided held the monitor (%r): "
            "this test could not see a locked-out client" % tries)
    finally:
        daemon.stop()


def sharing_run(wd, g, seconds):
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": g.qmp_path,
                         "SharedQMPSockets": os.path.join(os.path.dirname(g.qmp_path), "*.qmp"),
                         "Interval": "1s", "StatsPeriod": "1s"})
    times, errors = [], []
    stop = threading.Event()

    def second_client():
        client = SecondClient(g.qmp_path, limit=5.0)  # measured up to 5 s, judged at 1 s
        while not stop.is_set() and len(times) < seconds:
            t0 = time.monotonic()
            try:
                times.append(client.exchange())
            except (OSError, AssertionError) as e:
                errors.append(repr(e))
                times.append(None)
            stop.wait(max(0.0, 1.0 - (time.monotonic() - t0)))

    daemon.start()
    thread = threading.Thread(target=second_client, daemon=True)
    passed = False
    try:
        wait_for(lambda: daemon.guests().get("shared"), 30, "the guest to be managed")
        t0 = time.monotonic()
        thread.start()
        got = wait_for(lambda: squeezed(daemon, "shared"), seconds + 30,
                       "the guest to be squeezed while a second client uses its monitor")
        log("squeezed to %.0f MiB (floor %.0f MiB) %.1f s after the second client started" % (
            got["actual_bytes"] / MIB, got["floor_bytes"] / MIB, time.monotonic() - t0))
        thread.join(seconds + 30)
        assert not thread.is_alive(), "the second client did not finish"
        show(daemon)
        info = daemon.guests()["shared"]
        answered = [t for t in times if t is not None]
        log("second client: %d commands in %.0f s, %d answered, slowest %.3f s, mean %.3f s" % (
            len(times), time.monotonic() - t0, len(answered),
            max(answered) if answered else -1, sum(answered) / max(len(answered), 1)))
        log("memtided: shared_monitor %s, %s monitor sessions; guest state %s" % (
            info.get("shared_monitor"), info.get("monitor_sessions"), info.get("state")))
        assert not errors, errors
        assert len(times) >= seconds, times
        late = [t for t in times if t is None or t > ANSWER_LIMIT_S]
        assert not late, "%d of %d commands not answered within %.0f s: %r" % (
            len(late), len(times), ANSWER_LIMIT_S, times)
        assert info.get("shared_monitor") is True, info
        assert info.get("monitor_sessions", 0) >= seconds // 2, info
        assert squeezed(daemon, "shared"), "the guest is no longer squeezed: %r" % info
        passed = True
    finally:
        stop.set()
        teardown(daemon, [], passed)


def main():
    image = require_guests()
    wd = workdir("memtide-qmp-sharing-")
    seconds = int(os.environ.get("MEMTIDE_SHARING_SECONDS") or (20 if sanitized_build() else 60))
    # Without free page reporting the policy squeezes an idle guest: the
    # balloon has to move, through the sessions, while the second client runs.
    g = guests.Guest("shared", wd, mem_mib=512, free_page_reporting=False, image_dir=image,
                     test_monitor=True)
    passed = False
    try:
        g.start()
        g.wait_ready()
        for sub in ("control", "shared"):
            os.makedirs(os.path.join(wd, sub))
        assert g.balloon_actual_mib() == 512
        sharing_run(os.path.join(wd, "shared"), g, seconds)
        control_run(os.path.join(wd, "control"), g)
        passed = True
    finally:
        g.kill()
        if not passed:
            print("---- guest console (tail) ----\n" + g.console_text()[-2000:])


if __name__ == "__main__":
    run_test(main)
