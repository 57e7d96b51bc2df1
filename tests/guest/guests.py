#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot and drive memtide test guests (QEMU, TCG by default). Stdlib only.

A guest is Debian's kernel (its package unpacked, not installed) with a
tiny initramfs (see build-image.sh): virtio-balloon driver loaded, no disk,
no swap, and a workload program serving a line protocol on the guest's
second serial port (ping, alloc MIB RATE, free, held, hold MIB RATE,
cache RATE, meminfo; see workload.c).

Per guest NAME, files in WORKDIR:

    NAME.console    serial 0 (kernel console, /init markers, OOM messages)
    NAME.ctl        serial 1, Unix socket: the workload's command line
    NAME.qmp        QMP, Unix socket: for memtided (one client at a time!)
    NAME.test.qmp   second QMP monitor for the tests, with test_monitor=True
    NAME.pid        QEMU's pid
    NAME.qemu.log   QEMU's stdout/stderr
    NAME.disk       with disk_mib: the guest's virtio disk (sparse, raw)

QEMU's QMP sockets accept one client at a time: while memtided is connected to
NAME.qmp, a test must use the second monitor (test_monitor=True). Note that a
glob such as WORKDIR/*.qmp also matches NAME.test.qmp; point memtided at
names that exclude it (e.g. WORKDIR/guest[0-9]*.qmp with no test monitor, or
list the sockets).

Library use:

    from guests import Guest, boot_guests
    with Guest("g1", workdir, mem_mib=512, test_monitor=True) as g:
        g.start(); g.wait_ready()
        assert g.command("ping") == "pong"
        g.qmp("balloon", {"value": 256 << 20})

Command line (used by the demo):

    guests.py boot N WORKDIR [--mem MIB] [--deflate-on-oom] ...
        boots N guests (guest1..guestN), prints their QMP socket paths, and
        keeps them running until Ctrl-C or SIGTERM.
    guests.py cmd WORKDIR NAME LINE...
        sends one workload command to a running guest and prints the reply.
    guests.py image [OUTDIR]
        builds (or refreshes) the guest image.

Environment: MEMTIDE_TEST_ACCEL (default tcg; e.g. kvm), MEMTIDE_GUEST_IMAGE
(image directory, default tests/guest/out), MEMTIDE_QEMU (QEMU binary),
MEMTIDE_GUEST_APPEND (extra kernel command line), MEMTIDE_GUEST_PVH=0 (boot
the compressed vmlinuz even when the image has vmlinux-pvh).

QEMU processes never outlive this module's process: each one gets
PR_SET_PDEATHSIG=SIGKILL (bound to the thread that started it: start guests
from a thread that lives as long as they should), every running guest is
killed at interpreter exit, and Guest is a context manager.
"""

import argparse
import atexit
import ctypes
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_SCRIPT = os.path.join(HERE, "build-image.sh")
DEFAULT_IMAGE_DIR = os.path.join(HERE, "out")

READY_MARKER = "memtide-guest: ready"
BALLOON_MARKER = "memtide-guest: balloon driver loaded"
OOM_RE = re.compile(r"Out of memory|oom-kill|invoked oom-killer|Killed process \d+")
EXIT_RE = re.compile(r"memtide-guest: workload exited status (\d+)")

UNIX_PATH_MAX = 107
MIB = 1 << 20


class GuestError(Exception):
    """A guest failed to start, answer or behave."""


class ImageUnavailable(GuestError):
    """This machine cannot build the guest image (no kernel, kernel not
    readable, packages missing and not root): tests should skip."""


class QmpError(GuestError):
    """QEMU answered a QMP command with an error."""

    def __init__(self, command, error):
        self.command = command
        self.error = error
        super().__init__("QMP %s failed: %s: %s" % (command, error.get("class"), error.get("desc")))


def image_dir_default():
    return os.environ.get("MEMTIDE_GUEST_IMAGE") or DEFAULT_IMAGE_DIR


def image_present(image_dir=None):
    d = image_dir or image_dir_default()
    return all(os.path.isfile(os.path.join(d, f)) for f in ("vmlinuz", "initramfs.cpio.gz"))


def ensure_image(image_dir=None, quiet=False):
    """Builds or refreshes the image (idempotent); returns the directory.
    Raises ImageUnavailable when this machine cannot build it (skip), and
    GuestError when the build fails."""
    d = image_dir or image_dir_default()
    env = dict(os.environ)
    env.pop("MEMTIDE_IMAGE_OPTIONAL", None)
    r = subprocess.run(["bash", BUILD_SCRIPT, d], stdin=subprocess.DEVNULL, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode == 77:
        raise ImageUnavailable(r.stdout.strip())
    if r.returncode != 0 or not image_present(d):
        raise GuestError("build-image.sh failed (status %d):\n%s" % (r.returncode, r.stdout))
    if not quiet and r.stdout.strip():
        sys.stderr.write(r.stdout)
    return d


def qemu_binary():
    return os.environ.get("MEMTIDE_QEMU") or shutil.which("qemu-system-x86_64")


def accel():
    return os.environ.get("MEMTIDE_TEST_ACCEL") or "tcg"


# --- process hygiene ----------------------------------------------------------

_live = set()
_live_lock = threading.Lock()


def _kill_all():
    with _live_lock:
        guests = list(_live)
    for g in guests:
        try:
            g.kill()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


atexit.register(_kill_all)

try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover
    _libc = None


def _child_setup(cgroup_procs=None):
    # Runs in the child between fork and exec.
    if _libc is not None:
        PR_SET_PDEATHSIG = 1
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if cgroup_procs:
        # Before exec: QEMU's memory is charged to the cgroup from its start.
        with open(cgroup_procs, "w") as f:
            f.write("%d\n" % os.getpid())


# --- QMP ----------------------------------------------------------------------

class QmpConnection:
    """Minimal synchronous QMP client: greeting, qmp_capabilities, then
    execute() one command at a time. Events seen meanwhile go to .events."""

    def __init__(self, path, timeout=10.0):
        self.path = path
        self.events = []
        self._buf = b""
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.connect(path)
            greeting = self._read_message(timeout)
            if "QMP" not in greeting:
                raise GuestError("%s: not a QMP greeting: %r" % (path, greeting))
            self.greeting = greeting
            self.execute("qmp_capabilities", timeout=timeout)
        except socket.timeout:
            self.close()
            raise GuestError("%s: no QMP greeting within %.0f s (another client, e.g. memtided, "
                             "connected? QEMU serves one client per monitor: use the test "
                             "monitor)" % (path, timeout)) from None
        except BaseException:
            self.close()
            raise

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _read_message(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            self._sock.settimeout(left)
            data = self._sock.recv(65536)
            if not data:
                raise GuestError("%s: QMP connection closed" % self.path)
            self._buf += data
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, args=None, timeout=30.0):
        """Runs a command; returns its "return" value, raises QmpError on error."""
        msg = {"execute": command}
        if args is not None:
            msg["arguments"] = args
        self._sock.sendall(json.dumps(msg).encode() + b"\n")
        return self._reply(command, timeout)["return"]

    def execute_raw(self, command, args=None, timeout=30.0):
        """Like execute() but returns the whole reply object ({"return": ...})."""
        msg = {"execute": command}
        if args is not None:
            msg["arguments"] = args
        self._sock.sendall(json.dumps(msg).encode() + b"\n")
        return self._reply(command, timeout)

    def _reply(self, command, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                m = self._read_message(max(0.0, deadline - time.monotonic()))
            except socket.timeout:
                raise GuestError("%s: no reply to %s within %.0f s" % (self.path, command, timeout)) \
                    from None
            if "event" in m:
                self.events.append(m)
                continue
            if "error" in m:
                raise QmpError(command, m["error"])
            if "return" in m:
                return m


# --- guests -------------------------------------------------------------------

class Guest:
    """One QEMU guest. start(), wait_ready(), then command()/qmp(); stop() or
    kill(), or use it as a context manager (killed on exit).

    mem_mib: -m; deflate_on_oom, free_page_reporting, free_page_hint: the
    virtio-balloon-pci properties (free_page_hint adds an iothread);
    image_dir: default $MEMTIDE_GUEST_IMAGE or tests/guest/out; test_monitor:
    add NAME.test.qmp, a second QMP monitor for the test itself; machine: -M
    (q35); cpu: -cpu (default max under TCG, host under KVM); extra_args:
    more QEMU arguments; append: more kernel command line; uuid: -uuid.

    virtio-mem: vmem_mib > 0 adds a virtio-mem-pci device vmem0 backed by a
    RAM memdev mem0 of that size (its maximum), with -m MEM,maxmem=MAXMEM
    (maxmem_mib, default mem_mib + vmem_mib), block size vmem_block_mib
    (2 MiB) and requested-size vmem_requested_mib (0). Its blocks are onlined
    by the guest kernel as memhp_default_state= says: pass
    append="memhp_default_state=online_movable" for blocks that can be
    unplugged again (=online leaves them in ZONE_NORMAL, unplug may stall).
    balloon=False leaves out the virtio-balloon device.

    disk_mib > 0 adds a virtio-blk disk of that size (NAME.disk, sparse,
    read by QEMU with O_DIRECT so that the host caches nothing of it): the
    workload's `cache` command reads it to fill the guest's page cache.
    cgroup_procs: a cgroup's cgroup.procs file; QEMU joins that cgroup
    before it starts (its memory is charged there from the first page).
    """

    def __init__(self, name, workdir, mem_mib=512, deflate_on_oom=False,
                 free_page_reporting=True, free_page_hint=False, image_dir=None,
                 test_monitor=False, smp=1, machine="q35", cpu=None, extra_args=(),
                 append=None, uuid=None, vmem_mib=0, maxmem_mib=None, vmem_block_mib=2,
                 vmem_requested_mib=0, balloon=True, disk_mib=0, cgroup_procs=None):
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise ValueError("bad guest name %r" % name)
        self.name = name
        self.workdir = os.path.abspath(workdir)
        self.mem_mib = int(mem_mib)
        self.deflate_on_oom = deflate_on_oom
        self.free_page_reporting = free_page_reporting
        self.free_page_hint = free_page_hint
        self.image_dir = os.path.abspath(image_dir or image_dir_default())
        self.test_monitor = test_monitor
        self.smp = smp
        self.machine = machine
        self.cpu = cpu
        self.extra_args = list(extra_args)
        self.append = append
        self.uuid = uuid
        self.vmem_mib = int(vmem_mib)
        self.maxmem_mib = int(maxmem_mib) if maxmem_mib else self.mem_mib + self.vmem_mib
        self.vmem_block_mib = vmem_block_mib
        self.vmem_requested_mib = int(vmem_requested_mib)
        self.balloon = balloon
        self.disk_mib = int(disk_mib)
        self.cgroup_procs = cgroup_procs
        self.proc = None
        self.started_at = None
        self.ready_at = None
        self._sockdir = None
        self._ctl = None
        self._ctl_buf = b""
        self._mon = None
        p = os.path.join(self.workdir, name)
        self.console_path = p + ".console"
        self.pid_path = p + ".pid"
        self.log_path = p + ".qemu.log"
        self.disk_path = p + ".disk"
        self._place_sockets()

    # context manager: never leave QEMU behind
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    def __repr__(self):
        return "<Guest %s pid=%s>" % (self.name, self.pid)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _place_sockets(self):
        """QEMU's sockets go in WORKDIR when their paths fit in sockaddr_un
        (107 bytes); otherwise in a short /tmp directory, with symlinks in
        WORKDIR for people to find them. ctl_path, qmp_path and
        test_qmp_path always name the connectable (short) paths."""
        p = os.path.join(self.workdir, self.name)
        names = {"ctl_path": p + ".ctl", "qmp_path": p + ".qmp", "test_qmp_path": p + ".test.qmp"}
        self._symlinks = []
        if max(len(v) for v in names.values()) > UNIX_PATH_MAX:
            self._sockdir = tempfile.mkdtemp(prefix="memtide-%s-" % self.name[:20])
            weakref.finalize(self, shutil.rmtree, self._sockdir, True)
            for attr, long_path in names.items():
                short = os.path.join(self._sockdir, os.path.basename(long_path))
                if len(short) > UNIX_PATH_MAX:
                    raise GuestError("guest name too long for a socket path: %s" % self.name)
                self._symlinks.append((short, long_path))
                names[attr] = short
        for attr, path in names.items():
            setattr(self, attr, path)

    def kernel_path(self):
        """vmlinux-pvh (direct PVH boot, ~2 s faster under TCG) when the
        image has it and MEMTIDE_GUEST_PVH is not 0, else vmlinuz."""
        pvh = os.path.join(self.image_dir, "vmlinux-pvh")
        if os.environ.get("MEMTIDE_GUEST_PVH", "1") != "0" and os.path.isfile(pvh):
            return pvh
        return os.path.join(self.image_dir, "vmlinuz")

    def qemu_command(self):
        img = self.image_dir
        acc = accel()
        cpu = self.cpu or ("host" if acc == "kvm" else "max")
        append = "console=ttyS0 panic=-1 loglevel=4 no_timer_check"
        extra = os.environ.get("MEMTIDE_GUEST_APPEND")
        if extra:
            append += " " + extra
        if self.append:
            append += " " + self.append
        balloon = "virtio-balloon-pci,id=balloon0,deflate-on-oom=%s,free-page-reporting=%s" % (
            "on" if self.deflate_on_oom else "off", "on" if self.free_page_reporting else "off")
        cmd = [qemu_binary(), "-name", self.name, "-accel", acc, "-M", self.machine,
               "-cpu", cpu, "-m", self._memory_option(), "-smp", str(self.smp),
               "-nodefaults", "-nographic", "-no-reboot",
               "-kernel", self.kernel_path(),
               "-initrd", os.path.join(img, "initramfs.cpio.gz"),
               "-append", append,
               "-chardev", "file,id=con0,path=%s" % self.console_path,
               "-serial", "chardev:con0",
               "-chardev", "socket,id=ctl0,path=%s,server=on,wait=off" % self.ctl_path,
               "-serial", "chardev:ctl0",
               "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
               "-pidfile", self.pid_path]
        if self.uuid:
            cmd += ["-uuid", self.uuid]
        if self.test_monitor:
            cmd += ["-chardev", "socket,id=mon1,path=%s,server=on,wait=off"
                    % self.test_qmp_path, "-mon", "chardev=mon1,mode=control"]
        if self.free_page_hint:
            cmd += ["-object", "iothread,id=io0"]
            balloon += ",free-page-hint=on,iothread=io0"
        if self.balloon:
            cmd += ["-device", balloon]
        if self.disk_mib:
            cmd += ["-drive", "file=%s,if=none,id=disk0,format=raw,cache.direct=on,aio=threads"
                    % self.disk_path, "-device", "virtio-blk-pci,drive=disk0"]
        if self.vmem_mib:
            cmd += ["-object", "memory-backend-ram,id=mem0,size=%dM" % self.vmem_mib,
                    "-device", "virtio-mem-pci,id=vmem0,memdev=mem0,block-size=%sM,"
                    "requested-size=%dM" % (self.vmem_block_mib, self.vmem_requested_mib)]
        return cmd + self.extra_args

    def _memory_option(self):
        if not self.vmem_mib:
            return str(self.mem_mib)
        return "%dM,maxmem=%dM" % (self.mem_mib, self.maxmem_mib)

    def start(self, timeout=30.0):
        """Launches QEMU; returns once its sockets exist. Raises GuestError."""
        if self.is_running():
            raise GuestError("%s already running" % self.name)
        self.disconnect()
        if not qemu_binary():
            raise GuestError("qemu-system-x86_64 not found")
        if not image_present(self.image_dir):
            raise GuestError("no guest image in %s (run build-image.sh)" % self.image_dir)
        os.makedirs(self.workdir, exist_ok=True)
        stale = [self.console_path, self.ctl_path, self.qmp_path, self.test_qmp_path,
                 self.pid_path, self.log_path] + [link for _, link in self._symlinks]
        for p in stale:
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
        if self.disk_mib:
            with open(self.disk_path, "wb") as f:
                f.truncate(self.disk_mib * MIB)  # sparse: reads cost the host no disk
        cmd = self.qemu_command()
        with open(self.log_path, "wb") as log:
            log.write(("+ " + " ".join(cmd) + "\n").encode())
            log.flush()
            cgroup = self.cgroup_procs
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         preexec_fn=lambda: _child_setup(cgroup),
                                         start_new_session=True)
        self.started_at = time.monotonic()
        with _live_lock:
            _live.add(self)
        try:
            for short, link in self._symlinks:
                os.symlink(short, link)
            wanted = [self.qmp_path, self.ctl_path]
            if self.test_monitor:
                wanted.append(self.test_qmp_path)
            deadline = time.monotonic() + timeout
            while not all(os.path.exists(p) for p in wanted):
                if self.proc.poll() is not None:
                    raise GuestError("QEMU for %s exited with status %s:\n%s"
                                     % (self.name, self.proc.returncode, self.qemu_log()[-3000:]))
                if time.monotonic() > deadline:
                    raise GuestError("QEMU for %s: sockets not there after %.0f s"
                                     % (self.name, timeout))
                time.sleep(0.02)
        except BaseException:
            self.kill()
            raise
        return self

    def is_running(self):
        return self.proc is not None and self.proc.poll() is None

    def _check_running(self):
        if not self.is_running():
            raise GuestError("QEMU for %s is not running (status %s):\n%s" % (
                self.name, self.proc.returncode if self.proc else None, self.qemu_log()[-2000:]))

    # --- console ---

    def console_text(self):
        try:
            with open(self.console_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def qemu_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_console(self, pattern, timeout=60.0, count=1):
        """Waits until the console matches regex `pattern` at least `count`
        times; returns the last match. Raises GuestError on timeout/exit."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            matches = list(rx.finditer(self.console_text()))
            if len(matches) >= count:
                return matches[count - 1]
            self._check_running()
            if time.monotonic() > deadline:
                raise GuestError("%s: console did not show %r within %.0f s; console:\n%s"
                                 % (self.name, pattern, timeout, self.console_text()[-3000:]))
            time.sleep(0.05)

    def wait_ready(self, timeout=120.0):
        """Waits for the ready marker, then until the workload answers ping.
        Returns the seconds since start()."""
        deadline = time.monotonic() + timeout
        self.wait_console(re.escape(READY_MARKER), timeout)
        self.ready_at = time.monotonic()
        self.wait_workload(max(5.0, deadline - time.monotonic()))
        return self.ready_at - self.started_at

    def oom_killed(self):
        """True when the guest console shows an OOM kill."""
        return bool(OOM_RE.search(self.console_text()))

    def workload_exits(self):
        """Exit statuses of workload instances so far (137 = SIGKILL)."""
        return [int(m.group(1)) for m in EXIT_RE.finditer(self.console_text())]

    # --- workload command line (serial 1) ---

    def _ctl_connect(self):
        if self._ctl is None:
            self._check_running()
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.ctl_path)
            self._ctl = s
            self._ctl_buf = b""
        return self._ctl

    def send(self, line):
        """Sends one command line without waiting for the reply."""
        self._ctl_connect().sendall(line.encode() + b"\n")

    def read_line(self, timeout=30.0, skip_notices=True):
        """Next line from the workload (without newline); notices ('#...')
        are skipped. Raises GuestError on timeout."""
        s = self._ctl_connect()
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._ctl_buf:
                line, self._ctl_buf = self._ctl_buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace").strip("\r")
                if skip_notices and (text.startswith("#") or not text):
                    continue
                return text
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestError("%s: no reply from the workload within %.1f s" % (self.name, timeout))
            r, _, _ = select.select([s], [], [], min(left, 0.5))
            if not r:
                self._check_running()
                continue
            data = s.recv(65536)
            if not data:
                self.disconnect_ctl()
                raise GuestError("%s: serial socket closed" % self.name)
            self._ctl_buf += data

    def drain(self):
        """Discards whatever the workload sent and nobody read yet."""
        s = self._ctl_connect()
        while select.select([s], [], [], 0)[0]:
            if not s.recv(65536):
                break
        self._ctl_buf = b""

    def command(self, line, timeout=30.0):
        """Sends a command and returns its reply line, e.g. command("ping") -> "pong"."""
        self.send(line)
        return self.read_line(timeout)

    def wait_workload(self, timeout=60.0, attempt_timeout=0.5):
        """Pings until the (possibly restarted) workload answers. Each ping
        carries a token, and the wait ends at the pong with the latest token,
        so late answers to earlier pings cannot be taken for later replies."""
        deadline = time.monotonic() + timeout
        self.drain()
        n = 0
        while True:
            n += 1
            token = "w%d.%d" % (os.getpid(), n)
            self.send("ping " + token)
            try:
                end = time.monotonic() + attempt_timeout
                while True:
                    if self.read_line(max(0.05, end - time.monotonic())) == "pong " + token:
                        return
            except GuestError:
                self._check_running()
            if time.monotonic() > deadline:
                raise GuestError("%s: workload does not answer ping; console:\n%s"
                                 % (self.name, self.console_text()[-2000:]))

    def alloc(self, mib, rate_mib_s=0, timeout=None):
        """alloc MIB RATE; returns the reply ('allocated MIB' on success)."""
        if timeout is None:
            timeout = 60.0 + (mib / rate_mib_s if rate_mib_s else mib / 10.0)
        return self.command("alloc %d %g" % (mib, rate_mib_s), timeout)

    def hold(self, mib, rate_mib_s=0):
        """hold MIB RATE: the workload moves what it holds toward mib in the
        background; returns the MiB held when the command arrived."""
        r = self.command("hold %d %g" % (mib, rate_mib_s))
        m = re.fullmatch(r"hold \d+ held (\d+)", r)
        if not m:
            raise GuestError("%s: hold: %s" % (self.name, r))
        return int(m.group(1))

    def cache(self, rate_mib_s, device=None):
        """cache RATE [DEVICE]: read the disk at that rate into the page cache
        (0 stops)."""
        r = self.command("cache %g%s" % (rate_mib_s, " " + device if device else ""))
        if not r.startswith("cache "):
            raise GuestError("%s: cache: %s" % (self.name, r))

    def meminfo(self):
        """Guest /proc/meminfo figures in KiB: {'total_kib':..,'free_kib':..,'available_kib':..,
        'buffers_kib':.., 'cached_kib':..} and 'allocstall' (/proc/vmstat, summed)."""
        r = self.command("meminfo")
        if not r.startswith("meminfo "):
            raise GuestError("%s: meminfo: %s" % (self.name, r))
        return {k: int(v) for k, v in (kv.split("=") for kv in r.split()[1:])}

    def disconnect_ctl(self):
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None
            self._ctl_buf = b""

    # --- QMP ---

    def monitor(self):
        """The persistent connection to the test monitor (test_monitor=True)."""
        if not self.test_monitor:
            raise GuestError("%s: started without test_monitor" % self.name)
        if self._mon is None:
            self._check_running()
            self._mon = QmpConnection(self.test_qmp_path)
        return self._mon

    def qmp(self, command, args=None, timeout=30.0, raw=False):
        """Runs a QMP command and returns its "return" value (raw=True: the
        whole reply). Uses the test monitor when there is one; otherwise a
        short connection to NAME.qmp, which fails while memtided holds it."""
        if self.test_monitor:
            mon = self.monitor()
            return mon.execute_raw(command, args, timeout) if raw else \
                mon.execute(command, args, timeout)
        self._check_running()
        c = QmpConnection(self.qmp_path, timeout=min(timeout, 10.0))
        try:
            return c.execute_raw(command, args, timeout) if raw else c.execute(command, args, timeout)
        finally:
            c.close()

    def vmem_device(self, dev_id="vmem0"):
        """The virtio-mem device's query-memory-devices data (size,
        requested-size, max-size, block-size, memaddr, node, id; bytes)."""
        for d in self.qmp("query-memory-devices"):
            if d.get("type") == "virtio-mem" and d["data"].get("id") == dev_id:
                return d["data"]
        raise GuestError("%s: no virtio-mem device %s" % (self.name, dev_id))

    def vmem_plugged_mib(self, dev_id="vmem0"):
        return self.vmem_device(dev_id)["size"] // MIB

    def set_vmem_requested_mib(self, mib, dev_id="vmem0"):
        self.qmp("qom-set", {"path": "/machine/peripheral/" + dev_id,
                             "property": "requested-size", "value": int(mib) * MIB})

    def balloon_actual_mib(self):
        return self.qmp("query-balloon")["actual"] / MIB

    def set_balloon_mib(self, mib):
        self.qmp("balloon", {"value": int(mib) * MIB})

    def wait_balloon(self, mib, timeout=120.0, tolerance_mib=0):
        """Waits until query-balloon actual is within tolerance of mib;
        returns the seconds it took."""
        t0 = time.monotonic()
        while True:
            actual = self.balloon_actual_mib()
            if abs(actual - mib) <= tolerance_mib:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise GuestError("%s: balloon actual %.1f MiB, wanted %d MiB after %.0f s"
                                 % (self.name, actual, mib, timeout))
            time.sleep(0.1)

    def enable_stats(self, interval_s=2):
        self.qmp("qom-set", {"path": "/machine/peripheral/balloon0",
                             "property": "guest-stats-polling-interval", "value": interval_s})

    def guest_stats(self):
        return self.qmp("qom-get", {"path": "/machine/peripheral/balloon0",
                                    "property": "guest-stats"})

    # --- host side ---

    def rss_bytes(self):
        """Resident set size of the QEMU process (VmRSS)."""
        self._check_running()
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise GuestError("no VmRSS for pid %d" % self.proc.pid)

    # --- stopping ---

    def disconnect(self):
        """Closes this object's serial and monitor connections (so that other
        processes can connect); the guest keeps running."""
        self.disconnect_ctl()
        if self._mon is not None:
            self._mon.close()
            self._mon = None

    def _reap(self):
        self.disconnect()
        with _live_lock:
            _live.discard(self)
        # QEMU removes its sockets when it quits, not when killed.
        for p in [self.ctl_path, self.qmp_path, self.test_qmp_path] + \
                [link for _, link in self._symlinks]:
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass

    def kill(self):
        """SIGKILL; idempotent."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            self.proc.wait()
        self._reap()

    def stop(self, timeout=15.0):
        """Clean quit (QMP quit on the test monitor, else SIGTERM); SIGKILL
        after timeout. Returns QEMU's exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                if self.test_monitor:
                    self.qmp("quit", timeout=5.0)
                else:
                    self.proc.terminate()
            except (GuestError, OSError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reap()
        return self.proc.returncode


def boot_guests(n, workdir, prefix="guest", ready_timeout=180.0, **kw):
    """Starts n guests (PREFIX1..PREFIXn) in parallel and waits until all are
    ready. On any failure every one of them is killed. Returns the list."""
    guests = [Guest("%s%d" % (prefix, i), workdir, **kw) for i in range(1, n + 1)]
    try:
        for g in guests:
            g.start()
        for g in guests:
            g.wait_ready(ready_timeout)
    except BaseException:
        for g in guests:
            g.kill()
        raise
    return guests


# --- command line -------------------------------------------------------------

def _cmd_boot(a):
    if not image_present(a.image_dir):
        ensure_image(a.image_dir)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t0 = time.monotonic()
    guests = boot_guests(a.n, a.workdir, prefix=a.prefix, mem_mib=a.mem,
                         deflate_on_oom=a.deflate_on_oom,
                         free_page_reporting=not a.no_free_page_reporting,
                         free_page_hint=a.free_page_hint, image_dir=a.image_dir,
                         test_monitor=a.test_monitor)
    try:
        for g in guests:
            g.disconnect()  # leave serial and monitors free for others
        print("# %d guest(s) ready in %.1f s (accel %s); Ctrl-C or SIGTERM stops them"
              % (len(guests), time.monotonic() - t0, accel()), flush=True)
        for g in guests:
            print("%s qmp=%s ctl=%s console=%s pid=%d%s" % (
                g.name, g.qmp_path, g.ctl_path, g.console_path, g.pid,
                " test_qmp=%s" % g.test_qmp_path if a.test_monitor else ""), flush=True)
        while not stop.wait(0.5):
            dead = [g for g in guests if not g.is_running()]
            if dead:
                print("# %s exited" % ", ".join(g.name for g in dead), file=sys.stderr)
                return 1
        return 0
    finally:
        for g in guests:
            g.stop(timeout=5.0)


def _cmd_cmd(a):
    g = Guest(a.name, a.workdir)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    s.connect(g.ctl_path)
    s.sendall(" ".join(a.line).encode() + b"\n")
    buf = b""
    try:
        while True:
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace").strip("\r")
                if text and not text.startswith("#"):
                    print(text)
                    return 1 if text.startswith("error") else 0
            data = s.recv(4096)
            if not data:
                print("error: serial socket closed", file=sys.stderr)
                return 1
            buf += data
    except socket.timeout:
        print("error: no reply within %.0f s" % a.timeout, file=sys.stderr)
        return 1


def _cmd_image(a):
    ensure_image(a.outdir)
    print(a.outdir or image_dir_default())
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("boot", help="boot N guests and keep them running")
    b.add_argument("n", type=int)
    b.add_argument("workdir")
    b.add_argument("--mem", type=int, default=512, help="MiB per guest (default 512)")
    b.add_argument("--prefix", default="guest")
    b.add_argument("--deflate-on-oom", action="store_true")
    b.add_argument("--no-free-page-reporting", action="store_true")
    b.add_argument("--free-page-hint", action="store_true")
    b.add_argument("--test-monitor", action="store_true",
                   help="add NAME.test.qmp, a second QMP monitor")
    b.add_argument("--image-dir", default=None)
    c = sub.add_parser("cmd", help="send one workload command to a running guest")
    c.add_argument("workdir")
    c.add_argument("name")
    c.add_argument("line", nargs="+")
    c.add_argument("--timeout", type=float, default=120.0)
    i = sub.add_parser("image", help="build the guest image")
    i.add_argument("outdir", nargs="?", default=None)
    a = p.parse_args(argv)
    try:
        return {"boot": _cmd_boot, "cmd": _cmd_cmd, "image": _cmd_image}[a.cmd](a)
    except GuestError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
