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
  - defect 9: wrong input is refused with InvalidParameter naming the
    parameter (numbers beyond UINT64_MAX, shares beyond the config's
    limit, names that are not UTF-8, hold a NUL or are empty, unknown
    parameters, text after the JSON object), overrides.json stays valid
    JSON, the number of overrides is capped (guests not running yet may
    have one), and a valid request is not refused as too large because
    another came in the same read.

The limits are read from daemon/control.h, so the test follows them.
Unprivileged clients are hold_connections.py run under setpriv.
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
from hold_connections import closed_by_peer, connect

METHOD = "io.memtide.Manager."
GET_METRICS = b'{"method":"io.memtide.Manager.GetMetrics"}\0'
HERE = os.path.dirname(os.path.abspath(__file__))
# Unprivileged users: nobody and uids without a passwd entry (the daemon
# must not need one).
USERS = [65534, 60001, 60002, 60003]


def constant(name, header="daemon/control.h"):
    """An integer #define of the daemon's source, such as (64u * 1024u)."""
    with open(os.path.join(HERE, "..", "..", header)) as f:
        m = re.search(r"^#define %s\s+([0-9u ()*+]+)$" % name, f.read(), re.M)
    assert m, "%s defines no %s" % (header, name)
    return eval(m.group(1).replace("u", ""), {"__builtins__": {}})


class Holder:
    """Connections held by an unprivileged uid (a helper process)."""

    def __init__(self, daemon, uid, n, flood=0):
        self.daemon = daemon
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        self.proc = subprocess.Popen(
            ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", python,
             harness.unprivileged_script("hold_connections.py"), daemon.socket, str(n),
             str(flood)],
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


def varlink(path, payload, expect=None):
    """Sends raw requests; returns the replies, decoded (every reply must be
    a JSON object in valid UTF-8), reading until expect replies arrived or
    the daemon closed the connection."""
    s = connect(path, 10)
    data = b""
    try:
        s.sendall(payload)
        while expect is None or data.count(b"\0") < expect:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        raise AssertionError("no end after %r: got %r" % (payload[:100], data[:300]))
    finally:
        s.close()
    return [json.loads(r.decode("utf-8")) for r in data.split(b"\0")[:-1]]


def request(method, params_json):
    return b'{"method":"' + method + b'","parameters":' + params_json + b"}\0"


SET = b"io.memtide.Manager.SetOverride"
RESET = b"io.memtide.Manager.ResetOverride"
GET = b"io.memtide.Manager.GetGuest"
BAD_INPUT = [
    # (what, request, the parameter the error must name)
    ("min_bytes above UINT64_MAX", request(SET, b'{"name":"w","min_bytes":18446744073709551616}'),
     "min_bytes"),
    ("max_bytes far above UINT64_MAX", request(SET, b'{"name":"w","max_bytes":1' + b"0" * 30 + b"}"),
     "max_bytes"),
    ("shares 4000000000", request(SET, b'{"name":"w","shares":4000000000}'), "shares"),
    ("shares above the config's 50000", request(SET, b'{"name":"w","shares":50001}'), "shares"),
    ("negative min_bytes", request(SET, b'{"name":"w","min_bytes":-1}'), "min_bytes"),
    ("min_bytes above max_bytes",
     request(SET, b'{"name":"w","min_bytes":2000000000,"max_bytes":1000000000}'), "min_bytes"),
    ("manage not a boolean", request(SET, b'{"name":"w","manage":"yes"}'), "manage"),
    ("an unknown parameter", request(SET, b'{"name":"w","min":5}'), "min"),
    ("a name not UTF-8", request(SET, b'{"name":"w\xff\xfe","min_bytes":1}'), "name"),
    ("a name with a NUL", request(SET, b'{"name":"a\\u0000b","min_bytes":1}'), "name"),
    ("an empty name", request(SET, b'{"name":"","min_bytes":1}'), "name"),
    ("a name too long", request(SET, b'{"name":"' + b"n" * 5000 + b'","min_bytes":1}'), "name"),
    ("a name not a string", request(SET, b'{"name":5,"min_bytes":1}'), "name"),
    ("reset: a name with a NUL", request(RESET, b'{"name":"a\\u0000b"}'), "name"),
    ("show: a name with a NUL", request(GET, b'{"name":"a\\u0000b"}'), "name"),
    ("explain: a name not a string", request(b"io.memtide.Manager.Explain", b'{"name":[]}'),
     "name"),
    ("parameters not an object", request(GET, b'"w"'), "parameters"),
    ("a method not UTF-8", request(b"io.memtide.Manager.\xff", b"{}"), "method"),
]


def check_bad_input(daemon, state):
    """Defect 9: each wrong input gets InvalidParameter naming the parameter;
    nothing it carried reaches overrides.json."""
    wrong = []
    for what, payload, parameter in BAD_INPUT:
        try:
            replies = varlink(daemon.socket, payload, 1)
        except (UnicodeDecodeError, ValueError) as e:
            wrong.append("%s: the reply is not valid UTF-8 JSON: %s" % (what, e))
            continue
        got = replies[0] if replies else {}
        if (got.get("error") != "org.varlink.service.InvalidParameter" or
                got.get("parameters", {}).get("parameter") != parameter):
            wrong.append("%s: %s, not InvalidParameter %s" % (what, got, parameter))
    log("%d wrong inputs, %d answered wrongly" % (len(BAD_INPUT), len(wrong)))
    assert not wrong, "\n  ".join([""] + wrong)

    # A guest that is not running yet may have an override; the file stays
    # valid JSON (strict UTF-8) holding only what was accepted.
    got = varlink(daemon.socket, request(SET, b'{"name":"web-later","shares":50000}'), 1)[0]
    assert "error" not in got, got
    with open(os.path.join(state, "overrides.json"), "rb") as f:
        saved = json.loads(f.read().decode("utf-8"))["overrides"]
    assert [o["guest"] for o in saved] == ["web-later"], saved
    daemon.ctl("reset", "web-later")


def check_framing(daemon):
    """Text after the JSON object is a malformed request (error, then the
    connection is closed); a valid request is answered whatever came
    before it in the same read."""
    replies = varlink(daemon.socket, b'{"method":"io.memtide.Manager.GetStatus"} trailing\0')
    assert len(replies) == 1 and replies[0]["error"] == "org.varlink.service.InvalidParameter", \
        replies
    limit = constant("VARLINK_MAX_MESSAGE_BYTES", "lib/varlink.h")
    big = request(GET, b'{"name":"' + b"x" * (limit - 100) + b'"}')
    assert len(big) - 1 <= limit  # the NUL is not the message's
    small = request(GET, b'{"name":"' + b"y" * 1000 + b'"}')
    # Wherever the daemon's reads fall: a run of offsets for the big one.
    for offset in range(0, 4096 + 1, 256):
        first = request(GET, b'{"name":"' + b"z" * (offset + 1) + b'"}')
        replies = varlink(daemon.socket, first + big + small, 3)
        errors = [r["error"] for r in replies]
        assert errors == ["io.memtide.Manager.NoSuchGuest"] * 3, (offset, errors)
    log("requests up to the limit answered after others in the same write")


def check_override_cap(wd):
    """At most OVERRIDES_MAX overrides: with that many saved, a new guest is
    refused (naming it), a guest that has one may change it, and one reset
    makes room. A second daemon, its state seeded with the maximum."""
    cap = constant("OVERRIDES_MAX", "daemon/overrides.h")
    wd2 = os.path.join(wd, "cap")
    state = os.path.join(wd2, "state")
    os.makedirs(state)
    with open(os.path.join(state, "overrides.json"), "w") as f:
        json.dump({"overrides": [{"guest": "vm%d" % i, "shares": 10} for i in range(cap)]}, f)
    daemon = Daemon(wd2, {"Backend": "qmp", "QMPSockets": os.path.join(wd2, "none", "*.qmp"),
                          "StateDirectory": state})
    daemon.start()
    try:
        st = json.loads(daemon.ctl("--json", "status").stdout)["daemon"]["overrides"]
        assert st["count"] == cap, st
        got = varlink(daemon.socket, request(SET, b'{"name":"one-more","min_bytes":1}'), 1)[0]
        assert got.get("parameters", {}).get("parameter") == "name", got
        daemon.ctl("set", "vm7", "--shares", "20", "--create")  # no guest runs here
        daemon.ctl("reset", "vm8")
        daemon.ctl("set", "one-more", "--min", "1G", "--create")
        st = json.loads(daemon.ctl("--json", "status").stdout)["daemon"]["overrides"]
        assert st["count"] == cap and st["problem"] is None, st
        log("%d overrides: one more refused, changes and a swap accepted" % cap)
    finally:
        daemon.stop()


def main():
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
        check_bad_input(daemon, state)
        check_framing(daemon)
        check_override_cap(wd)
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
