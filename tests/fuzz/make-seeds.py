#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes the seed inputs of tests/fuzz/corpus/<target>/seed-*.

A maintainer tool: its output is committed, the tests never run it. Seeds
for the QMP stream and the stats parsers are the QEMU 7.2 replies recorded in
tests/fixtures/qmp and tests/fixtures/virtio, byte for byte; config and
varlink seeds are written here by hand. Inputs found by fuzzing live beside
the seeds under libFuzzer's names (their SHA-1), crash regressions as
crash-<what>; this script only ever rewrites seed-* files.

The QMP stream seeds start with the fuzz target's control byte (see
fuzz-qmp-stream.c), then QEMU's greeting, the reply to qmp_capabilities
(id 1) and the recorded messages. The client has ids 2 to 9 outstanding
once ready, so recorded replies carry their own id where it falls in that
range; others get one in range, written into the reply's text.

Usage: tests/fuzz/make-seeds.py [TARGET...]   (default: every target)
"""

import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
CORPUS = os.path.join(HERE, "corpus")


def fixture(*path):
    with open(os.path.join(FIXTURES, *path), "rb") as f:
        return f.read()


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def clear_seeds(target):
    for p in glob.glob(os.path.join(CORPUS, target, "seed-*")):
        os.unlink(p)


# ---- fuzz-qmp-stream ---------------------------------------------------------

CHUNK_ALL, CHUNK_1, CHUNK_7, CHUNK_64 = 7, 0, 3, 5
REQUEUE = 8


def free_at(n):
    return n << 4


def with_id(msg, new_id):
    """The recorded reply with its id set to new_id (added if it had none)."""
    if re.search(rb'"id": \d+', msg):
        return re.sub(rb'"id": \d+', b'"id": %d' % new_id, msg, count=1)
    return msg.replace(b"{", b'{"id": %d, ' % new_id, 1)


def qmp_seeds():
    t = "fuzz-qmp-stream"
    clear_seeds(t)
    greeting = fixture("qmp", "greeting.json")
    caps = with_id(fixture("qmp", "qmp-capabilities.json"), 1)
    start = greeting + caps

    replies = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "qmp", "*.json"))):
        name = os.path.basename(path)[:-5]
        msg = fixture("qmp", name + ".json")
        if name in ("greeting", "qmp-capabilities"):
            continue
        if name.startswith("event-"):
            write(t, name, bytes([CHUNK_ALL]) + start + msg)
            continue
        m = re.search(rb'"id": (\d+)', msg)
        if not m or not 2 <= int(m.group(1)) <= 9:
            msg = with_id(msg, 2 + len(replies) % 8)
        replies.append(msg)
        write(t, name, bytes([CHUNK_ALL]) + start + msg)

    # A whole session: every reply and both events, split every way.
    session = start + fixture("qmp", "event-balloon-change.json")
    used = set()
    for msg in replies:
        i = int(re.search(rb'"id": (\d+)', msg).group(1))
        if i not in used:
            used.add(i)
            session += msg
    session += fixture("qmp", "event-shutdown.json")
    for chunk in range(8):
        write(t, "session-chunk%d" % chunk, bytes([chunk]) + session)
    write(t, "session-requeue", bytes([CHUNK_7 | REQUEUE]) + session)
    for n in (1, 2, 5, 9):
        write(t, "session-free-at-%d" % n, bytes([CHUNK_64 | free_at(n)]) + session)

    # What a broken or hostile peer sends (issue 7's fake servers).
    write(t, "no-greeting", bytes([CHUNK_ALL]) + fixture("qmp", "query-balloon.json"))
    write(t, "garbage", bytes([CHUNK_ALL]) + b"\x00\xff{]}not json\r\n")
    write(t, "half-message", bytes([CHUNK_1]) + start + fixture("qmp", "query-balloon.json")[:20])
    write(t, "half-greeting", bytes([CHUNK_1]) + greeting[: len(greeting) // 2])
    write(t, "bare-values", bytes([CHUNK_ALL]) + start + b'null\r\n42\r\n"x"\r\n[]\r\n')
    write(t, "unknown-id", bytes([CHUNK_ALL]) + start + b'{"return": {}, "id": 4000000000}\r\n')
    write(t, "id-not-number", bytes([CHUNK_ALL]) + start + b'{"return": {}, "id": "2"}\r\n')
    write(t, "error-no-desc", bytes([CHUNK_ALL]) + start + b'{"error": {}, "id": 2}\r\n')
    write(t, "event-no-name", bytes([CHUNK_ALL]) + start + b'{"event": 7}\r\n')
    write(t, "caps-refused", bytes([CHUNK_ALL]) + greeting +
          fixture("qmp", "error-command-not-found.json").replace(b'"id": 6', b'"id": 1'))
    write(t, "deep", bytes([CHUNK_ALL]) + start + b'{"return": ' + b"[" * 80 + b"]" * 80 +
          b', "id": 2}\r\n')
    write(t, "no-crlf", bytes([CHUNK_1]) + start.replace(b"\r\n", b"") +
          b''.join(m.replace(b"\r\n", b"") for m in replies[:3]))


# ---- fuzz-balloon-stats ------------------------------------------------------

def stats_seeds():
    t = "fuzz-balloon-stats"
    clear_seeds(t)
    for path in sorted(glob.glob(os.path.join(FIXTURES, "qmp", "*.json"))):
        name = os.path.basename(path)[:-5]
        if name.startswith(("guest-stats", "query-balloon")):
            write(t, name, fixture("qmp", name + ".json"))
    for path in sorted(glob.glob(os.path.join(FIXTURES, "virtio", "*.json"))):
        name = os.path.basename(path)[:-5]
        data = fixture("virtio", name + ".json")
        write(t, name, data)
        # The replies alone, as the daemon would see them one by one.
        if name == "qemu72-hint-on-report-on-driver":
            doc = json.loads(data)
            write(t, name + "-status", json.dumps(doc["x-query-virtio-status"]).encode())
            for i, q in enumerate(doc["x-query-virtio-queue-status"]):
                write(t, name + "-queue%d" % i, json.dumps(q).encode())
    write(t, "negative", b'{"stats": {"stat-total-memory": -1, "stat-free-memory": 1.5, '
          b'"stat-available-memory": 18446744073709551616}, "last-update": -5}')
    write(t, "zero", b'{"stats": {"stat-total-memory": 0, "stat-free-memory": 0, '
          b'"stat-available-memory": 0}, "last-update": 0}')


# ---- fuzz-config -------------------------------------------------------------

CONFIGS = {
    "readme": """[Daemon]
Backend=qmp
QMPSockets=/var/run/qemu-server/*.qmp /run/memtide/qmp/*.qmp
Interval=2s
StatsPeriod=1s
ControlSocket=/run/memtide/io.memtide.socket

[Policy]
Strategy=adaptive

[Guest:db-*]
MinMemory=2G
""",
    "every-key": """# every key once
[Daemon]
Backend=auto
LibvirtURI=qemu:///system
QMPSockets=/run/memtide/qmp/*.qmp
Interval=500ms
StatsPeriod=2s
ControlSocket=/run/memtide/io.memtide.socket

[Policy]
Strategy=adaptive
HeadroomMin=64M
HeadroomShare=10%
InflateStep=10%
DeflateStep=256M
GrowthHorizon=5s
PeakHalfLife=10min
VolatilityFactor=3
HostReserve=5%
IdleTax=75%
MomInterval=10s
MomSampleInterval=5s
MomPressureThreshold=20%
MomPressureCritical=5%
MomMinGuestFree=20%
MomMaxChange=5%
MomMinChange=0.25%
ProxmoxInterval=10s
ProxmoxTarget=80%
ProxmoxMaxChange=100M
ProxmoxDeadBand=10M

[Guest:web-*]
MinMemory=256M
MaxMemory=1.5G
Manage=yes
Shares=2000

[Guest:6c9a2b5e-61e4-4a4f-9d3e-2f1d0f0b7c11]
Manage=no
""",
    "strategies": "[Policy]\nStrategy=mom\n[Policy]\nStrategy=proxmox\n; comment\n",
    "errors-section": "[Daemon\n",
    "errors-unknown": "[Nope]\nKey=1\n",
    "errors-outside": "Interval=2s\n",
    "errors-values": "[Daemon]\nInterval=fast\nStatsPeriod=1500ms\nQMPSockets=relative/*.qmp\n",
    "errors-sizes": "[Guest:a]\nMinMemory=-5M\nMaxMemory=99999999999T\nShares=50001\n",
    "odd-spacing": "  [Guest:x]  \r\n\t MinMemory = 1 G \r\n\nManage=false\n",
    "empty-sockets": "[Daemon]\nQMPSockets=\n",
    "huge-numbers": "[Policy]\nGrowthHorizon=1e19us\nHeadroomMin=1e300\nInflateStep=100%\n",
}


def config_seeds():
    t = "fuzz-config"
    clear_seeds(t)
    for name, text in CONFIGS.items():
        write(t, name, text.encode())
    # Main file, NUL, drop-in: the drop-in overrides the main file.
    write(t, "dropin", CONFIGS["readme"].encode() + b"\0" +
          b"[Daemon]\nInterval=5s\n[Guest:db-*]\nMinMemory=1G\n")
    write(t, "dropin-error", CONFIGS["readme"].encode() + b"\0[Policy]\nStrategy=none\n")


# ---- fuzz-varlink ------------------------------------------------------------

def call(method, params=None, **extra):
    o = {"method": method}
    if params is not None:
        o["parameters"] = params
    o.update(extra)
    return json.dumps(o).encode() + b"\0"


def varlink_seeds():
    t = "fuzz-varlink"
    clear_seeds(t)
    limit_64k, limit_4k, limit_256, limit_16 = 0, 1 << 3, 2 << 3, 3 << 3
    status = call("io.memtide.Manager.GetStatus")
    write(t, "get-status", bytes([7 | limit_64k]) + status)
    write(t, "list-guests", bytes([7]) + call("io.memtide.Manager.ListGuests", {}))
    write(t, "get-info", bytes([7]) + call("org.varlink.service.GetInfo", {}))
    write(t, "pipelined", bytes([3 | limit_4k]) + status +
          call("io.memtide.Manager.ListGuests", {}, more=True) +
          call("org.varlink.service.GetInfo", oneway=True))
    write(t, "split", bytes([0]) + status + status)
    write(t, "unknown-method", bytes([7]) + call("io.memtide.Manager.Nope", {"x": [1, 2]}))
    write(t, "no-method", bytes([7]) + b'{"parameters": {}}\0')
    write(t, "method-not-string", bytes([7]) + b'{"method": 5}\0')
    write(t, "not-object", bytes([7]) + b'["io.memtide.Manager.GetStatus"]\0')
    write(t, "malformed", bytes([7]) + b'{"method": "io.memtide\0')
    write(t, "empty", bytes([7]) + b"\0\0")
    write(t, "no-nul", bytes([7 | limit_256]) + status[:-1] * 20)
    write(t, "oversized", bytes([5 | limit_16]) + call("io.memtide.Manager.ListGuests", {}))
    write(t, "at-limit", bytes([7 | limit_16]) + b'{"method":"x12"}\0')


# ---- fuzz-control ------------------------------------------------------------

def raw_call(method, params_json):
    """A request with its parameters as given bytes (which json.dumps would not write)."""
    return b'{"method":"' + method + b'","parameters":' + params_json + b"}\0"


def control_seeds():
    """Requests to the daemon's control socket (fuzz-control.c): control
    byte (chunk size, AS_NOBODY, WRITE_FIRST), then the stream. The daemon
    has guests web1 (with a UUID), db1 and "\u00e9t\u00e9"."""
    t = "fuzz-control"
    clear_seeds(t)
    chunk_all, chunk_1, chunk_7, chunk_512 = 7, 0, 2, 4
    as_nobody, write_first = 8, 16
    m = "io.memtide.Manager."
    web1_uuid = "6f1c2b52-8e8f-4a57-9f0e-2d8f4c0b1a11"
    reads = {
        "get-status": call(m + "GetStatus"),
        "list-guests": call(m + "ListGuests", {}),
        "get-guest": call(m + "GetGuest", {"name": "web1"}),
        "get-guest-uuid": call(m + "GetGuest", {"name": web1_uuid.upper()}),
        "get-guest-utf8": call(m + "GetGuest", {"name": "\u00e9t\u00e9"}),
        "get-compat": call(m + "GetCompat", {"name": "db1"}),
        "explain-all": call(m + "Explain"),
        "explain-one": call(m + "Explain", {"name": "db1"}),
        "get-metrics": call(m + "GetMetrics", {}),
        "get-info": call("org.varlink.service.GetInfo"),
    }
    writes = {
        "set-min": call(m + "SetOverride", {"name": "web1", "min_bytes": 1 << 30}),
        "set-all": call(m + "SetOverride", {"name": "db1", "min_bytes": 1 << 29,
                                             "max_bytes": 3 << 30, "shares": 50000,
                                             "manage": False}),
        "set-later-guest": call(m + "SetOverride", {"name": "vm-not-yet", "shares": 0}),
        "set-then-reset": call(m + "SetOverride", {"name": web1_uuid, "manage": True}) +
        call(m + "ResetOverride", {"name": web1_uuid}),
        "reset-none": call(m + "ResetOverride", {"name": "web1"}),
        "reload": call(m + "Reload"),
    }
    for name, req in {**reads, **writes}.items():
        write(t, name, bytes([chunk_all]) + req)
    for name, req in writes.items():
        write(t, "nobody-" + name, bytes([chunk_all | as_nobody]) + req)
    session = b"".join(reads.values()) + b"".join(writes.values())
    write(t, "session-chunk1", bytes([chunk_1]) + session)
    write(t, "session-chunk7", bytes([chunk_7]) + session)
    # Replies pile up unread: the daemon must stop reading, then answer all.
    write(t, "unread-metrics", bytes([chunk_512 | write_first]) + reads["get-metrics"] * 80)
    write(t, "unread-mixed", bytes([chunk_all | write_first]) +
          (reads["list-guests"] + reads["explain-all"] + reads["get-status"]) * 30)

    set_ = m.encode() + b"SetOverride"
    hostile = {
        "min-above-u64": raw_call(set_, b'{"name":"w","min_bytes":18446744073709551616}'),
        "max-u64": raw_call(set_, b'{"name":"w","max_bytes":18446744073709551615}'),
        "min-negative": raw_call(set_, b'{"name":"w","min_bytes":-1}'),
        "min-double": raw_call(set_, b'{"name":"w","min_bytes":1e30}'),
        "min-above-max": raw_call(set_, b'{"name":"w","min_bytes":2,"max_bytes":1}'),
        "min-above-saved-max": raw_call(set_, b'{"name":"w","max_bytes":1048576}') +
        raw_call(set_, b'{"name":"w","min_bytes":2097152}'),
        "shares-4e9": raw_call(set_, b'{"name":"w","shares":4000000000}'),
        "shares-50001": raw_call(set_, b'{"name":"w","shares":50001}'),
        "manage-string": raw_call(set_, b'{"name":"w","manage":"no"}'),
        "name-not-utf8": raw_call(set_, b'{"name":"w\xff\xc3","min_bytes":1}'),
        "name-overlong-utf8": raw_call(set_, b'{"name":"\xc0\xaf","min_bytes":1}'),
        "name-nul": raw_call(set_, b'{"name":"web1\\u0000x","min_bytes":1}'),
        "name-empty": raw_call(set_, b'{"name":"","min_bytes":1}'),
        "name-long": raw_call(set_, b'{"name":"' + b"n" * 1100 + b'","min_bytes":1}'),
        "name-surrogate": raw_call(set_, b'{"name":"\\ud800","min_bytes":1}'),
        "name-number": raw_call(set_, b'{"name":7,"min_bytes":1}'),
        "unknown-parameter": raw_call(set_, b'{"name":"w","min":1}'),
        "unknown-parameter-not-utf8": raw_call(m.encode() + b"GetStatus", b'{"\xff":1}'),
        "parameters-array": raw_call(m.encode() + b"GetGuest", b'["web1"]'),
        "nothing-to-set": raw_call(set_, b'{"name":"w"}'),
        "method-not-utf8": raw_call(m.encode() + b"\xfe", b"{}"),
        "method-nul": raw_call(m.encode() + b"GetStatus\\u0000", b"{}"),
        "method-unknown": call(m + "Nope", {"x": [1, 2]}),
        "no-method": b'{"parameters":{}}\0',
        "trailing-text": b'{"method":"io.memtide.Manager.GetStatus"} x\0',
        "two-objects": b'{"method":"io.memtide.Manager.GetStatus"}{}\0',
        "not-object": b'["io.memtide.Manager.GetStatus"]\0',
        "empty": b"\0",
        "deep": b'{"method":"io.memtide.Manager.GetStatus","parameters":' + b"[" * 40 +
        b"]" * 40 + b"}\0",
        "many-overrides": b"".join(call(m + "SetOverride", {"name": "vm%d" % i, "shares": i})
                                   for i in range(40)),
        "oversized": call(m + "GetGuest", {"name": "x" * (64 * 1024)}),
        "big-after-small": reads["get-status"] +
        call(m + "GetGuest", {"name": "x" * (64 * 1024 - 100)}) + reads["get-info"],
        "half-request": reads["get-status"] + b'{"method":"io.memtide',
    }
    for name, req in hostile.items():
        write(t, name, bytes([chunk_all]) + req)
    write(t, "error-after-requests", bytes([chunk_7]) + reads["get-guest"] * 3 +
          hostile["trailing-text"] + reads["get-status"])


TARGETS = {
    "fuzz-qmp-stream": lambda: qmp_seeds(),
    "fuzz-balloon-stats": lambda: stats_seeds(),
    "fuzz-config": lambda: config_seeds(),
    "fuzz-varlink": lambda: varlink_seeds(),
    "fuzz-control": lambda: control_seeds(),
}


def main():
    for target in sys.argv[1:] or TARGETS:
        TARGETS[target]()
    for d in sorted(os.listdir(CORPUS)):
        print("%-20s %3d files" % (d, len(os.listdir(os.path.join(CORPUS, d)))))


if __name__ == "__main__":
    main()
