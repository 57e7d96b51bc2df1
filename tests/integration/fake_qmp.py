# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for memtide's fault-injection tests (tests/integration/test-faults-*.py).
Stdlib only.

FakeQmp: a misbehaving QMP server on a Unix socket, served by Python threads,
for memtided to find through QMPSockets= beside real guests. Each connection
runs one behaviour (garbage, half, huge, objects, numbers, nogreeting, mute,
statsonly, steady: an idle QEMU that answers everything every time, unknown
commands with {}, and never reports stats); the server keeps accepting, so memtided's reconnections meet the
same fault again.

StatusProbe: a thread that runs `memtidectl status` over and over and keeps
the slowest answer and any failure, to show the control socket never blocks
while a fault is injected.

rss_kib(pid): VmRSS and VmHWM (peak) of a process, in KiB.
"""

import json
import os
import socket
import subprocess
import threading
import time

from harness import log

GREETING = (b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, '
            b'"package": "fake"}, "capabilities": ["oob"]}}\r\n')

BEHAVIOURS = ("garbage", "half", "huge", "objects", "numbers", "nogreeting", "mute",
              "statsonly", "steady")
HUGE_BYTES = 100 << 20
# What memtide's byte cap was when a byte cap was all there was: json-c builds
# what it parses, so 8 MiB of "{}," took memtided to 2.18 GB and "0," to 310 MB.
ELEMENTS_BYTES = 8 << 20
# What statsonly answers while memtided sets the guest up (daemon/qmp-guest.c),
# as QEMU 7.2 does: a 512 MiB guest with its balloon at /machine/peripheral.
STATSONLY_SETUP = {
    "qmp_capabilities": {},
    "query-status": {"running": True, "singlestep": False, "status": "running"},
    "query-name": {},
    "query-uuid": {"UUID": "00000000-0000-0000-0000-000000000000"},
    "qom-list": [{"name": "type", "type": "string"},
                 {"name": "balloon0", "type": "child<virtio-balloon-pci>"}],
    "query-memory-size-summary": {"base-memory": 512 << 20},
    "query-memory-devices": [],
    "qom-set": {},
    "query-balloon": {"actual": 512 << 20},
}
# A guest-stats reply with nothing reported yet (no guest driver): the guest
# is managed but never ballooned.
UNREPORTED_STATS = {"stats": {k: (1 << 64) - 1 for k in (
    "stat-swap-in", "stat-swap-out", "stat-major-faults", "stat-minor-faults",
    "stat-free-memory", "stat-total-memory", "stat-available-memory", "stat-disk-caches",
    "stat-htlb-pgalloc", "stat-htlb-pgfail")}, "last-update": 0}


class FakeQmp:
    """A fake QMP monitor at PATH with one of BEHAVIOURS:

    garbage     greeting, then bytes that are not JSON
    half        greeting, answers qmp_capabilities with half a message, stalls
    huge        greeting, answers qmp_capabilities with a 100 MiB message,
                streamed in 64 KiB chunks (never held in memory) until the
                peer hangs up
    objects     greeting, answers qmp_capabilities with an unterminated
                [{},{},... of 8 MiB, streamed the same way
    numbers     the same with [0,0,...
    nogreeting  accepts and says nothing
    mute        greeting, answers qmp_capabilities, then never answers again
    statsonly   plays QEMU through memtided's set-up (each command answered
                once), then answers only stats polls (qom-get guest-stats)

    Per connection, .connections counts accepts, .sent[i] the bytes sent,
    .closed_after[i] the seconds until the peer hung up (None: still open),
    .unanswered[i] the commands left unanswered, by name (statsonly);
    .commands the command names received."""

    def __init__(self, path, behaviour):
        if behaviour not in BEHAVIOURS:
            raise ValueError(behaviour)
        self.path = path
        self.behaviour = behaviour
        self.connections = 0
        self.sent = []
        self.closed_after = []
        self.commands = []
        self.unanswered = []
        self.errors = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._conns = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self._sock.bind(path)
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept_loop, daemon=True,
                                        name="fake-qmp-" + behaviour)
        self._thread.start()

    def __repr__(self):
        return "<FakeQmp %s %s conns=%d>" % (self.behaviour, self.path, self.connections)

    def close(self):
        self._stop.set()
        self._thread.join(5)
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.close()
            except OSError:
                pass
        self._sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                idx = self.connections
                self.connections += 1
                self.sent.append(0)
                self.closed_after.append(None)
                self.unanswered.append({})
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn, idx), daemon=True).start()

    # --- one connection ---

    def _send(self, conn, idx, data):
        conn.sendall(data)
        self.sent[idx] += len(data)

    def _read_command(self, conn, buf, timeout):
        """Reads one JSON line from the peer; returns (message or None, rest)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.is_set():
                return None, buf
            conn.settimeout(min(left, 0.2))
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise ConnectionResetError("peer closed")
            buf += data
        line, buf = buf.split(b"\n", 1)
        msg = json.loads(line)
        self.commands.append(msg.get("execute"))
        return msg, buf

    def _wait_closed(self, conn):
        """Reads (and drops) what the peer sends until it hangs up."""
        while not self._stop.is_set():
            conn.settimeout(0.2)
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            if not data:
                return
            for line in data.split(b"\n"):
                if line.strip().startswith(b"{"):
                    try:
                        self.commands.append(json.loads(line).get("execute"))
                    except ValueError:
                        pass
        raise ConnectionResetError("stopping")

    def _serve(self, conn, idx):
        t0 = time.monotonic()
        try:
            getattr(self, "_serve_" + self.behaviour)(conn, idx)
            self.closed_after[idx] = time.monotonic() - t0
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            if not self._stop.is_set():
                self.closed_after[idx] = time.monotonic() - t0
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append(repr(e))
        finally:
            conn.close()

    def _serve_garbage(self, conn, idx):
        self._send(conn, idx, GREETING)
        self._send(conn, idx, b"\x00\xff\xfe}{ not json at all ]]]\r\n")
        self._wait_closed(conn)

    def _serve_half(self, conn, idx):
        self._send(conn, idx, GREETING)
        msg, _ = self._read_command(conn, b"", 10)
        # half of {"return": {}, "id": N}, then nothing
        self._send(conn, idx, b'{"return": {}, "i')
        self._wait_closed(conn)

    def _stream_reply(self, conn, idx, head, unit, total):
        """Answers qmp_capabilities with head, then unit repeated in 64 KiB
        chunks until total bytes are sent or the peer hangs up."""
        self._send(conn, idx, GREETING)
        msg, _ = self._read_command(conn, b"", 10)
        chunk = unit * (65536 // len(unit))
        self._send(conn, idx, b'{"id": %d, "return": ' % (msg or {}).get("id", 0) + head)
        conn.settimeout(30)
        while self.sent[idx] + len(chunk) <= total and not self._stop.is_set():
            self._send(conn, idx, chunk)

    def _serve_huge(self, conn, idx):
        self._stream_reply(conn, idx, b'"', b"a", HUGE_BYTES)
        self._send(conn, idx, b'"}\r\n')
        self._wait_closed(conn)

    def _serve_objects(self, conn, idx):
        self._stream_reply(conn, idx, b"[{}", b",{}", ELEMENTS_BYTES)
        self._wait_closed(conn)

    def _serve_numbers(self, conn, idx):
        self._stream_reply(conn, idx, b"[0", b",0", ELEMENTS_BYTES)
        self._wait_closed(conn)

    def _serve_steady(self, conn, idx):
        self._serve_statsonly(conn, idx, steady=True)

    def _serve_statsonly(self, conn, idx, steady=False):
        self._send(conn, idx, GREETING)
        setup = dict(STATSONLY_SETUP)
        buf = b""
        while not self._stop.is_set():
            msg, buf = self._read_command(conn, buf, 0.2)
            if msg is None:
                continue
            name = msg.get("execute")
            if name == "qom-get" and msg.get("arguments", {}).get("property") == "guest-stats":
                ret = UNREPORTED_STATS
            elif steady:
                ret = STATSONLY_SETUP.get(name, {})
            elif name in setup:
                ret = setup.pop(name)
            else:
                self.unanswered[idx][name] = self.unanswered[idx].get(name, 0) + 1
                continue
            self._send(conn, idx, json.dumps({"return": ret, "id": msg.get("id")}).encode() +
                       b"\r\n")
        raise ConnectionResetError("stopping")

    def _serve_nogreeting(self, conn, idx):
        self._wait_closed(conn)

    def _serve_mute(self, conn, idx):
        self._send(conn, idx, GREETING)
        msg, buf = self._read_command(conn, b"", 10)
        if msg is None:
            return self._wait_closed(conn)
        self._send(conn, idx, b'{"return": {}, "id": %s}\r\n' % json.dumps(msg.get("id")).encode())
        self._wait_closed(conn)


class StatusProbe:
    """Runs `memtidectl status` every `period` seconds in a thread; .worst is
    the slowest answer in seconds, .failures the failed runs (returncode,
    stderr), .count the runs. Use as a context manager or start()/stop()."""

    def __init__(self, daemon, period=0.25, timeout=5.0):
        self.daemon = daemon
        self.period = period
        self.timeout = timeout
        self.worst = 0.0
        self.worst_at = None
        self.count = 0
        self.failures = []
        self._stop = threading.Event()
        self._thread = None
        self._ctl = os.path.join(os.environ["MEMTIDE_BUILD_DIR"], "cli", "memtidectl")

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True, name="status-probe")
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(self.timeout + 5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _run(self):
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                r = subprocess.run([self._ctl, "--socket", self.daemon.socket, "status"],
                                   capture_output=True, text=True, timeout=self.timeout)
                ok = r.returncode == 0
                err = (r.returncode, r.stderr.strip())
            except subprocess.TimeoutExpired:
                ok, err = False, (None, "no answer within %.0f s" % self.timeout)
            dt = time.monotonic() - t0
            self.count += 1
            if dt > self.worst:
                self.worst = dt
                self.worst_at = time.strftime("%H:%M:%S")
            if not ok:
                self.failures.append(err)
            self._stop.wait(self.period)

    def finish(self, limit=1.0):
        """Stops, logs the answers and checks them (see check), and that
        memtided is still alive."""
        self.stop()
        log("memtidectl status: %d answers, slowest %.2f s" % (self.count, self.check(limit)))
        assert self.daemon.alive(), "memtided died"

    def check(self, limit=1.0):
        """Raises AssertionError unless every status answered, within limit seconds."""
        assert self.count > 0, "the status probe never ran"
        assert not self.failures, "memtidectl status failed %d time(s): %s" % (
            len(self.failures), self.failures[:3])
        assert self.worst < limit, "memtidectl status took %.2f s (at %s), limit %.1f s" % (
            self.worst, self.worst_at, limit)
        return self.worst


def rss_kib(pid):
    """(VmRSS, VmHWM) of pid in KiB."""
    rss = hwm = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm
