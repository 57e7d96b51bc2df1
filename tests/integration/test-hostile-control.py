#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile clients of the control socket (issue 12): memtided runs as root
with OOMScoreAdjust=-900, so whoever can open its socket must not be able to
grow it without bound, lock root out, flood the journal or plant bad
overrides. No guests needed.

  - defect 1: a client that sends requests and never reads its replies does
    not grow the daemon (backpressure), and still gets every reply once it
    reads.
"""

import os
import select
import socket
import time

import harness
from harness import Daemon, log, wait_for

METHOD = "io.memtide.Manager."
GET_METRICS = b'{"method":"io.memtide.Manager.GetMetrics"}\0'


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for PID %d" % pid)


def connect(path, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(timeout)
    return s


def read_replies(s, count, timeout, pending=b""):
    """Reads until count NUL-terminated replies arrived, sending pending
    meanwhile (the daemon may read it only once replies are read); returns
    the replies."""
    deadline = time.monotonic() + timeout
    data = b""
    s.setblocking(False)
    try:
        while data.count(b"\0") < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("only %d of %d replies after %d s" %
                                     (data.count(b"\0"), count, timeout))
            readable, writable, _ = select.select([s], [s] if pending else [], [], left)
            if writable:
                pending = pending[s.send(pending):]
            if readable:
                chunk = s.recv(1 << 20)
                if not chunk:
                    raise AssertionError("connection closed after %d of %d replies" %
                                         (data.count(b"\0"), count))
                data += chunk
    finally:
        s.setblocking(True)
    return data.split(b"\0")[:count]


def send_until_blocked(s, payload, stall_seconds=3):
    """Sends payload until done or until the daemon has taken nothing for
    stall_seconds (it stopped reading); returns the bytes sent."""
    s.settimeout(stall_seconds)
    sent = 0
    try:
        while sent < len(payload):
            sent += s.send(payload[sent:sent + 65536])
    except socket.timeout:
        pass
    return sent


def peak_rss_kib(pid, seconds):
    peak = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        peak = max(peak, rss_kib(pid))
        time.sleep(0.2)
    return peak


def check_unread_replies(daemon):
    """Defect 1: 1 MiB of GetMetrics requests (about 24,000, each answered
    with some 4 KiB) from a client that does not read. Unbounded queueing
    grew the daemon by some 90 MiB; with backpressure it stops reading that
    client, so its growth stays within a few MiB (what is queued for one
    client is capped at a few hundred KiB)."""
    pid = daemon.proc.pid
    daemon.ctl("metrics")  # one-time allocations before the baseline
    base = rss_kib(pid)
    s = connect(daemon.socket)
    try:
        sent = send_until_blocked(s, GET_METRICS * ((1 << 20) // len(GET_METRICS)))
        requests = sent // len(GET_METRICS)
        peak = peak_rss_kib(pid, 3)
        log("unread replies: %d requests sent (%d KiB), memtided VmRSS %d -> %d KiB" %
            (requests, sent // 1024, base, peak))
        assert peak - base < 8 * 1024, \
            "memtided grew by %d KiB for a client that does not read" % (peak - base)
        rest = b""
        if sent % len(GET_METRICS):  # finish the request cut in the middle
            rest = GET_METRICS[sent % len(GET_METRICS):]
            requests += 1
        replies = read_replies(s, requests, 120, rest)
        bad = [r for r in replies if not r.startswith(b'{"parameters":{"text":"# HELP')]
        assert not bad, "not a metrics reply: %r" % bad[0][:200]
        log("all %d replies arrived once read" % requests)
    finally:
        s.close()
    daemon.ctl("status")


def main():
    wd = harness.workdir("memtide-hostile-")
    os.chmod(wd, 0o755)  # unprivileged clients must reach the socket
    state = os.path.join(wd, "state")
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": os.path.join(wd, "none", "*.qmp"),
                         "StateDirectory": state, "Interval": "1s"})
    daemon.start()
    passed = False
    try:
        check_unread_replies(daemon)
        assert daemon.alive()
        passed = True
        print("PASS")
    finally:
        daemon.stop()
        if not passed:
            print("---- memtided log (tail) ----\n" + daemon.log_text()[-6000:])


if __name__ == "__main__":
    harness.run_test(main)
