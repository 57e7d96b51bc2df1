# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared pieces of the container tests (test-systemd, test-system-libvirt):
a Debian 12 root file system made by mmdebstrap and cached in the build
tree per package set, booted by systemd-nspawn with systemd as PID 1;
memtide installed in it the README's way; memtided's unit, journal and
memtidectl asked from inside. Stdlib only.

    require_container_tools()               # root, nspawn, mmdebstrap (else 77)
    rootfs = ensure_rootfs("nspawn-rootfs", ["systemd", ...])
    c = Container(rootfs, ["--bind=..."], log_path)
    c.start(); c.run("systemctl", ...); install(c); ...; c.stop()

The root file system is never booted writable (--volatile=overlay): every
test starts from the same cached tree.
"""

import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time

from harness import MIB, build_dir, guests, log, sanitized_build, skip, wait_for

SOURCE_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
# What every container needs: systemd as PID 1 (with its D-Bus for
# systemctl) and QEMU for the test guests.
BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "qemu-system-x86"]
CONTAINER_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
SOCKET = "/run/memtide/io.memtide.socket"
CONFIG = "/etc/memtide/memtide.conf"


def require_container_tools(why_not_sanitized):
    """Skips (77) unless root with systemd-nspawn, mmdebstrap and nsenter,
    and in the sanitizer build (why_not_sanitized says why)."""
    if os.geteuid() != 0:
        skip("needs root (systemd-nspawn boots a container)")
    for tool, package in (("systemd-nspawn", "systemd-container"), ("mmdebstrap", "mmdebstrap"),
                          ("nsenter", "util-linux")):
        if not shutil.which(tool):
            skip("%s not installed (package %s; scripts/install-deps.sh installs it)" % (
                tool, package))
    if sanitized_build():
        skip(why_not_sanitized)


# --- the root file system ------------------------------------------------------

def runtime_packages():
    """The packages of the libraries memtided and memtidectl link: the
    container must run the binaries of this build."""
    libs = set()
    for exe in ("daemon/memtided", "cli/memtidectl"):
        r = subprocess.run(["ldd", os.path.join(build_dir(), exe)], capture_output=True, text=True,
                           check=True)
        libs.update(m.group(1) for m in re.finditer(r"=> (/\S+)", r.stdout))
    paths = sorted(libs | {os.path.realpath(lib) for lib in libs})
    r = subprocess.run(["dpkg", "-S"] + paths, capture_output=True, text=True)
    owner = {}
    for line in r.stdout.splitlines():
        pkgs, path = line.split(": ", 1)
        owner[path] = pkgs.split(",")[0].split(":")[0]
    packages = set()
    for lib in libs:
        pkg = owner.get(lib) or owner.get(os.path.realpath(lib))
        assert pkg, "no Debian package ships %s (linked by memtided or memtidectl)" % lib
        packages.add(pkg)
    return sorted(packages)


def ensure_rootfs(name, packages, rootfs_format=1):
    """A Debian 12 rootfs (BUILD/tests/NAME) with `packages` and memtide's
    run-time libraries, made once per build tree and package set and reused;
    a different package list or rootfs_format (bump it to force a new tree)
    makes it anew. Each test has its own NAME, so two package sets do not
    replace each other's cache."""
    path = os.path.join(build_dir(), "tests", name)
    packages = sorted(set(packages) | set(runtime_packages()))
    want = "format %d\n%s\n" % (rootfs_format, "\n".join(packages))
    stamp = os.path.join(path, ".memtide-rootfs")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(stamp) as f:
                if f.read() == want:
                    log("rootfs: cached in %s" % path)
                    return path
        except OSError:
            pass
        tmp = path + ".new"
        shutil.rmtree(tmp, ignore_errors=True)
        t0 = time.monotonic()
        cmd = ["mmdebstrap", "--variant=minbase", "--include=" + ",".join(packages), "bookworm",
               tmp]
        log("rootfs: %s" % " ".join(cmd))
        with open(path + ".log", "w") as out:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            with open(path + ".log") as f:
                raise AssertionError("mmdebstrap failed (%d):\n%s" % (r.returncode,
                                                                     f.read()[-3000:]))
        with open(os.path.join(tmp, ".memtide-rootfs"), "w") as f:
            f.write(want)
        shutil.rmtree(path, ignore_errors=True)
        os.rename(tmp, path)
        log("rootfs: made in %.0f s" % (time.monotonic() - t0))
    return path


# --- the container -------------------------------------------------------------

class Container:
    """systemd-nspawn --boot on an overlay of the rootfs; commands run in its
    namespaces through nsenter. extra_args: more systemd-nspawn options
    (--bind=..., --private-network)."""

    def __init__(self, rootfs, extra_args, log_path):
        self.name = "memtide-test-%d" % os.getpid()
        self.cmd = ["systemd-nspawn", "--boot", "--register=no", "--keep-unit", "-D", rootfs,
                    "--volatile=overlay", "--machine=" + self.name,
                    "--console=read-only"] + list(extra_args)
        self.log_path = log_path
        self.proc = None
        self.leader = None

    def start(self):
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, preexec_fn=guests._child_setup)
        self.leader = wait_for(self._find_leader, 30, "the container's PID 1")
        state = wait_for(self._booted, 90, "the container to finish booting")
        log("container: systemd %s as PID 1 (host pid %d), %s" % (
            self.run("systemctl", "--version").stdout.split()[1], self.leader, state))

    def _find_leader(self):
        if self.proc.poll() is not None:
            raise AssertionError("systemd-nspawn exited %d:\n%s" % (self.proc.returncode,
                                                                     self.log_tail()))
        for pid in self.children(self.proc.pid):
            try:
                with open("/proc/%d/comm" % pid) as f:
                    if f.read().strip() == "systemd":
                        return pid
            except OSError:
                pass
        return None

    @staticmethod
    def children(pid):
        out = []
        for task in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                    out += [int(p) for p in f.read().split()]
            except OSError:
                pass
        return out

    def _booted(self):
        r = self.run("systemctl", "is-system-running", check=False)
        state = r.stdout.strip()
        return state if state in ("running", "degraded") else None

    def nsenter(self):
        return ["nsenter", "-t", str(self.leader), "-a", "--"]

    def run(self, *cmd, check=True, user=None, stdin=None, timeout=120):
        argv = list(cmd)
        if user:
            name, group = user.split(":")
            argv = ["setpriv", "--reuid=" + name, "--regid=" + group, "--init-groups", "--"] + argv
        r = subprocess.run(self.nsenter() + argv, input=stdin, capture_output=True, text=True,
                           timeout=timeout, env={"PATH": CONTAINER_PATH, "LANG": "C.UTF-8",
                                                 "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"})
        if check and r.returncode != 0:
            raise AssertionError("in the container: %s: exit %d\n%s%s" % (
                " ".join(argv), r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
        return r

    def path(self, p):
        """A path of the container's file system, seen from the host."""
        return "/proc/%d/root%s" % (self.leader, p)

    def log_tail(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-3000:]

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # the container's systemd shuts down
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- memtide in the container ----------------------------------------------------

def show(c, *props, unit="memtided"):
    r = c.run("systemctl", "show", unit, "-p", ",".join(props))
    return dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)


def ctl(c, *args, user=None, check=True):
    return c.run("memtidectl", *args, user=user, check=check)


def ctl_json(c, *args):
    return json.loads(ctl(c, "--json", *args).stdout)


def journal(c, unit="memtided"):
    r = c.run("journalctl", "-u", unit, "-o", "json", "--no-pager")
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def messages(c, unit="memtided"):
    return [e.get("MESSAGE", "") for e in journal(c, unit) if isinstance(e.get("MESSAGE"), str)]


def journal_tail(c, unit="memtided", n=60):
    r = c.run("journalctl", "-u", unit, "--no-pager", "-n", str(n), check=False)
    return "---- journal of %s (tail) ----\n%s" % (unit, r.stdout)


def readme_install_commands():
    """The command block of the README's "## Install" section."""
    with open(os.path.join(SOURCE_ROOT, "README.md")) as f:
        text = f.read()
    section = text.split("\n## Install\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [ln.split("#")[0].strip() for ln in block.splitlines() if ln.split("#")[0].strip()]


def install(c, after_meson_install=None):
    """Runs the README's install commands: meson setup and compile are this
    build's (the container has no compiler), meson install goes into the
    container's root from outside, the rest runs inside.
    after_meson_install(c), when given, runs right after meson install."""
    commands = readme_install_commands()
    log("README install: %s" % " ; ".join(commands))
    assert any(cmd.startswith("meson install") for cmd in commands), commands
    for cmd in commands:
        argv = shlex.split(cmd)
        if argv[:2] in (["meson", "setup"], ["meson", "compile"]):
            log("  %s: this build (%s)" % (cmd, build_dir()))
        elif argv[:2] == ["meson", "install"]:
            r = subprocess.run(["meson", "install", "-C", build_dir(), "--no-rebuild", "--quiet",
                                "--destdir", c.path("")], capture_output=True, text=True)
            assert r.returncode == 0, r.stdout + r.stderr
            log("  %s: into the container's root" % cmd)
            if after_meson_install:
                after_meson_install(c)
        else:
            c.run(*argv)
            log("  %s: ok" % cmd)


def squeezed(c, names, guest_mib):
    """memtidectl list's entries by name once every guest in `names` is
    within 1.25 x its floor and under 60 % of its guest_mib; else None."""
    gl = {g["name"]: g for g in ctl_json(c, "list")["guests"]}
    if not all(n in gl for n in names):
        return None
    for n in names:
        g = gl[n]
        if g["floor_bytes"] is None or not (g["actual_bytes"] <= 1.25 * g["floor_bytes"]
                                            and g["actual_bytes"] < 0.6 * guest_mib * MIB):
            return None
    return gl


def check_security(c):
    r = c.run("systemd-analyze", "security", "memtided.service", "--no-pager")
    score = float(re.search(r"Overall exposure level for memtided.service: ([0-9.]+)",
                            r.stdout).group(1))
    log("systemd-analyze security memtided.service (installed): %.1f" % score)
    assert score <= 2.0, r.stdout[-3000:]


def check_stop(c):
    """systemctl stop: memtided exits 0 and removes its control socket."""
    c.run("systemctl", "stop", "memtided")
    st = show(c, "ActiveState", "Result", "ExecMainStatus", "ExecMainCode")
    log("systemctl stop: %s" % st)
    assert st["ActiveState"] == "inactive" and st["Result"] == "success", st
    assert st["ExecMainStatus"] == "0", st
    assert not os.path.exists(c.path(SOCKET)), "control socket left behind"
