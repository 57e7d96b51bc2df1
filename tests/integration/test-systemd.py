#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""memtided as installed, under a real systemd: a Debian 12 container
(mmdebstrap, cached in BUILD/tests/nspawn-rootfs) booted by systemd-nspawn
with systemd 252 as PID 1; memtide installed the README's way (its install
commands, `meson install` run from outside into the container's root since
the container has no compiler); two real TCG guests whose QEMU runs inside
the container's PID namespace, so that memtided can find their RSS through
the QMP socket's peer:

  qa  QEMU as its own user (qemu-guest), umask 177: a 0600 QMP socket of
      another user in a 0700 directory of that user, at /run/qemu-server,
      which the unit leaves read-only (connecting needs no writable mount);
  qb  QEMU as root at /run/memtide/qmp (memtide's own QMP directory), so a
      root QEMU whose group differs from memtided's (Group=memtide).
Both sockets match the default QMPSockets=: memtided first runs with no
config file at all.

Checks: without the memtide group (no systemd-sysusers) the unit does not
start; --check-config on the absent default file; `systemctl enable --now`
reaches active (Type=notify), the watchdog is armed and fed, the group and
directories exist, the control socket is 0660 root:memtide; both guests are
squeezed and their QEMU RSS is read; `systemctl reload` takes a good config
and keeps the old one on a bad one (file:line in the journal); the journal has
GUEST= fields; a member of memtide may reload, nobody may not; overrides
survive `systemctl restart`; `systemctl stop` is clean; `systemd-analyze
security` of the installed unit scores at most 2.0.

Runs as root where systemd-nspawn and mmdebstrap are installed (else exit
77); not in the sanitizer build (it tests the unit and the install, and the
container has no sanitizer runtime)."""

import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, build_dir, guests, log, require_guests,  # noqa: E402
                     sanitized_build, skip, wait_for, workdir)

SOURCE_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ROOTFS_FORMAT = 1  # bump to force a new rootfs
ROOTFS_PACKAGES = ["systemd", "systemd-sysv", "dbus", "qemu-system-x86"]
QEMU_USER, QEMU_UID = "qemu-guest", 4242
CONTAINER_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
SOCKET = "/run/memtide/io.memtide.socket"
CONFIG = "/etc/memtide/memtide.conf"
GUEST_MIB = 512


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


def ensure_rootfs():
    """A Debian 12 rootfs with systemd, QEMU and memtide's run-time libraries,
    made once per build tree and reused (never booted writable: the container
    runs on an overlay)."""
    path = os.path.join(build_dir(), "tests", "nspawn-rootfs")
    packages = sorted(set(ROOTFS_PACKAGES + runtime_packages()))
    want = "format %d\n%s\n" % (ROOTFS_FORMAT, "\n".join(packages))
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
    namespaces through nsenter."""

    def __init__(self, rootfs, binds, log_path):
        self.name = "memtide-test-%d" % os.getpid()
        self.cmd = ["systemd-nspawn", "--boot", "--register=no", "--keep-unit", "-D", rootfs,
                    "--volatile=overlay", "--machine=" + self.name,
                    "--console=read-only"] + binds
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
        for pid in self._children(self.proc.pid):
            try:
                with open("/proc/%d/comm" % pid) as f:
                    if f.read().strip() == "systemd":
                        return pid
            except OSError:
                pass
        return None

    @staticmethod
    def _children(pid):
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

def show(c, *props):
    r = c.run("systemctl", "show", "memtided", "-p", ",".join(props))
    return dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)


def ctl(c, *args, user=None, check=True):
    return c.run("memtidectl", *args, user=user, check=check)


def ctl_json(c, *args):
    return json.loads(ctl(c, "--json", *args).stdout)


def journal(c):
    r = c.run("journalctl", "-u", "memtided", "-o", "json", "--no-pager")
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def messages(c):
    return [e.get("MESSAGE", "") for e in journal(c) if isinstance(e.get("MESSAGE"), str)]


def interval(c):
    return ctl_json(c, "status")["daemon"]["interval_seconds"]


def readme_install_commands():
    """The command block of the README's "## Install" section."""
    with open(os.path.join(SOURCE_ROOT, "README.md")) as f:
        text = f.read()
    section = text.split("\n## Install\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [ln.split("#")[0].strip() for ln in block.splitlines() if ln.split("#")[0].strip()]


def install(c):
    """Runs the README's install commands: meson setup and compile are this
    build's (the container has no compiler), meson install goes into the
    container's root from outside, the rest runs inside."""
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
            check_before_sysusers(c)
        else:
            c.run(*argv)
            log("  %s: ok" % cmd)


def check_before_sysusers(c):
    """Between meson install and systemd-sysusers: the default config file is
    absent, and the unit cannot start without its group."""
    r = c.run("memtided", "--check-config")
    log("check-config: %s" % r.stdout.strip())
    assert r.stdout.strip() == "%s: not present, defaults in force: OK" % CONFIG, r.stdout
    if c.run("getent", "group", "memtide", check=False).returncode == 0:
        return
    c.run("systemctl", "daemon-reload")
    r = c.run("systemctl", "start", "memtided", check=False)
    st = show(c, "ActiveState", "ExecMainStatus", "Result")
    log("without systemd-sysusers: systemctl start exits %d, %s" % (r.returncode, st))
    assert r.returncode != 0 and st["ExecMainStatus"] == "216", st  # 216/GROUP
    c.run("systemctl", "stop", "memtided")  # no more Restart=on-failure attempts
    c.run("systemctl", "reset-failed", "memtided", check=False)


def check_service(c):
    st = show(c, "ActiveState", "SubState", "Type", "WatchdogUSec", "StatusText", "MemoryMax",
              "NotifyAccess")
    log("service: %s" % st)
    assert st["ActiveState"] == "active" and st["SubState"] == "running", st
    assert st["Type"] == "notify" and st["StatusText"], st
    assert st["WatchdogUSec"] not in ("0", "infinity", ""), st
    assert st["MemoryMax"] != "infinity", "no MemoryMax= in the unit"
    gid = int(c.run("getent", "group", "memtide").stdout.split(":")[2])
    for path, mode, kind in (("/run/memtide", 0o750, stat.S_ISDIR),
                             ("/var/lib/memtide", 0o750, stat.S_ISDIR),
                             (SOCKET, 0o660, stat.S_ISSOCK)):
        s = os.stat(c.path(path))
        log("  %s %o %d:%d" % (path, stat.S_IMODE(s.st_mode), s.st_uid, s.st_gid))
        assert kind(s.st_mode) and stat.S_IMODE(s.st_mode) == mode, (path, oct(s.st_mode))
        assert s.st_uid == 0 and (path == "/var/lib/memtide" or s.st_gid == gid), (path, s)
    return int(show(c, "WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"])


def check_qemu_files_untouched(wd):
    """memtided's start leaves QEMU's own directory and socket as they were
    (the test needs them so: a 0600 socket of another user)."""
    for p in (wd, os.path.join(wd, "qa.qmp")):
        s = os.stat(p)
        assert s.st_uid == QEMU_UID and s.st_gid == QEMU_UID, \
            "%s is now %d:%d, QEMU runs as %d (chowned by systemd?)" % (p, s.st_uid, s.st_gid,
                                                                      QEMU_UID)
    s = os.stat(os.path.join(wd, "qa.qmp"))
    log("qa: QMP socket %o %d:%d in a %o directory of QEMU's user" % (
        stat.S_IMODE(s.st_mode), s.st_uid, s.st_gid, stat.S_IMODE(os.stat(wd).st_mode)))


def check_read_only_qmp_dir(c):
    """/run/qemu-server is read-only where memtided runs (ProtectSystem=strict,
    no ReadWritePaths= entry), and qa's socket there was connected all the same."""
    pid = show(c, "MainPID")["MainPID"]
    with open(c.path("/proc/%s/mountinfo" % pid)) as f:
        mounts = [ln.split() for ln in f]
    opts = [m[5] for m in mounts if m[4] == "/run/qemu-server"][-1]
    log("/run/qemu-server in memtided's mount namespace: %s" % opts)
    assert opts.split(",")[0] == "ro", opts


def host_rss(guest):
    """VmRSS of the guest's QEMU, seen from the host (the child of nsenter)."""
    for pid in Container._children(guest.proc.pid):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    return None


def squeezed(c, names):
    gl = {g["name"]: g for g in ctl_json(c, "list")["guests"]}
    if not all(n in gl for n in names):
        return None
    for n in names:
        g = gl[n]
        if g["floor_bytes"] is None or not (g["actual_bytes"] <= 1.25 * g["floor_bytes"]
                                            and g["actual_bytes"] < 0.6 * GUEST_MIB * MIB):
            return None
    return gl


def check_guests(c, gl):
    try:
        listed = wait_for(lambda: squeezed(c, [g.name for g in gl]), 180,
                          "both guests to be squeezed")
    except AssertionError:
        log("memtidectl list:\n" + ctl(c, "list", check=False).stdout)
        listed = {g["name"] for g in ctl_json(c, "list")["guests"]}
        missing = [g.name for g in gl if g.name not in listed]
        raise AssertionError("guests not squeezed under the unit (never connected: %s)" % (
            ", ".join(missing) or "none"))
    for g in gl:
        e = listed[g.name]
        log("  %s: actual %.0f MiB floor %.0f MiB qemu rss %s MiB (host: %.0f MiB)" % (
            g.name, e["actual_bytes"] / MIB, e["floor_bytes"] / MIB,
            "-" if e["qemu_rss_bytes"] is None else "%.0f" % (e["qemu_rss_bytes"] / MIB),
            host_rss(g) / MIB))
    for g in gl:
        rss = wait_for(lambda: ctl_json(c, "list")["guests"] and
                       {x["name"]: x for x in ctl_json(c, "list")["guests"]}[g.name]
                       ["qemu_rss_bytes"], 20, "the QEMU RSS of %s under the unit" % g.name)
        host = host_rss(g)
        assert 0.5 * host < rss < 1.5 * host, (g.name, rss, host)
    text = ctl(c, "list").stdout
    log("memtidectl list:\n" + text.rstrip())


def guest_fields(c):
    return {e["GUEST"] for e in journal(c) if isinstance(e.get("GUEST"), str) and e["GUEST"]}


def check_journal_fields(c, gl):
    names = {g.name for g in gl}
    fields = wait_for(lambda: names <= guest_fields(c) and guest_fields(c), 20,
                      "journal entries with GUEST= of each guest")
    log("journal GUEST= values: %s" % sorted(fields))


def write_config(c, text):
    os.makedirs(c.path("/etc/memtide"), exist_ok=True)
    with open(c.path(CONFIG), "w") as f:
        f.write(text)


def check_reload(c):
    good = "[Daemon]\nInterval=1s\n"
    write_config(c, good)
    c.run("systemctl", "reload", "memtided")
    wait_for(lambda: interval(c) == 1, 20, "the reload to set Interval=1s")
    wait_for(lambda: "Reloaded %s" % CONFIG in messages(c), 20, "the reload in the journal")
    log("systemctl reload: Interval=1s in force")
    write_config(c, good + "Bogus=1\n")
    r = c.run("systemctl", "reload", "memtided", check=False)
    log("bad config: systemctl reload exits %d: %s" % (r.returncode, r.stderr.strip()))
    assert r.returncode != 0, "systemctl reload succeeded on a bad config"
    want = "%s:3: unknown key Bogus=" % CONFIG
    line = wait_for(lambda: next((m for m in messages(c) if want in m), None), 20,
                    "the bad reload in the journal")
    log("bad config: journal: %s" % line)
    assert "keeping the current config" in line, line
    assert interval(c) == 1 and show(c, "ActiveState")["ActiveState"] == "active"
    write_config(c, good)


def check_access(c):
    c.run("systemd-sysusers", "-", stdin="u alice - \"memtide operator\"\nm alice memtide\n")
    reloads = sum(m == "Reloaded %s" % CONFIG for m in messages(c))
    r = ctl(c, "reload", user="alice:alice", check=False)
    log("memtidectl reload as alice (group memtide): exit %d" % r.returncode)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: sum(m == "Reloaded %s" % CONFIG for m in messages(c)) > reloads, 10,
             "alice's reload in the journal")
    r = ctl(c, "reload", user="nobody:nogroup", check=False)
    log("memtidectl reload as nobody: exit %d: %s" % (r.returncode, r.stderr.strip()))
    assert r.returncode != 0, r.stdout
    assert sum(m == "Reloaded %s" % CONFIG for m in messages(c)) == reloads + 1


def check_restart_keeps_overrides(c):
    ctl(c, "set", "qa", "--min", "300M")
    wait_for(lambda: {g["name"]: g for g in ctl_json(c, "list")["guests"]}["qa"]["actual_bytes"]
             >= 299 * MIB, 60, "the override to raise qa")
    before = show(c, "MainPID")["MainPID"]
    c.run("systemctl", "restart", "memtided")
    st = show(c, "ActiveState", "MainPID")
    assert st["ActiveState"] == "active" and st["MainPID"] != before, st
    shown = wait_for(lambda: ctl(c, "--json", "show", "qa", check=False).returncode == 0 and
                     json.loads(ctl(c, "--json", "show", "qa").stdout), 60,
                     "qa after the restart")
    log("after systemctl restart (pid %s -> %s): qa override %s" % (
        before, st["MainPID"], shown["override"]))
    assert shown["override"]["min_bytes"] == 300 * MIB, shown


def check_watchdog_fed(c, first):
    now = wait_for(lambda: int(show(c, "WatchdogTimestampMonotonic")
                               ["WatchdogTimestampMonotonic"]) > first and
                   int(show(c, "WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"]),
                   60, "a WATCHDOG=1 after start")
    log("watchdog: last ping %.1f s after the first" % ((now - first) / 1e6))


def check_security(c):
    r = c.run("systemd-analyze", "security", "memtided.service", "--no-pager")
    score = float(re.search(r"Overall exposure level for memtided.service: ([0-9.]+)",
                            r.stdout).group(1))
    log("systemd-analyze security memtided.service (installed): %.1f" % score)
    assert score <= 2.0, r.stdout[-3000:]


def check_stop(c):
    c.run("systemctl", "stop", "memtided")
    st = show(c, "ActiveState", "Result", "ExecMainStatus", "ExecMainCode")
    log("systemctl stop: %s" % st)
    assert st["ActiveState"] == "inactive" and st["Result"] == "success", st
    assert st["ExecMainStatus"] == "0", st
    assert not os.path.exists(c.path(SOCKET)), "control socket left behind"


# --- guests ---------------------------------------------------------------------

def qemu_wrapper(wd, c, user):
    """A QEMU binary for guests.py: QEMU inside the container's namespaces,
    umask 177 (0600 sockets), as `user` (None: root), killed with the nsenter guests.py starts."""
    path = os.path.join(wd, "qemu-%s" % (user or "root"))
    priv = "setpriv --pdeathsig KILL"
    if user:
        priv += " --reuid=%s --regid=%s --clear-groups" % (user, user)
    with open(path, "w") as f:
        f.write("#!/bin/sh\numask 177\nexec %s %s /usr/bin/qemu-system-x86_64 \"$@\"\n" % (
            " ".join(c.nsenter()), priv))
    os.chmod(path, 0o755)
    return path


def start_guest(name, wd, image, qemu):
    os.environ["MEMTIDE_QEMU"] = qemu
    g = guests.Guest(name, wd, mem_mib=GUEST_MIB, image_dir=image)
    g.start(timeout=60)
    return g


def dump(c, gl):
    if c.leader:
        r = c.run("journalctl", "-u", "memtided", "--no-pager", "-n", "60", check=False)
        print("---- journal of memtided (tail) ----\n" + r.stdout)
    print("---- systemd-nspawn (tail) ----\n" + c.log_tail())
    for g in gl:
        print("---- %s console (tail) ----\n%s\n%s" % (g.name, g.console_text()[-1500:],
                                                      g.qemu_log()[-1500:]))


def main():
    if os.geteuid() != 0:
        skip("needs root (systemd-nspawn boots a container)")
    for tool, package in (("systemd-nspawn", "systemd-container"), ("mmdebstrap", "mmdebstrap"),
                          ("nsenter", "util-linux")):
        if not shutil.which(tool):
            skip("%s not installed (package %s; scripts/install-deps.sh installs it)" % (
                tool, package))
    if sanitized_build():
        skip("the container test runs in the normal and the no-libvirt build, not under ASan: "
             "it tests the unit and the install, the sanitizers are tested by the other tests")
    image = require_guests()
    rootfs = ensure_rootfs()
    wd = workdir("memtide-systemd-")
    wda, wdb = os.path.join(wd, "qa"), os.path.join(wd, "qb")
    os.makedirs(wda, 0o700)
    os.makedirs(wdb, 0o700)
    os.chown(wda, QEMU_UID, QEMU_UID)
    binds = ["--bind-ro=" + os.path.abspath(image), "--bind=" + wda,
             "--bind=%s:/run/qemu-server" % wda, "--bind=" + wdb,
             "--bind=%s:/run/memtide/qmp" % wdb]
    c = Container(rootfs, binds, os.path.join(wd, "nspawn.log"))
    gl = []
    passed = False
    t0 = time.monotonic()
    try:
        c.start()
        c.run("systemd-sysusers", "-",
              stdin="u %s %d \"memtide test QEMU\" / /usr/sbin/nologin\n" % (QEMU_USER, QEMU_UID))
        gl.append(start_guest("qa", wda, image, qemu_wrapper(wd, c, QEMU_USER)))
        gl.append(start_guest("qb", wdb, image, qemu_wrapper(wd, c, None)))
        install(c)
        first_ping = check_service(c)
        for g in gl:
            g.wait_ready(180)
        check_qemu_files_untouched(wda)
        check_guests(c, gl)
        check_read_only_qmp_dir(c)
        check_journal_fields(c, gl)
        check_reload(c)
        check_access(c)
        check_watchdog_fed(c, first_ping)
        check_security(c)
        check_restart_keeps_overrides(c)
        check_qemu_files_untouched(wda)
        check_stop(c)
        passed = True
        log("container test done in %.0f s" % (time.monotonic() - t0))
        print("PASS")
    finally:
        if not passed:
            try:
                dump(c, gl)
            except Exception as e:  # noqa: BLE001 - the cleanup below must run
                print("(dump failed: %s)" % e)
        for g in gl:
            g.kill()
        c.stop()


if __name__ == "__main__":
    run_test(main)
