# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared pieces of memtide's integration tests: run memtided on a config,
ask memtidectl, wait for conditions. Stdlib only.

Environment (set by meson): MEMTIDE_BUILD_DIR (where memtided and memtidectl
are), MEMTIDE_GUEST_IMAGE (guest image directory).
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "guest"))

import guests  # noqa: E402

MIB = 1 << 20
SKIP = 77


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def build_dir():
    d = os.environ.get("MEMTIDE_BUILD_DIR")
    if not d:
        skip("MEMTIDE_BUILD_DIR not set (run through meson test)")
    return d


def require_guests():
    """Skips unless QEMU and a guest image are available; returns the image dir."""
    if not guests.qemu_binary():
        skip("qemu-system-x86_64 not installed")
    image = os.environ.get("MEMTIDE_GUEST_IMAGE") or guests.image_dir_default()
    try:
        if not guests.image_present(image):
            guests.ensure_image(image, quiet=True)
    except guests.ImageUnavailable as e:
        skip("no guest image: %s" % e)
    return image


def log(msg):
    print("[%7.1f] %s" % (time.monotonic() - START, msg), flush=True)


START = time.monotonic()


class Daemon:
    """memtided in the foreground on a generated config, stderr to a log file."""

    def __init__(self, workdir, daemon_keys, guest_sections="", extra=""):
        self.workdir = workdir
        self.socket = os.path.join(workdir, "memtide.sock")
        self.config = os.path.join(workdir, "memtide.conf")
        self.log_path = os.path.join(workdir, "memtided.log")
        keys = dict(daemon_keys)
        keys.setdefault("ControlSocket", self.socket)
        # Its own state directory: the instance lock there must not meet
        # another memtided on the same machine (another test run, a service).
        keys.setdefault("StateDirectory", os.path.join(workdir, "state"))
        with open(self.config, "w") as f:
            f.write("[Daemon]\n")
            for k, v in keys.items():
                f.write("%s=%s\n" % (k, v))
            f.write(extra)
            f.write(guest_sections)
        self.proc = None

    def start(self):
        exe = os.path.join(build_dir(), "daemon", "memtided")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([exe, "--config", self.config, "--debug"],
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     preexec_fn=guests._child_setup)
        wait_for(lambda: os.path.exists(self.socket), 10, "control socket to appear")
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM and wait. memtided must then exit 0: under ASan that also
        means LeakSanitizer found nothing at exit (scripts/test.sh). A daemon
        the test killed itself is only reaped."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.returncode != 0:
                print("---- memtided log (tail) ----\n" + self.log_text()[-6000:])
                raise AssertionError("memtided exited with %d after SIGTERM" %
                                     self.proc.returncode)
        return self.proc.returncode if self.proc else None

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def ctl(self, *args, check=True):
        exe = os.path.join(build_dir(), "cli", "memtidectl")
        r = subprocess.run([exe, "--socket", self.socket] + list(args),
                           capture_output=True, text=True, timeout=10)
        if check and r.returncode != 0:
            raise AssertionError("memtidectl %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                                   r.stderr))
        return r

    def guests(self):
        return {g["name"]: g for g in json.loads(self.ctl("--json", "list").stdout)["guests"]}


def wait_for(pred, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


_UNPRIVILEGED_DIR = None


def unprivileged_script(name):
    """A world-readable copy of tests/integration/NAME for a helper run as
    another user: the checkout may be in a directory only root can enter (a
    clone in mktemp -d)."""
    global _UNPRIVILEGED_DIR
    if _UNPRIVILEGED_DIR is None:
        _UNPRIVILEGED_DIR = tempfile.mkdtemp(prefix="memtide-helpers-",
                                             dir=os.environ.get("MEMTIDE_TEST_TMP", "/tmp"))
        os.chmod(_UNPRIVILEGED_DIR, 0o755)
    path = os.path.join(_UNPRIVILEGED_DIR, name)
    with open(os.path.join(HERE, name)) as src, open(path, "w") as dst:
        dst.write(src.read())
    os.chmod(path, 0o644)
    return path


def workdir(prefix):
    return tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("MEMTIDE_TEST_TMP", "/tmp"))


def mib(b):
    return "-" if b is None else "%.0f" % (b / MIB)


def show(daemon):
    """One line per guest, for test logs."""
    for name, g in sorted(daemon.guests().items()):
        stats = g.get("stats") or {}
        log("  %-10s actual %5s target %5s floor %5s avail %5s | %s" % (
            name, mib(g["actual_bytes"]), mib(g["target_bytes"]), mib(g["floor_bytes"]),
            mib(stats.get("available_bytes")), g["reason"]))


def dump_logs(daemon, guest_list):
    """On failure: the tails of memtided's log and each guest's console."""
    try:
        print("---- memtided log (tail) ----\n" + daemon.log_text()[-6000:])
    except OSError:
        pass
    for g in guest_list:
        print("---- %s console (tail) ----\n%s" % (g.name, g.console_text()[-2000:]))


def sanitized_build():
    """True when MEMTIDE_BUILD_DIR was configured with -Db_sanitize."""
    path = os.path.join(build_dir(), "meson-info", "intro-buildoptions.json")
    try:
        with open(path) as f:
            options = json.load(f)
    except OSError:
        return False
    return any(o["name"] == "b_sanitize" and o["value"] != "none" for o in options)


def squeezed(daemon, name, boot_mib=512):
    """The guest's list entry once memtided has squeezed it: within 1.25 x its
    floor and under 60 % of its boot memory; else None."""
    g = daemon.guests().get(name)
    if not g or g["floor_bytes"] is None:
        return None
    ok = g["actual_bytes"] <= 1.25 * g["floor_bytes"] and g["actual_bytes"] < 0.60 * boot_mib * MIB
    return g if ok else None


def teardown(daemon, guest_list, passed, probe=None):
    """The end of every test, passed or not: stop the status probe and
    memtided, kill the guests, and show their logs when the test failed."""
    if probe:
        probe.stop()
    daemon.stop()
    for g in guest_list:
        g.kill()
    if not passed:
        dump_logs(daemon, list(guest_list))


def run_test(main):
    """The tests' entry point: an AssertionError is a failure with its message, exit 1."""
    try:
        main()
    except AssertionError as e:
        print("FAIL: %s" % e)
        sys.exit(1)
