#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The installed service: `meson install --destdir` puts memtided, memtidectl,
the unit, the sysusers entry, the example config, the man pages and the
control socket's interface description (share/varlink) in place; `systemd-analyze verify` passes and `systemd-analyze security` scores
the unit at most 2.0; memtided started from the installed unit's ExecStart
(plus --config naming a file in the destdir) sends READY=1, reloads a good config
(RELOADING=1 then READY=1) and refuses a bad one with file:line while the old
one stays in force and serves the installed interface description
(GetInterfaceDescription); the installed man pages render without warnings.

The install layout: a default `meson setup` (the project's default_options,
read from the source tree) puts the config in /etc/memtide, where memtided(8),
memtide.conf(5) and the README say it is; the installed memtided reads
SYSCONFDIR/memtide/memtide.conf of its build by default; memtided(8) names the
unit's ExecStart exactly; `--check-config` without --config says whether the
default file is there or the defaults are in force."""

import glob
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_test, build_dir, log, skip, wait_for  # noqa: E402

SOURCE_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

GOOD = "[Daemon]\nInterval=1s\nQMPSockets={d}/qmp/*.qmp\nControlSocket={d}/ctl.sock\n" \
       "StateDirectory={d}/state\n"


def install(dest):
    r = subprocess.run(["meson", "install", "-C", build_dir(), "--destdir", dest, "--no-rebuild",
                        "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + r.stdout


def find_one(dest, pattern):
    hits = glob.glob(os.path.join(dest, pattern), recursive=True)
    assert len(hits) == 1, "%s: %s" % (pattern, hits)
    return hits[0]


def check_unit(dest, unit):
    """verify and security need the ExecStart and ExecReload binaries where
    the unit says they are."""
    text = open(unit).read()
    exec_start = re.search(r"^ExecStart=(.*)$", text, re.M).group(1)
    binaries = [shlex.split(re.search(r"^%s=(.*)$" % key, text, re.M).group(1))[0]
                for key in ("ExecStart", "ExecReload")]
    for binary in binaries:
        assert os.access(dest + binary, os.X_OK), "the unit runs %s, not installed" % binary
        text = text.replace(binary, dest + binary)
    tmp = tempfile.mkdtemp()
    local = os.path.join(tmp, "memtided.service")
    with open(local, "w") as f:
        f.write(text)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", local], capture_output=True,
                       text=True)
    assert r.returncode == 0 and not r.stderr.strip(), "verify: " + r.stderr
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", local],
                       capture_output=True, text=True)
    score = float(re.search(r"Overall exposure level for memtided.service: ([0-9.]+)",
                            r.stdout).group(1))
    log("systemd-analyze security: %.1f" % score)
    assert score <= 2.0, r.stdout[-2000:]
    return exec_start


class Notify:
    """A NOTIFY_SOCKET like systemd's, to read what memtided tells it."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []

    def drain(self):
        try:
            while True:
                self.messages.append(self.sock.recv(4096).decode())
        except (socket.timeout, BlockingIOError):
            pass
        return self.messages

    def wait(self, text, timeout=10):
        return wait_for(lambda: any(text in m for m in self.drain()), timeout,
                        "sd_notify %s" % text, 0.1)


def describe(path, interface):
    """org.varlink.service.GetInterfaceDescription over the control socket."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(json.dumps({"method": "org.varlink.service.GetInterfaceDescription",
                          "parameters": {"interface": interface}}).encode() + b"\0")
    data = b""
    while not data.endswith(b"\0"):
        chunk = s.recv(65536)
        assert chunk, "no reply to GetInterfaceDescription"
        data += chunk
    s.close()
    return json.loads(data[:-1])["parameters"]["description"]


def check_daemon(dest, exec_start, work):
    argv = shlex.split(exec_start)
    assert argv[1:] == [], "ExecStart should read the default config: %s" % exec_start
    conf = os.path.join(dest, "etc", "memtide", "memtide.conf")
    os.makedirs(os.path.dirname(conf), exist_ok=True)
    with open(conf, "w") as f:
        f.write(GOOD.format(d=work))
    argv = [dest + argv[0], "--config", conf]
    notify = Notify(os.path.join(work, "notify.sock"))
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    logf = open(os.path.join(work, "memtided.log"), "w")
    proc = subprocess.Popen(argv, env=env, stdout=logf, stderr=subprocess.STDOUT)
    ctl = [find_one(dest, "**/bin/memtidectl"), "--socket", os.path.join(work, "ctl.sock")]
    try:
        notify.wait("READY=1")
        assert subprocess.run(ctl + ["status"], capture_output=True).returncode == 0
        # The installed interface description is what memtided serves.
        with open(find_one(dest, "**/share/varlink/io.memtide.Manager.varlink")) as f:
            assert describe(ctl[2], "io.memtide.Manager") == f.read(), \
                "GetInterfaceDescription does not serve the installed IDL"
        with open(conf, "a") as f:
            f.write("[Policy]\nHeadroomMin=64M\n")
        notify.messages.clear()
        r = subprocess.run(ctl + ["reload"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        notify.wait("RELOADING=1")
        notify.wait("READY=1")
        with open(conf, "a") as f:
            f.write("Bogus=1\n")
        r = subprocess.run(ctl + ["reload"], capture_output=True, text=True)
        assert r.returncode == 1 and "%s:8: unknown key Bogus=" % conf in r.stderr, r.stderr
        r = subprocess.run(ctl + ["--json", "status"], capture_output=True, text=True)
        assert r.returncode == 0 and '"interval_seconds":1' in r.stdout.replace(" ", ""), r.stdout
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0, "memtided exited %s" % proc.returncode


def layout(buildoptions):
    """prefix, sbindir, sysconfdir from meson's build options, absolute."""
    opts = {o["name"]: o["value"] for o in buildoptions}
    prefix = opts["prefix"]
    return {"prefix": prefix, "sbindir": os.path.join(prefix, opts["sbindir"]),
            "sysconfdir": os.path.join(prefix, opts["sysconfdir"])}


def introspect(target):
    r = subprocess.run(["meson", "introspect", "--buildoptions", target], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return layout(json.loads(r.stdout))


def render_man(page):
    r = subprocess.run(["man", "--nh", "--nj", "-l", page], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="200", LC_ALL="C.UTF-8"))
    assert r.returncode == 0, r.stderr
    return " ".join(r.stdout.split())


def check_default_layout(dest, exec_start):
    """What a default `meson setup` installs is where the documents say."""
    default = introspect(os.path.join(SOURCE_ROOT, "meson.build"))
    log("default meson setup: prefix %s, sbindir %s, sysconfdir %s" % (
        default["prefix"], default["sbindir"], default["sysconfdir"]))
    assert default["sysconfdir"] == "/etc", \
        "a default meson setup reads %s/memtide/memtide.conf, every document says " \
        "/etc/memtide/memtide.conf" % default["sysconfdir"]
    built = introspect(build_dir())
    assert shlex.split(exec_start)[0] == os.path.join(built["sbindir"], "memtided"), exec_start
    if not shutil.which("scdoc"):
        log("scdoc missing: memtided(8) not checked against the unit")
        return
    text = render_man(find_one(dest, "**/man8/memtided.8"))
    want = "ExecStart=%s/memtided" % default["sbindir"]
    assert want in text, "memtided(8) does not say the unit runs %s" % want
    assert "/etc/memtide/memtide.conf" in text


def check_config_default(dest):
    """--check-config without --config names the default file of this build,
    and says when it is absent that the defaults are in force."""
    memtided = find_one(dest, "**/sbin/memtided")
    path = os.path.join(introspect(build_dir())["sysconfdir"], "memtide", "memtide.conf")
    r = subprocess.run([memtided, "--help"], capture_output=True, text=True)
    assert "(default %s," % path in r.stdout, r.stdout
    r = subprocess.run([memtided, "--check-config"], capture_output=True, text=True)
    out = r.stdout.strip()
    log("memtided --check-config: %s" % out)
    if os.path.exists(path):
        assert r.returncode == 0 and out == "%s: OK" % path, out + r.stderr
    else:
        assert r.returncode == 0 and out == "%s: not present, defaults in force: OK" % path, \
            out + r.stderr


def check_man(dest):
    pages = glob.glob(os.path.join(dest, "**/man/man*/*"), recursive=True)
    if not shutil.which("scdoc"):
        log("scdoc missing: man pages not built, not checked")
        return
    names = sorted(os.path.basename(p) for p in pages)
    assert names == ["memtide-policy.7", "memtide.conf.5", "memtidectl.1", "memtided.8"], names
    for p in pages:
        r = subprocess.run(["man", "--warnings", "-l", p], capture_output=True, text=True,
                           env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8"))
        assert r.returncode == 0 and not r.stderr.strip(), "%s: %s" % (p, r.stderr)


def main():
    if not shutil.which("systemd-analyze"):
        skip("systemd-analyze not installed")
    dest = tempfile.mkdtemp(prefix="memtide-destdir-")
    work = tempfile.mkdtemp(prefix="memtide-install-")
    install(dest)
    for pattern in ("**/sbin/memtided", "**/bin/memtidectl", "**/sysusers.d/memtide.conf",
                    "**/doc/memtide/memtide.conf.example",
                    "**/share/varlink/io.memtide.Manager.varlink"):
        find_one(dest, pattern)
    unit = find_one(dest, "**/system/memtided.service")
    exec_start = check_unit(dest, unit)
    check_default_layout(dest, exec_start)
    check_config_default(dest)
    check_daemon(dest, exec_start, work)
    check_man(dest)
    print("PASS")


if __name__ == "__main__":
    run_test(main)
