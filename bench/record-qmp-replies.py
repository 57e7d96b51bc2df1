#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Records what a real QEMU answers to every command memtided sends over QMP
(daemon/qmp-guest.c, daemon/qmp-compat.c), for bench/fake_qemu.py.

Boots one test guest (tests/guest/guests.py: 512 MiB, virtio-balloon-pci
with free page reporting, TCG), waits until its balloon driver reports
stats, then sends each command once and writes the greeting, the replies
(with the command and arguments that produced them) and a BALLOON_CHANGE
event to a JSON file:

    bench/record-qmp-replies.py [OUT] (default bench/qmp-replies-qemu-7.2.json)

Environment: MEMTIDE_GUEST_IMAGE (the guest image directory). Stdlib only.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "guest"))

import guests  # noqa: E402

BALLOON = "/machine/peripheral/balloon0"
DEFAULT_OUT = os.path.join(HERE, "qmp-replies-qemu-7.2.json")


def commands(virtio_path):
    """(key, command, arguments) in the order memtided sends them."""
    return [
        ("query-status", "query-status", None),
        ("query-name", "query-name", None),
        ("query-uuid", "query-uuid", None),
        ("qom-list /machine/peripheral", "qom-list", {"path": "/machine/peripheral"}),
        ("qom-list /machine/peripheral-anon", "qom-list", {"path": "/machine/peripheral-anon"}),
        ("query-memory-size-summary", "query-memory-size-summary", None),
        ("query-memory-devices", "query-memory-devices", None),
        ("qom-set guest-stats-polling-interval", "qom-set",
         {"path": BALLOON, "property": "guest-stats-polling-interval", "value": 1}),
        ("query-balloon", "query-balloon", None),
        ("qom-get guest-stats", "qom-get", {"path": BALLOON, "property": "guest-stats"}),
        ("query-qmp-schema", "query-qmp-schema", None),
        ("x-query-virtio", "x-query-virtio", None),
        ("x-query-virtio-status", "x-query-virtio-status", {"path": virtio_path}),
    ]


def handshake(path):
    """The greeting and the qmp_capabilities reply of a fresh connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        f = s.makefile("rwb")
        greeting = json.loads(f.readline())
        f.write(b'{"execute": "qmp_capabilities"}\n')
        f.flush()
        return greeting, json.loads(f.readline())


def record(g):
    greeting, caps = handshake(g.qmp_path)
    out = {"qemu": subprocess.run([guests.qemu_binary(), "--version"],
                             capture_output=True, text=True).stdout.split("\n")[0],
           "recorded": time.strftime("%Y-%m-%d"),
           "guest": "tests/guest image, -m 512, virtio-balloon-pci id=balloon0, "
                    "free-page-reporting=on, TCG",
           "greeting": greeting, "replies": {}}
    out["replies"]["qmp_capabilities"] = {"execute": "qmp_capabilities", "arguments": None,
                                          "reply": caps}
    virtio = g.qmp("x-query-virtio")
    path = next(d["path"] for d in virtio if d["name"] == "virtio-balloon")
    for key, command, args in commands(path):
        out["replies"][key] = {"execute": command, "arguments": args,
                               "reply": g.qmp(command, args, raw=True)}
    status = out["replies"]["x-query-virtio-status"]["reply"]["return"]
    for q in range(status["num-vqs"]):
        args = {"path": path, "queue": q}
        out["replies"]["x-query-virtio-queue-status %d" % q] = {
            "execute": "x-query-virtio-queue-status", "arguments": args,
            "reply": g.qmp("x-query-virtio-queue-status", args, raw=True)}
    # balloon: its (empty) reply and the BALLOON_CHANGE events while it moves
    mon = g.monitor()
    mon.events.clear()
    out["replies"]["balloon"] = {"execute": "balloon", "arguments": {"value": 400 << 20},
                                 "reply": g.qmp("balloon", {"value": 400 << 20}, raw=True)}
    g.wait_balloon(400, timeout=60)
    time.sleep(1.5)  # QEMU sends BALLOON_CHANGE at most once a second
    g.qmp("query-status")  # reads the events that came meanwhile
    changes = [e for e in mon.events if e["event"] == "BALLOON_CHANGE"]
    if not changes:
        raise SystemExit("no BALLOON_CHANGE event seen")
    out["events"] = {"BALLOON_CHANGE": changes[-1]}
    time.sleep(2)
    out["replies"]["qom-get guest-stats ballooned"] = {
        "execute": "qom-get", "arguments": {"path": BALLOON, "property": "guest-stats"},
        "reply": g.qmp("qom-get", {"path": BALLOON, "property": "guest-stats"}, raw=True)}
    out["replies"]["query-balloon ballooned"] = {
        "execute": "query-balloon", "arguments": None,
        "reply": g.qmp("query-balloon", None, raw=True)}
    return out


def dump(out):
    """JSON with one reply per line: readable diffs, and the 200 kB schema
    stays on one line."""
    def compact(v):
        return json.dumps(v, sort_keys=True, separators=(",", ":"))
    top = ['"%s": %s' % (k, compact(v)) for k, v in sorted(out.items()) if k != "replies"]
    replies = ['  %s: %s' % (json.dumps(k), compact(v)) for k, v in sorted(out["replies"].items())]
    return "{\n%s,\n\"replies\": {\n%s\n}}\n" % (",\n".join(top), ",\n".join(replies))


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    if not guests.qemu_binary():
        raise SystemExit("qemu-system-x86_64 not found")
    wd = tempfile.mkdtemp(prefix="memtide-record-")
    with guests.Guest("rec", wd, mem_mib=512, test_monitor=True) as g:
        g.start()
        g.wait_ready()
        g.enable_stats(1)
        deadline = time.monotonic() + 60
        while g.guest_stats()["last-update"] == 0:
            if time.monotonic() > deadline:
                raise SystemExit("the guest never reported stats")
            time.sleep(0.5)
        time.sleep(1.5)
        out = record(g)
    with open(out_path, "w") as f:
        f.write(dump(out))
    print("wrote %s (%d replies, %d bytes)" % (out_path, len(out["replies"]),
                                                os.path.getsize(out_path)))


if __name__ == "__main__":
    sys.exit(main())
