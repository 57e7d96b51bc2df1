#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""memtidectl against a real memtided on a real guest: the JSON of `list`
and `status` carries the interface contract's field names and types, the
table prints, exit codes hold for bad usage and an absent daemon, and
memtided --check-config reports file:line."""

import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, build_dir, Daemon, guests, require_guests, unprivileged_script,  # noqa: E402
                     teardown, wait_for, workdir)

CONTRACT_FIELDS = {"name", "uuid", "backend", "actual_bytes", "target_bytes", "max_bytes",
                   "floor_bytes", "stats", "stats_age_seconds", "compat", "reason"}


def check_contract(g):
    missing = CONTRACT_FIELDS - set(g)
    assert not missing, "missing fields %s in %s" % (missing, g)
    assert g["name"] == "ctl1" and g["backend"] == "qmp"
    assert g["uuid"] == "6f1c2b52-8e8f-4a57-9f0e-2d8f4c0b1a11", g["uuid"]
    assert g["max_bytes"] == 384 * MIB
    assert isinstance(g["actual_bytes"], int) and 0 < g["actual_bytes"] <= 384 * MIB
    assert isinstance(g["stats"], dict) and g["stats"]["total_bytes"] > 0
    assert isinstance(g["stats_age_seconds"], (int, float))
    assert isinstance(g["compat"], dict)
    assert isinstance(g["reason"], str) and g["reason"]
    for k in g:
        assert k == k.lower() and " " not in k, "not snake_case: %s" % k


def check_cli_errors(daemon, wd):
    ctl = os.path.join(build_dir(), "cli", "memtidectl")
    r = subprocess.run([ctl, "frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown command" in r.stderr, r
    r = subprocess.run([ctl, "--socket", os.path.join(wd, "nope.sock"), "list"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "cannot talk to memtided" in r.stderr, r
    env = dict(os.environ, MEMTIDE_SOCKET=daemon.socket)
    r = subprocess.run([ctl, "list", "--json"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and json.loads(r.stdout)["guests"], r


def varlink_raw(path, payload, read_timeout=5):
    """Sends raw bytes; returns (reply bytes, closed by the daemon)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(read_timeout)
    try:
        s.sendall(payload)
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except socket.timeout:
        return data, False
    finally:
        s.close()


def check_bad_requests(daemon):
    """Malformed and oversized requests get an error and a closed connection;
    clients beyond the limit are refused, root is not; the daemon keeps
    answering."""
    reply, closed = varlink_raw(daemon.socket, b"this is not json\0")
    assert b"org.varlink.service.InvalidParameter" in reply and closed, (reply, closed)
    reply, closed = varlink_raw(daemon.socket, b"{" + b" " * (200 * 1024))
    assert b"org.varlink.service.InvalidParameter" in reply and closed, (reply[:200], closed)
    reply, closed = varlink_raw(daemon.socket, b'{"method":"io.memtide.Manager.Nope"}\0', 2)
    assert b"MethodNotFound" in reply and not closed, reply
    check_held_connections(daemon)
    assert daemon.ctl("status").returncode == 0 and daemon.alive()


def check_held_connections(daemon):
    """An unprivileged user holding 40 idle connections (more than there are
    slots) has some refused, and root's commands work while it holds them
    (test-hostile-control.py checks the limits one by one)."""
    os.chmod(daemon.socket, 0o666)  # reachable by nobody whatever the memtide group
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    helper = unprivileged_script("hold_connections.py")
    holder = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                               python, helper, daemon.socket, "40"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline()
        assert line, "the helper holding connections as nobody failed"
        held = json.loads(line)
        assert held["refused"] >= 40 - 32, held
        daemon.ctl("status")
        daemon.ctl("reload")
    finally:
        holder.stdin.close()
        holder.wait(30)


def check_top_json(daemon):
    """top --json: one JSON line per refresh with the status and the guests."""
    lines = daemon.ctl("top", "--json", "--iterations", "2", "--interval", "0.2").stdout.splitlines()
    assert len(lines) == 2, lines
    for line in lines:
        o = json.loads(line)
        assert o["status"]["daemon"]["guests_managed"] == 1, o
        assert [g["name"] for g in o["guests"]] == ["ctl1"], o
    for bad in (["--interval", "abc"], ["--interval", "0"], ["--iterations", "1.5"]):
        r = daemon.ctl("top", *bad, check=False)
        assert r.returncode == 2 and "usage: top" in r.stderr, (bad, r)


def check_compat_list_json():
    """compat --list --json: the implementations table, row for row as the text."""
    ctl = os.path.join(build_dir(), "cli", "memtidectl")
    rows = json.loads(subprocess.run([ctl, "compat", "--list", "--json"], check=True,
                                     capture_output=True, text=True).stdout)
    text = subprocess.run([ctl, "compat", "--list"], check=True, capture_output=True,
                          text=True).stdout
    names = [line.split()[0] for line in text.splitlines()[1:]
             if line and not line.startswith(" ")]
    assert [r["name"] for r in rows] == names, (rows, names)
    qemu = next(r for r in rows if r["name"] == "qemu")
    assert qemu["side"] == "device" and qemu["features"].startswith("0x"), qemu
    assert qemu["source"].startswith("https://"), qemu


def check_config_errors(wd):
    bad = os.path.join(wd, "bad.conf")
    with open(bad, "w") as f:
        f.write("[Daemon]\nInterval=2s\n\n[Policy]\nHeadroomMin=lots\n")
    memtided = os.path.join(build_dir(), "daemon", "memtided")
    r = subprocess.run([memtided, "--check-config", "--config", bad], capture_output=True, text=True)
    assert r.returncode != 0, r
    assert "%s:5: HeadroomMin=lots" % bad in r.stderr, r.stderr


def main():
    image = require_guests()
    wd = workdir("memtide-ctl-")
    os.chmod(wd, 0o755)  # nobody must reach the socket (check_held_connections)
    g = guests.Guest("ctl1", wd, mem_mib=384, image_dir=image,
                     extra_args=["-uuid", "6f1c2b52-8e8f-4a57-9f0e-2d8f4c0b1a11"])
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": g.qmp_path, "Interval": "1s",
                         "StatsPeriod": "1s"})
    passed = False
    try:
        g.start()
        g.wait_ready()
        daemon.start()
        got = wait_for(lambda: (daemon.guests().get("ctl1") or {}).get("floor_bytes"), 60,
                       "a decision with a floor")
        assert got
        check_contract(daemon.guests()["ctl1"])
        status = json.loads(daemon.ctl("--json", "status").stdout)
        assert status["daemon"]["guests_managed"] == 1
        assert status["host"]["mem_total_bytes"] > 0
        table = daemon.ctl("list").stdout
        assert table.splitlines()[0].split()[:3] == ["NAME", "ACTUAL", "TARGET"], table
        assert "ctl1" in table and "1 guest(s)" in table, table
        assert "Guests managed:" in daemon.ctl("status").stdout
        check_cli_errors(daemon, wd)
        check_bad_requests(daemon)
        check_config_errors(wd)
        check_top_json(daemon)
        check_compat_list_json()
        passed = True
        print("PASS")
    finally:
        teardown(daemon, [g], passed)


if __name__ == "__main__":
    run_test(main)
