#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""memtidectl as a new operator meets it, without a real guest (a few
seconds): help for every verb, usage errors that say what is wrong and exit
2, numbers printed as people write them, `set` refusing a mistyped guest,
`overrides`, an absent daemon or a socket it may not use explained,
`simulate` errors, legend and timeline, and memtided --check-config reporting
every error of a config. The guest is a fake QMP monitor that answers
memtided's set-up and polls as QEMU does; its stats are never reported, so
it is managed but never ballooned."""

import json
import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_test, build_dir, Daemon, teardown, wait_for, workdir  # noqa: E402
from fake_qmp import FakeQmp  # noqa: E402

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
VERBS = ["status", "list", "show", "set", "reset", "overrides", "reload", "explain", "compat",
         "metrics", "top", "simulate", "help"]
# A JSON or text number with float noise: seven or more decimals.
NOISY = re.compile(r"\d\.\d{7,}")


def ctl(*args, socket_path=None, user=None):
    exe = os.path.join(build_dir(), "cli", "memtidectl")
    cmd = [exe] + (["--socket", socket_path] if socket_path else []) + list(args)
    if user:
        cmd = ["setpriv", "--reuid=%s" % user, "--regid=nogroup", "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def expect(r, code, *needles, stream="stderr"):
    text = getattr(r, stream)
    assert r.returncode == code, "exit %d, not %d: %r" % (r.returncode, code, r)
    for n in needles:
        assert n in text, "%r not in %s: %r" % (n, stream, text)
    return text


def check_help():
    """--help names every verb; each verb takes --help; help VERB."""
    text = expect(ctl("--help"), 0, stream="stdout")
    for v in VERBS:
        assert re.search(r"^  %s\b" % v, text, re.M), "--help omits %s:\n%s" % (v, text)
    for v in VERBS:
        out = expect(ctl(v, "--help"), 0, stream="stdout")
        assert ("memtidectl " + v) in out, (v, out)
        assert expect(ctl("help", v), 0, stream="stdout") == out, v
    expect(ctl("help", "nope"), 2, "unknown command 'nope'")


def check_usage_errors():
    """Each says what is wrong, exit 2, before any daemon is asked."""
    nowhere = "/nonexistent/memtide.sock"
    expect(ctl("set", "g", "--shares", "99999", socket_path=nowhere), 2, "--shares 99999",
           "0 to 50000")
    expect(ctl("set", "g", "--manage", "maybe", socket_path=nowhere), 2, "--manage maybe",
           "yes or no")
    expect(ctl("set", "g", "--min", "2G", "--max", "1G", socket_path=nowhere), 2,
           "--min 2 GiB", "--max 1 GiB")
    expect(ctl("status", "--frobnicate", socket_path=nowhere), 2, "'--frobnicate'")
    expect(ctl("list", "extra", socket_path=nowhere), 2, "'extra'")
    expect(ctl("set", "g", "--bogus", "1", socket_path=nowhere), 2, "--bogus")


def check_unreachable(wd):
    """What to check when the daemon cannot be reached."""
    path = os.path.join(wd, "absent.sock")
    text = expect(ctl("status", socket_path=path), 1, path, "systemctl status memtided")
    assert "--socket" in text or "MEMTIDE_SOCKET" in text, text
    # A socket only root may open: the memtide group is what to ask for.
    private = os.path.join(wd, "private")
    os.mkdir(private)
    os.chmod(private, 0o755)
    path = os.path.join(private, "root-only.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    os.chmod(path, 0o600)
    try:
        expect(ctl("status", socket_path=path, user="nobody"), 1, "permission denied",
               "memtide group", path)
    finally:
        s.close()


def check_simulate(wd):
    text = expect(ctl("simulate", "--scenario", "nope"), 2, "unknown scenario 'nope'")
    for name in ("spike", "boot-storm", "slow-leak", "cache-growth", "batch"):
        assert name in text, text
    trace = os.path.join(SRC, "tests", "fixtures", "sim", "tiny.csv")
    out = expect(ctl("simulate", "--trace", trace), 0, "GiB", "acceptable", stream="stdout")
    row = next(ln for ln in out.splitlines() if ln.startswith("adaptive"))
    assert re.search(r"\b0\.\d+ +\d+\.\d+ GiB\b", row) or re.search(r"\(\d+\.\d+ GiB\)", row), \
        row
    js = expect(ctl("simulate", "--trace", trace, "--json"), 0, stream="stdout")
    assert not NOISY.search(js), js
    out = expect(ctl("simulate", "--scenario", "spike", "--strategy", "adaptive",
                     "--timeline"), 0, "RESIDENT", stream="stdout")
    lines = out.splitlines()
    assert 10 <= len(lines) <= 80, out
    assert any("#" in ln for ln in lines), out
    js = json.loads(expect(ctl("simulate", "--scenario", "spike", "--strategy", "adaptive",
                               "--timeline", "--json"), 0, stream="stdout"))
    step = js[0]["timeline"][0]
    assert {"time_seconds", "resident_bytes", "host_bytes"} <= set(step), step
    expect(ctl("simulate", "--scenario", "all", "--timeline"), 2, "--timeline")


def check_config_errors(wd):
    """--check-config: every error, each with file:line; exit non-zero."""
    bad = os.path.join(wd, "bad.conf")
    with open(bad, "w") as f:
        f.write("[Daemon]\nInterval=2s\nFrobnicate=1\n\n[Policy]\nHeadroomMin=lots\n"
                "this line is no assignment\nStrategy=adaptive\n[Nope]\n")
    memtided = os.path.join(build_dir(), "daemon", "memtided")
    r = subprocess.run([memtided, "--check-config", "--config", bad], capture_output=True,
                       text=True)
    assert r.returncode != 0, r
    for line in (3, 6, 7, 9):
        assert "%s:%d: " % (bad, line) in r.stderr, (line, r.stderr)


def check_status(daemon):
    """Numbers as people write them: no float noise in text or JSON."""
    text = daemon.ctl("status").stdout
    assert not NOISY.search(text), text
    assert re.search(r"^Uptime:\s+\d", text, re.M), text
    js = daemon.ctl("status", "--json").stdout
    assert not NOISY.search(js), js
    d = json.loads(js)["daemon"]
    assert isinstance(d["cycles"], int) and isinstance(d["uptime_seconds"], (int, float)), d
    lst = daemon.ctl("list", "--json").stdout
    assert not NOISY.search(lst), lst


def check_set_and_overrides(daemon):
    """set refuses a name no guest has (close names shown) unless --create;
    the daemon's InvalidParameter is said for people; overrides lists them;
    show prints an override as fields."""
    r = daemon.ctl("set", "web2", "--max", "1G", check=False)
    expect(r, 1, "no guest 'web2'", "web1", "--create")
    r = daemon.ctl("set", "web1", "--max", "256M", check=False)
    assert r.returncode == 0, r
    r = daemon.ctl("set", "web1", "--min", "300M", check=False)
    text = expect(r, 2, "--min")
    assert "InvalidParameter" not in text and "min_bytes" not in text, text
    r = daemon.ctl("set", "future-vm", "--shares", "200", "--create", check=False)
    assert r.returncode == 0, r
    out = daemon.ctl("overrides").stdout
    assert re.search(r"^web1\b.*256 MiB", out, re.M), out
    assert re.search(r"^future-vm\b.*200", out, re.M), out
    js = json.loads(daemon.ctl("overrides", "--json").stdout)
    by = {o["guest"]: o for o in js["overrides"]}
    assert by["web1"]["max_bytes"] == 256 << 20 and by["web1"]["running"] is True, js
    assert by["future-vm"]["shares"] == 200 and by["future-vm"]["running"] is False, js
    show = daemon.ctl("show", "web1").stdout
    line = next(ln for ln in show.splitlines() if ln.startswith("Override:"))
    assert "{" not in line and "max 256 MiB" in line, show
    daemon.ctl("reset", "future-vm")
    daemon.ctl("reset", "web1")
    out = daemon.ctl("overrides").stdout
    assert "web1" not in out and "future-vm" not in out, out


def main():
    wd = workdir("memtide-ctl-usage-")
    os.chmod(wd, 0o755)  # nobody must reach the root-only socket's directory
    failures = []

    def attempt(f, *args):
        try:
            f(*args)
            print("ok   %s" % f.__name__, flush=True)
        except AssertionError as e:
            failures.append(f.__name__)
            print("FAIL %s: %s" % (f.__name__, e), flush=True)

    for f, args in ((check_help, ()), (check_usage_errors, ()), (check_unreachable, (wd,)),
                    (check_simulate, (wd,)), (check_config_errors, (wd,))):
        attempt(f, *args)
    fake = FakeQmp(os.path.join(wd, "web1.sock"), "steady")
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": fake.path, "Interval": "1s",
                         "StatsPeriod": "1s", "StateDirectory": os.path.join(wd, "state")})
    try:
        daemon.start()
        wait_for(lambda: "web1" in daemon.guests(), 20, "the fake guest managed")
        attempt(check_status, daemon)
        attempt(check_set_and_overrides, daemon)
    finally:
        teardown(daemon, [], not failures)
        fake.close()
    assert not failures, "failed: %s" % ", ".join(failures)
    print("PASS")


if __name__ == "__main__":
    run_test(main)
