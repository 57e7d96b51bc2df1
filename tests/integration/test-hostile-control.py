#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile clients of the control socket (issue 12): memtided runs as root
with OOMScoreAdjust=-900, so whoever can open its socket must not be able to
grow it without bound, lock root out, flood the journal or plant bad
overrides. No guests needed.

  - defect 1: a client that sends requests and never reads its replies does
    not grow the daemon (backpressure), and still gets every reply once it
    reads.
  - defect 4: unprivileged users holding idle connections cannot lock root
    out (per-user limit, slots reserved for root and the memtide group),
    idle connections are closed, and refused connections are logged at a
    bounded rate however fast they come.

The limits are read from daemon/control.h, so the test follows them.
Unprivileged clients are this file run as a helper under setpriv:
  test-hostile-control.py --hold SOCKET N [FLOOD]
connects N times, reports how many connections the daemon kept open and how
many it closed, connects and disconnects FLOOD more times, and holds the
open ones until its stdin closes.
"""

import json
import os
import re
import select
import socket
import subprocess
import sys
import time

import harness
from harness import Daemon, log, wait_for

METHOD = "io.memtide.Manager."
GET_METRICS = b'{"method":"io.memtide.Manager.GetMetrics"}\0'
HERE = os.path.dirname(os.path.abspath(__file__))
# Unprivileged users: nobody and uids without a passwd entry (the daemon
# must not need one).
USERS = [65534, 60001, 60002, 60003]


def constant(name, header="daemon/control.h"):
    """An integer #define of the daemon's source."""
    with open(os.path.join(HERE, "..", "..", header)) as f:
        m = re.search(r"^#define %s\s+\(?(\d+)" % name, f.read(), re.M)
    assert m, "%s defines no %s" % (header, name)
    return int(m.group(1))


def closed_by_peer(s):
    """True when the daemon closed s (EOF), False while it keeps it open."""
    timeout = s.gettimeout()
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    finally:
        s.settimeout(timeout)


def hold(path, n, flood):
    """The unprivileged helper: see the module's docstring."""
    held = [connect(path) for _ in range(n)]
    time.sleep(1.5)  # time for the daemon to accept or refuse each
    kept = [s for s in held if not closed_by_peer(s)]
    for _ in range(flood):
        connect(path).close()
    print(json.dumps({"kept": len(kept), "refused": n - len(kept)}), flush=True)
    sys.stdin.read()


class Holder:
    """Connections held by an unprivileged uid (a helper process)."""

    def __init__(self, daemon, uid, n, flood=0):
        self.daemon = daemon
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        self.proc = subprocess.Popen(
            ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", python,
             os.path.abspath(__file__), "--hold", daemon.socket, str(n), str(flood)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line, "the helper holding connections as uid %d failed" % uid
        got = json.loads(line)
        self.kept, self.refused = got["kept"], got["refused"]

    def release(self):
        self.proc.stdin.close()
        self.proc.wait(30)
        # A round trip after the helper exited: the daemon has seen its
        # connections close before it answers, so the next check starts clean.
        self.daemon.ctl("status")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for PID %d" % pid)


def connect(path, timeout=5):
    """Connects blocking (a full listen backlog makes a non-blocking connect
    fail), then sets the timeout for what follows."""
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


def root_commands_work(daemon):
    daemon.ctl("status")
    daemon.ctl("reload")


def check_lockout(daemon):
    """Defect 4: nobody holding more idle connections than there are slots
    locked root out of memtidectl for as long as it held them."""
    h = Holder(daemon, USERS[0], 40)
    try:
        log("uid %d holds %d connections, %d refused" % (USERS[0], h.kept, h.refused))
        root_commands_work(daemon)
        per_uid = constant("CONTROL_MAX_CLIENTS_PER_UID")
        assert h.kept <= per_uid, "uid %d holds %d connections" % (USERS[0], h.kept)
    finally:
        h.release()


def check_reserve(daemon):
    """Unprivileged users together get at most the unreserved slots, each at
    most its share; root keeps the reserved ones (root has no per-user limit)."""
    max_clients = constant("CONTROL_MAX_CLIENTS")
    reserved = constant("CONTROL_RESERVED_CLIENTS")
    per_uid = constant("CONTROL_MAX_CLIENTS_PER_UID")
    holders = []
    mine = []
    try:
        for uid in USERS:
            holders.append(Holder(daemon, uid, per_uid + 2))
        kept = [h.kept for h in holders]
        log("unprivileged uids hold %s connections" % kept)
        assert all(k <= per_uid for k in kept), kept
        assert sum(kept) == min(max_clients - reserved, per_uid * len(USERS)), kept
        # Root can fill the reserved slots but two, and still run memtidectl
        # (two: the daemon may accept the next command before it sees the
        # last one close).
        for _ in range(max_clients - sum(kept) - 2):
            mine.append(connect(daemon.socket))
        time.sleep(1)
        assert not any(closed_by_peer(s) for s in mine), "root's connections were refused"
        root_commands_work(daemon)
    finally:
        for s in mine:
            s.close()
        for h in holders:
            h.release()


def refusal_lines(daemon):
    return [line for line in daemon.log_text().splitlines() if "refused" in line]


def reported_refusals(daemon, skip):
    """Refusals the log tells of after its first skip refusal lines."""
    counts = (re.search(r"\b(\d+) more", line) for line in refusal_lines(daemon)[skip:])
    return sum(int(m.group(1)) if m else 1 for m in counts)


def check_refusal_log(daemon):
    """A flood of refused connections: the first is logged, then a count at
    most every CONTROL_REFUSAL_LOG_INTERVAL_SEC, not one line each."""
    per_uid = constant("CONTROL_MAX_CLIENTS_PER_UID")
    interval = constant("CONTROL_REFUSAL_LOG_INTERVAL_SEC")
    flood = 3000
    before = len(refusal_lines(daemon))
    start = time.monotonic()
    h = Holder(daemon, USERS[0], per_uid, flood)
    try:
        took = time.monotonic() - start
        lines = refusal_lines(daemon)[before:]
        log("%d connections refused in %.1f s: %d log lines" % (flood, took, len(lines)))
        assert len(lines) <= 2 + took / interval, lines[:10]
        # Each refusal is in the log, as a line of its own or in a count,
        # which comes once the window it fell in has passed.
        wait_for(lambda: reported_refusals(daemon, before) >= flood, 2 * interval + 20,
                 "the count of refusals in the log")
        lines = refusal_lines(daemon)[before:]
        log("logged: %s" % lines[-1])
        assert len(lines) <= 4, lines
        root_commands_work(daemon)
    finally:
        h.release()


def check_idle_timeout(daemon):
    """An idle connection is closed after CONTROL_IDLE_TIMEOUT_SEC; one that
    keeps asking is not."""
    idle = constant("CONTROL_IDLE_TIMEOUT_SEC")
    quiet = connect(daemon.socket)
    busy = connect(daemon.socket)
    start = time.monotonic()
    try:
        while not closed_by_peer(quiet):
            assert time.monotonic() - start < idle + 60, "an idle connection was kept open"
            busy.sendall(b'{"method":"io.memtide.Manager.GetStatus"}\0')
            read_replies(busy, 1, 30)
            time.sleep(min(1.0, idle / 4))
        took = time.monotonic() - start
        log("idle connection closed after %.1f s (timeout %d s)" % (took, idle))
        assert took >= idle - 1, "closed after %.1f s, before the %d s timeout" % (took, idle)
        assert not closed_by_peer(busy), "a connection in use was closed"
    finally:
        quiet.close()
        busy.close()


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "--hold":
        return hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    wd = harness.workdir("memtide-hostile-")
    os.chmod(wd, 0o755)  # unprivileged clients must reach the socket
    state = os.path.join(wd, "state")
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": os.path.join(wd, "none", "*.qmp"),
                         "StateDirectory": state, "Interval": "1s"})
    daemon.start()
    # The socket is 0660 root:memtide when that group exists: this test is
    # about the daemon's limits, so unprivileged users may connect whatever.
    os.chmod(daemon.socket, 0o666)
    passed = False
    try:
        check_unread_replies(daemon)
        check_lockout(daemon)
        check_reserve(daemon)
        check_refusal_log(daemon)
        check_idle_timeout(daemon)
        assert daemon.alive()
        passed = True
        print("PASS")
    finally:
        daemon.stop()
        if not passed:
            print("---- memtided log (tail) ----\n" + daemon.log_text()[-6000:])


if __name__ == "__main__":
    harness.run_test(main)
