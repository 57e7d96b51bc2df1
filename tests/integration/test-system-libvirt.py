#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""memtided against a system libvirt as Debian ships it: a Debian 12
container (mmdebstrap with libvirt-daemon-system, cached in
BUILD/tests/nspawn-rootfs-libvirt) booted by systemd-nspawn with systemd 252
as PID 1, so that libvirtd runs as root from Debian's own units (socket
activated on /run/libvirt/libvirt-sock, with virtlogd, virtlockd and
machined), answering qemu:///system. The other libvirt tests run an
unprivileged session libvirtd; this one is the set-up most hosts have.

One tiny TCG guest (domain type='qemu', virtio balloon with a stats period,
the test image's kernel and initramfs copied to /var/lib/libvirt/boot) is
defined and started with `virsh -c qemu:///system` inside the container;
libvirt runs its QEMU as libvirt-qemu. memtide is installed the README's way
(nspawn.install) and the unit started with no config file at all, so
Backend=auto must find /run/libvirt/libvirt-sock and pick libvirt, whose
default URI is qemu:///system.

Checks: libvirtd runs as root behind Debian's libvirtd.socket and QEMU as
libvirt-qemu; `memtidectl status` says backend libvirt and the journal that
memtided connected to qemu:///system; `memtidectl list` shows the guest by
its domain name; the guest is squeezed (within 1.25 x its floor and under
60 % of its 512 MiB), and libvirt itself (virsh dommemstat) reports the
balloon down there, so the unit's sandbox lets memtided drive system
libvirt; memtided logs no warning doing so; after `systemctl restart
libvirtd` (a libvirt upgrade) it connects again and keeps the guest;
`systemctl stop memtided` is clean.

Libvirt is left as shipped except where this container cannot give it what
a host does: when the guest does not start for want of cgroups (nspawn on a
cgroup v1 host mounts the controllers read-only), qemu.conf gets
cgroup_controllers = [ ] and libvirtd a restart, and the test says so.

Runs as root where systemd-nspawn and mmdebstrap are installed (else exit
77), in the build with libvirt (meson registers it only there), not in the
sanitizer build (the container has no sanitizer runtime; test-libvirt-*
test the backend under ASan)."""

import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_test, MIB, guests, log, require_guests, wait_for, workdir  # noqa: E402
from libvirt_harness import Libvirtd, LibvirtGuest  # noqa: E402
from nspawn import (BASE_PACKAGES, Container, check_stop, ctl, ctl_json,  # noqa: E402
                    ensure_rootfs, install, journal_tail, messages, require_container_tools,
                    squeezed)

ROOTFS_FORMAT = 1  # bump to force a new rootfs
# Debian's system libvirt: libvirtd and its units, virtlogd, virtlockd,
# polkit, the QEMU driver (through libvirt-daemon), as `apt install
# libvirt-daemon-system` gives it (mmdebstrap installs no Recommends).
ROOTFS_PACKAGES = BASE_PACKAGES + ["libvirt-daemon-system"]
URI = "qemu:///system"
GUEST, GUEST_MIB = "lv1", 512
# Debian's place for guest kernels (root, 0711): libvirt-qemu reads files
# there, and libvirt's DAC driver labels them while the guest runs.
BOOT_DIR = "/var/lib/libvirt/boot"
QEMU = "/usr/bin/qemu-system-x86_64"  # the container's (same path as the host's)


class SystemLibvirt:
    """The container's libvirtd, as libvirt_harness.LibvirtGuest's daemon:
    virsh -c qemu:///system through nsenter. Guest files (console, workload
    socket) live in `guest_dir`, a host directory bound at the same path in
    the container, so guests.Guest's console and workload helpers work from
    the host."""

    uri = URI
    domstats = Libvirtd.domstats

    def __init__(self, c, wd, image):
        self.c = c
        self.dir = wd
        self.image_dir = image
        self.guest_dir = os.path.join(wd, "guests")
        self.guests = {}

    def virsh(self, *args, check=True, timeout=60):
        r = self.c.run("virsh", "-q", "-c", self.uri, *args, check=False, timeout=timeout)
        if check and r.returncode != 0:
            raise guests.GuestError("virsh %s: %s" % (" ".join(args), r.stderr.strip()))
        return r

    def alive(self):
        return True

    def log_text(self):
        return journal_tail(self.c, "libvirtd", 40)

    def prepare(self):
        """The kernel and initramfs in BOOT_DIR; the guest directory owned by
        libvirt-qemu (QEMU runs as that user and writes its console file and
        workload socket there), as an operator would set it up."""
        kernel = guests.Guest("probe", self.dir, image_dir=self.image_dir).kernel_path()
        for src in (kernel, os.path.join(self.image_dir, "initramfs.cpio.gz")):
            shutil.copy(src, self.c.path(BOOT_DIR))
        self.kernel = os.path.join(BOOT_DIR, os.path.basename(kernel))
        self.initrd = os.path.join(BOOT_DIR, "initramfs.cpio.gz")
        uid, gid = (int(x) for x in self.c.run("id", "-u", "libvirt-qemu").stdout.split() +
                    self.c.run("id", "-g", "libvirt-qemu").stdout.split())
        os.chmod(self.dir, 0o755)  # mkdtemp's 0700: libvirt-qemu must get through
        os.makedirs(self.guest_dir, 0o750)
        os.chown(self.guest_dir, uid, gid)

    def define_guest(self, name, **kw):
        g = SystemGuest(self, name, **kw)
        self.guests[name] = g
        g.define()
        g.start()
        return g


class SystemGuest(LibvirtGuest):
    """A test guest of the container's system libvirt: QEMU is a process of
    the container's PID namespace, so its pid file and /proc entry are read
    through the container's root."""

    def domain_xml(self):
        return re.sub(r"<emulator>.*?</emulator>", "<emulator>%s</emulator>" % QEMU,
                      super().domain_xml())

    def start(self, timeout=60.0):
        self.disconnect()
        r = self.daemon.virsh("start", self.name, timeout=timeout, check=False)
        if r.returncode != 0 and adapt_libvirt(self.daemon.c, r.stderr):
            r = self.daemon.virsh("start", self.name, timeout=timeout, check=False)
        if r.returncode != 0:
            raise guests.GuestError("virsh start %s: %s" % (self.name, r.stderr.strip()))
        self.started_at = time.monotonic()
        with open(self.daemon.c.path("/run/libvirt/qemu/%s.pid" % self.name)) as f:
            self._pid = int(f.read().strip())
        return self

    def is_running(self):
        try:
            with open(self.daemon.c.path("/proc/%d/cmdline" % self._pid), "rb") as f:
                return ("guest=%s," % self.name).encode() in f.read()
        except (OSError, TypeError):
            return False

    def qemu_log(self):
        try:
            with open(self.daemon.c.path("/var/log/libvirt/qemu/%s.log" % self.name),
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def kill(self):
        if self.daemon.c.leader and self.daemon.c.proc.poll() is None:
            self.daemon.virsh("destroy", self.name, check=False, timeout=30)
        self.disconnect()


# --- checks ----------------------------------------------------------------------

def check_system_libvirt(c):
    """Debian's units: libvirtd.socket listening on /run/libvirt/libvirt-sock
    (root, as shipped); qemu:///system answers, from a root libvirtd."""
    st = c.run("systemctl", "is-active", "libvirtd.socket", "libvirtd.service", "virtlogd.socket",
               check=False).stdout.split()
    log("after boot: libvirtd.socket %s, libvirtd.service %s, virtlogd.socket %s" % tuple(st))
    assert st[0] == "active", st
    s = os.stat(c.path("/run/libvirt/libvirt-sock"))
    log("/run/libvirt/libvirt-sock: %o %d:%d" % (s.st_mode & 0o7777, s.st_uid, s.st_gid))
    t0 = time.monotonic()
    r = c.run("virsh", "-c", URI, "version")
    log("virsh -c %s version (%.1f s): %s" % (URI, time.monotonic() - t0,
                                              " | ".join(r.stdout.split("\n")[:4]).strip()))
    pid = c.run("systemctl", "show", "libvirtd", "-p", "MainPID", "--value").stdout.strip()
    with open(c.path("/proc/%s/status" % pid)) as f:
        uid = f.read().split("Uid:")[1].split()[0]
    log("libvirtd: pid %s in the container, uid %s" % (pid, uid))
    assert uid == "0", uid


def adapt_libvirt(c, error):
    """When a guest does not start for libvirt's cgroups: where the container
    sees cgroup v1 (a v1 or hybrid host), systemd-nspawn mounts the controller
    hierarchies read-only ("Failed to create v1 controller cpu for group:
    Read-only file system"); under v2 a container may lack controllers or BPF
    device programs. The operator of a host that runs libvirt in such a
    container turns libvirt's cgroup use off in qemu.conf and restarts
    libvirtd, as done here; memtide does not use libvirt's cgroups. Returns
    True when it did so."""
    if not re.search(r"cgroup|controller|BPF", error, re.I):
        return False
    fs = c.run("stat", "-fc", "%T", "/sys/fs/cgroup").stdout.strip()
    log("virsh start as shipped failed (/sys/fs/cgroup: %s): %s" % (
        fs, " | ".join(ln.strip() for ln in error.splitlines() if ln.strip())))
    with open(c.path("/etc/libvirt/qemu.conf"), "a") as f:
        f.write("\n# memtide test: libvirt cannot use this container's cgroups\n"
                "cgroup_controllers = [ ]\n")
    c.run("systemctl", "restart", "libvirtd")
    log("qemu.conf: cgroup_controllers = [ ], libvirtd restarted")
    return True


def check_backend(c):
    """Backend=auto picked libvirt and connected to qemu:///system."""
    st = ctl_json(c, "status")
    log("memtidectl status: backend %s" % st["daemon"]["backend"])
    assert st["daemon"]["backend"] == "libvirt", st["daemon"]
    line = wait_for(lambda: next((m for m in messages(c) if m.startswith("libvirt: connected")),
                                 None), 60, "memtided to connect to libvirt")
    log("journal: %s" % line)
    assert "connected to %s" % URI in line, line
    text = ctl(c, "status").stdout
    log("memtidectl status:\n" + "\n".join("    " + ln for ln in text.rstrip().splitlines()))


def check_squeezed(c, lv, g):
    t0 = time.monotonic()
    try:
        listed = wait_for(lambda: squeezed(c, [g.name], GUEST_MIB), 180,
                          "the guest to be squeezed")
    except AssertionError:
        log("memtidectl list:\n" + ctl(c, "list", check=False).stdout)
        raise
    e = listed[g.name]
    log("squeezed %.0f s after waiting began: actual %.0f MiB, floor %.0f MiB (of %d)" % (
        time.monotonic() - t0, e["actual_bytes"] / MIB, e["floor_bytes"] / MIB, GUEST_MIB))
    log("memtidectl list:\n" + ctl(c, "list").stdout.rstrip())
    actual = wait_for(lambda: (lambda a: a if a < 0.6 * GUEST_MIB else None)(
        g.balloon_actual_mib()), 30, "libvirt to report the smaller balloon")
    mem = lv.virsh("dommemstat", g.name).stdout
    log("virsh dommemstat %s: %s" % (g.name, " ".join(mem.split())))
    log("libvirt balloon.current: %.0f MiB of %d" % (actual, GUEST_MIB))


def check_journal(c):
    """memtided logged no warning or error against system libvirt (a sandbox
    denial would show here first)."""
    r = c.run("journalctl", "-u", "memtided", "-p", "warning", "-o", "cat", "--no-pager")
    bad = [ln for ln in r.stdout.splitlines() if ln.strip()]
    log("memtided's journal at warning or worse: %s" % (bad or "nothing"))
    assert not bad, bad


def check_libvirtd_restart(c, g):
    """`systemctl restart libvirtd` (what a libvirt upgrade does): memtided
    says libvirt is gone, connects again through the socket systemd kept
    listening, and still manages the guest, which kept running."""
    connected = [m for m in messages(c) if m.startswith("libvirt: connected")]
    t0 = time.monotonic()
    c.run("systemctl", "restart", "libvirtd")
    again = wait_for(lambda: len([m for m in messages(c) if m.startswith("libvirt: connected")])
                     > len(connected), 60, "memtided to connect again after the restart")
    lost = [m for m in messages(c) if "unreachable" in m]
    log("libvirtd restarted: memtided connected again after %.1f s (%s); lost: %s" % (
        time.monotonic() - t0, again and "ok", lost[-1:] or "nothing logged"))
    gl = wait_for(lambda: {x["name"]: x for x in ctl_json(c, "list")["guests"]}.get(g.name), 30,
                  "%s in memtidectl list after the restart" % g.name)
    assert g.is_running() and gl["actual_bytes"] < 0.6 * GUEST_MIB * MIB, gl
    assert ctl_json(c, "status")["daemon"]["backend"] == "libvirt"


def dump(c, g):
    if not c.leader:
        print("---- systemd-nspawn (tail) ----\n" + c.log_tail())
        return
    print(journal_tail(c))
    print(journal_tail(c, "libvirtd", 40))
    print("---- systemd-nspawn (tail) ----\n" + c.log_tail())
    if g:
        print("---- %s console (tail) ----\n%s\n---- %s QEMU log (tail) ----\n%s" % (
            g.name, g.console_text()[-1500:], g.name, g.qemu_log()[-1500:]))


def main():
    require_container_tools("the system libvirt test runs in the normal build, not under ASan: it "
                            "tests the unit against Debian's libvirt, the sanitizers are tested "
                            "by the other tests")
    image = require_guests()
    t_start = time.monotonic()
    rootfs = ensure_rootfs("nspawn-rootfs-libvirt", ROOTFS_PACKAGES, ROOTFS_FORMAT)
    wd = workdir("memtide-syslv-")
    # --private-network: libvirtd (its default network, firewall probing)
    # must not touch the host's network; the guest has no NIC anyway.
    c = Container(rootfs, ["--bind=" + wd, "--private-network"], os.path.join(wd, "nspawn.log"))
    lv = SystemLibvirt(c, wd, image)
    g = None
    passed = False
    try:
        t0 = time.monotonic()
        c.start()
        log("container booted in %.1f s" % (time.monotonic() - t0))
        check_system_libvirt(c)
        lv.prepare()
        t0 = time.monotonic()
        g = lv.define_guest(GUEST, mem_mib=GUEST_MIB)
        with open(c.path("/proc/%d/status" % g.pid)) as f:
            quid = int(f.read().split("Uid:")[1].split()[0])
        user = c.run("getent", "passwd", str(quid)).stdout.split(":")[0]
        log("%s: defined and started through virsh -c %s in %.1f s (QEMU pid %d in the "
            "container, user %s)" % (g.name, URI, time.monotonic() - t0, g.pid, user))
        assert user == "libvirt-qemu", user  # Debian's qemu.conf: QEMU not as root
        lpid = c.run("systemctl", "show", "libvirtd", "-p", "MainPID", "--value").stdout.strip()
        own_ns = os.readlink(c.path("/proc/%d/ns/mnt" % g.pid)) != \
            os.readlink(c.path("/proc/%s/ns/mnt" % lpid))
        log("%s: QEMU in a mount namespace of its own (qemu.conf namespaces): %s" % (
            g.name, "yes" if own_ns else "no"))
        t0 = time.monotonic()
        install(c)
        log("memtide installed and started in %.1f s" % (time.monotonic() - t0))
        assert not os.path.exists(c.path("/etc/memtide/memtide.conf"))
        check_backend(c)
        log("%s: ready %.1f s after virsh start" % (g.name, g.wait_ready(180)))
        check_squeezed(c, lv, g)
        check_journal(c)
        check_libvirtd_restart(c, g)
        check_stop(c)
        passed = True
        log("system libvirt test done in %.0f s" % (time.monotonic() - t_start))
        print("PASS")
    finally:
        if not passed:
            try:
                dump(c, g)
            except Exception as e:  # noqa: BLE001 - the cleanup below must run
                print("(dump failed: %s)" % e)
        if g:
            g.kill()
        c.stop()
        if passed:
            shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    run_test(main)
