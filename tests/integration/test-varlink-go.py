#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The control socket through an independent varlink client: the upstream Go
library (Debian's golang-github-varlink-go-dev), built offline from Debian's
packages, calls memtided the way any varlink tool would (issue 16).

tests/varlink-go/main.go introspects the service (GetInfo,
GetInterfaceDescription of both interfaces, parsed by the library's IDL
parser; io.memtide.Manager's must be data/io.memtide.Manager.varlink byte for
byte; an unknown interface is InterfaceNotFound), calls every method on a
managed guest and checks each reply against the declared types, strictly,
and the errors NoSuchGuest and, as an unprivileged user, PermissionDenied.

The guest is a fake QMP monitor (fake_qmp.py, statsonly): no QEMU needed.
Skipped only when Go is not installed.
"""

import os
import shutil
import subprocess
import time

from fake_qmp import FakeQmp
from harness import Daemon, build_dir, log, run_test, skip, wait_for, workdir

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "varlink-go")
IDL = os.path.join(HERE, "..", "..", "data", "io.memtide.Manager.varlink")
GOPATH = "/usr/share/gocode"  # Debian's Go libraries
NOBODY = 65534


def build_client(out):
    """Builds the client offline: GOPATH mode on Debian's packaged sources,
    the build cache in the build tree."""
    go = shutil.which("go")
    if not go:
        skip("go not installed (Debian: golang-go)")
    lib = os.path.join(GOPATH, "src", "github.com", "varlink", "go", "varlink")
    assert os.path.isdir(lib), "%s missing: install golang-github-varlink-go-dev" % lib
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH, GOFLAGS="", GOPROXY="off",
               GOCACHE=os.path.join(build_dir(), "varlink-go", "cache"), CGO_ENABLED="0")
    t0 = time.monotonic()
    r = subprocess.run([go, "build", "-o", out, "."], cwd=SOURCE, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, "go build failed:\n%s" % r.stderr
    log("built the Go client in %.1f s" % (time.monotonic() - t0))


def client(args, user=None):
    """Runs the client (as user, when given); its output goes to the log."""
    argv = args if user is None else ["setpriv", "--reuid=%d" % user, "--regid=%d" % user,
                                      "--clear-groups"] + args
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    for line in (r.stdout + r.stderr).splitlines():
        log("  go: " + line)
    assert r.returncode == 0, "the Go client failed (%d)" % r.returncode


def main():
    wd = workdir("memtide-varlink-go-")
    os.chmod(wd, 0o755)  # the unprivileged client must reach the socket
    exe = os.path.join(wd, "varlink-go-client")
    build_client(exe)

    fake = FakeQmp(os.path.join(wd, "vm1.qmp"), "statsonly")
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": fake.path, "Interval": "1s",
                         "StatsPeriod": "1s", "StateDirectory": os.path.join(wd, "state")})
    passed = False
    try:
        daemon.start()
        # Unprivileged users may read whatever the socket's group (not the point here).
        os.chmod(daemon.socket, 0o666)
        # The fake is a managed guest until its first query-balloon has gone
        # unanswered for 20 s: the checks take well under that.
        wait_for(lambda: "vm1" in daemon.guests(), 15, "the fake guest to be managed")
        address = "unix:" + daemon.socket
        client([exe, "-address", address, "-idl", IDL, "-guest", "vm1"])
        client([exe, "-address", address, "-unprivileged"], user=NOBODY)
        assert "vm1" in daemon.guests(), "the guest was dropped during the checks"
        passed = True
        print("PASS")
    finally:
        daemon.stop()
        fake.close()
        if not passed:
            print("---- memtided log (tail) ----\n" + daemon.log_text()[-4000:])


if __name__ == "__main__":
    run_test(main)
