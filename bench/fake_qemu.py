#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""N fake QEMUs in one process: each serves a QMP Unix socket with the
replies a real QEMU 7.2 gave (bench/qmp-replies-qemu-7.2.json, from
bench/record-qmp-replies.py), for memtided to manage at scale.

    bench/fake_qemu.py DIR N [--fixture FILE] [--rate MIB_PER_S]

serves DIR/guest0001.qmp .. DIR/guestNNNN.qmp (asyncio, one thread). Each
guest keeps the state a real one would show:

- a balloon: `balloon` sets its target, and the size then moves at --rate
  MiB/s (128) in 100 ms steps; query-balloon, BALLOON_CHANGE (at most once a
  second, the last size at the end of the second, as QEMU throttles it) and
  the stats' MemTotal follow it;
- its balloon driver's reports: every guest-stats-polling-interval seconds
  (set by qom-set; each guest at its own phase) a new report with
  last-update, MemTotal = size - the kernel's reserve, MemAvailable and
  MemFree = MemTotal - the memory in use, figures taken from the recording.

Everything else is answered with the recorded reply (query-name with the
guest's own name). All guests share this process's pid, which memtided
reads through SO_PEERCRED for QEMU's RSS: each guest's "QEMU RSS" is this
process's.

Control on stdin, one command a line; answers on stdout:

    distress I   guest I's use jumps to leave 16 MiB available; its next
                 report shows it  -> "distress I T" at that report
    calm I       its use back to the recorded figure  -> "calm I T" likewise
    counts       -> "counts JSON" (commands received by name, connections,
                    the guests' sizes)
    quit

and, unprompted, "deflate I T VALUE" when a balloon command asks a guest in
distress for more memory (T: time.monotonic() on arrival, comparable with
the distress line's). Stdlib only.
"""

import argparse
import asyncio
import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURE = os.path.join(HERE, "qmp-replies-qemu-7.2.json")
MIB = 1 << 20
STEP_SEC = 0.1
REPORT_LATENCY_SEC = 0.005  # the guest's answer after QEMU's stats timer
EVENT_THROTTLE_SEC = 1.0
DISTRESS_AVAILABLE = 16 * MIB


def encode(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


class Fixture:
    def __init__(self, path):
        with open(path) as f:
            d = json.load(f)
        self.greeting = encode(d["greeting"]) + b"\r\n"
        self.replies = {k: v["reply"] for k, v in d["replies"].items()}
        stats = self.replies["qom-get guest-stats"]["return"]["stats"]
        self.boot = self.replies["query-memory-size-summary"]["return"]["base-memory"]
        self.reserve = self.boot - stats["stat-total-memory"]
        self.used = stats["stat-total-memory"] - stats["stat-available-memory"]
        self.free_over_available = stats["stat-free-memory"] - stats["stat-available-memory"]
        self.stats = stats
        # Static replies, serialized once: (command, distinguishing argument) -> bytes
        self.static = {}
        for key, v in d["replies"].items():
            if "error" in v["reply"]:
                continue
            body = encode(v["reply"]["return"])
            args = v["arguments"] or {}
            self.static[(v["execute"], args.get("path") if v["execute"] == "qom-list"
                         else args.get("queue"))] = body


class Guest:
    def __init__(self, server, index, path):
        self.server = server
        self.index = index
        self.name = "guest%04d" % index
        self.path = path
        f = server.fixture
        self.actual = f.boot
        self.target = f.boot
        self.used = f.used
        self.period = 0
        self.report_at = 0  # wall-clock seconds of the last report (QEMU's last-update)
        self.stats_body = self._stats_body(0)
        self.distress = False
        self.announce = None  # "distress" or "calm": said at the next report
        self.writer = None
        self.mover = None
        self.reporter = None
        self.event_pending = False
        self.last_event = 0.0

    # --- the guest ---

    def _stats_body(self, last_update):
        f = self.server.fixture
        total = self.actual - f.reserve
        available = max(total - self.used, 0)
        s = dict(f.stats)
        s["stat-total-memory"] = total
        s["stat-available-memory"] = available
        s["stat-free-memory"] = available + f.free_over_available
        return encode({"last-update": last_update, "stats": s})

    def report(self):
        """The balloon driver's report reaching QEMU now."""
        self.report_at = int(time.time())
        self.stats_body = self._stats_body(self.report_at)
        if self.announce:
            self.server.say("%s %d %.6f" % (self.announce, self.index, time.monotonic()))
            self.announce = None

    async def _report_loop(self):
        # QEMU polls the driver at once when the period is set, then re-arms
        # its timer when each answer arrives: each guest has its own phase.
        await asyncio.sleep(REPORT_LATENCY_SEC)
        while self.period > 0:
            self.report()
            await asyncio.sleep(self.period + REPORT_LATENCY_SEC)

    def set_period(self, seconds):
        self.period = seconds
        if self.reporter:
            self.reporter.cancel()
            self.reporter = None
        if seconds > 0:
            self.reporter = asyncio.ensure_future(self._report_loop())

    def set_target(self, value):
        self.target = max(min(value, self.server.fixture.boot), 0)
        if not self.mover or self.mover.done():
            self.mover = asyncio.ensure_future(self._move())

    async def _move(self):
        step = int(self.server.rate * STEP_SEC)
        while self.actual != self.target:
            await asyncio.sleep(STEP_SEC)
            if self.target > self.actual:
                self.actual = min(self.actual + step, self.target)
            else:
                self.actual = max(self.actual - step, self.target)
            self.balloon_changed()

    def balloon_changed(self):
        now = time.monotonic()
        if now - self.last_event >= EVENT_THROTTLE_SEC:
            self.send_event()
        elif not self.event_pending:
            self.event_pending = True
            asyncio.get_running_loop().call_later(
                self.last_event + EVENT_THROTTLE_SEC - now, self.send_event)

    def send_event(self):
        self.event_pending = False
        self.last_event = time.monotonic()
        if not self.writer:
            return
        t = time.time()
        self.writer.write(encode({"timestamp": {"seconds": int(t),
                                                "microseconds": int(t % 1 * 1e6)},
                                  "event": "BALLOON_CHANGE",
                                  "data": {"actual": self.actual}}) + b"\r\n")

    # --- QMP ---

    def answer(self, msg):
        """The reply's "return" body as bytes, or None for an error."""
        f = self.server.fixture
        name = msg.get("execute")
        args = msg.get("arguments") or {}
        if name == "qom-get" and args.get("property") == "guest-stats":
            return self.stats_body
        if name == "query-balloon":
            return b'{"actual":%d}' % self.actual
        if name == "query-name":
            return encode({"name": self.name})
        if name == "balloon":
            value = args.get("value", 0)
            if self.distress and value > self.actual:
                self.server.say("deflate %d %.6f %d" % (self.index, time.monotonic(), value))
            self.set_target(value)
            return b"{}"
        if name == "qom-set":
            if args.get("property") == "guest-stats-polling-interval":
                self.set_period(int(args.get("value", 0)))
            return b"{}"
        key = (name, args.get("path") if name == "qom-list" else args.get("queue"))
        return f.static.get(key)

    async def serve(self, reader, writer):
        if self.writer:  # QEMU serves one client per monitor
            writer.close()
            return
        self.writer = writer
        self.server.connections += 1
        counts = self.server.commands
        try:
            writer.write(self.server.fixture.greeting)
            while True:
                line = await reader.readline()
                if not line:
                    break
                msg = json.loads(line)
                name = msg.get("execute")
                counts[name] = counts.get(name, 0) + 1
                body = self.answer(msg)
                tail = b"" if "id" not in msg else b',"id":' + encode(msg["id"])
                if body is None:
                    writer.write(b'{"error":{"class":"CommandNotFound","desc":"The command %s '
                                 b'has not been found"}%s}\r\n' % (name.encode(), tail))
                else:
                    writer.write(b'{"return":' + body + tail + b"}\r\n")
                if writer.transport.get_write_buffer_size() > 1 << 20:
                    await writer.drain()
        except (ConnectionError, ValueError):
            pass
        finally:
            self.writer = None
            writer.close()


class Server:
    def __init__(self, directory, n, fixture, rate):
        self.fixture = fixture
        self.rate = rate * MIB
        self.connections = 0
        self.commands = {}
        self.guests = [Guest(self, i, os.path.join(directory, "guest%04d.qmp" % i))
                       for i in range(1, n + 1)]

    def say(self, line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    async def start(self):
        for g in self.guests:
            try:
                os.unlink(g.path)
            except FileNotFoundError:
                pass
            await asyncio.start_unix_server(g.serve, path=g.path, backlog=16)

    def control(self, line):
        words = line.split()
        if not words:
            return
        if words[0] in ("distress", "calm") and len(words) == 2:
            g = self.guests[int(words[1]) - 1]
            g.distress = words[0] == "distress"
            g.used = (g.actual - self.fixture.reserve - DISTRESS_AVAILABLE if g.distress
                      else self.fixture.used)
            g.announce = words[0]
        elif words[0] == "counts":
            self.say("counts " + json.dumps({
                "connections": self.connections, "commands": self.commands,
                "actual": [g.actual for g in self.guests],
                "connected": sum(1 for g in self.guests if g.writer)}))
        elif words[0] == "quit":
            raise SystemExit(0)
        else:
            self.say("error unknown command: " + line.strip())


async def main_async(a):
    server = Server(a.dir, a.guests, Fixture(a.fixture), a.rate)
    await server.start()
    server.say("ready %d %d" % (a.guests, os.getpid()))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return 0
        server.control(line.decode())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("guests", type=int)
    p.add_argument("--fixture", default=DEFAULT_FIXTURE)
    p.add_argument("--rate", type=float, default=128, help="balloon speed, MiB/s")
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * a.guests + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * a.guests + 64), hard))
    try:
        return asyncio.run(main_async(a))
    except SystemExit as e:
        return e.code


if __name__ == "__main__":
    sys.exit(main())
