# SPDX-License-Identifier: GPL-2.0-or-later
"""A private, unprivileged libvirtd with real TCG guests, for memtide's
libvirt tests. Stdlib only; talks to libvirtd with virsh.

    with Libvirtd() as lv:                      # starts libvirtd, or skips (77)
        g = lv.define_guest("g1", mem_mib=512)  # defined and started
        g.wait_ready()                          # guests.Guest's methods work:
        g.command("ping"); g.alloc(100, 50)     #   workload on serial 1 (ttyS1)
        lv.uri                                  # qemu:///session?socket=...
        lv.kill(); lv.start()                   # restart (guests keep running)
        lv.freeze(); lv.thaw()                  # SIGSTOP / SIGCONT

libvirtd runs as an unprivileged user (when we are root: the system user
`memtide-test`, created if missing, else `nobody`; otherwise as ourselves),
with HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME and XDG_CACHE_HOME in a temp dir
that user owns, so the session daemon's sockets, config, logs and status
files all live there and nothing touches the host's libvirt. The guest
image is copied in (the build tree may not be readable by that user).

Teardown (stop(), context exit, interpreter exit, SIGTERM from meson's
timeout) destroys the guests, stops libvirtd, kills any QEMU it left behind
(by the pid files libvirt keeps in the temp dir) and removes the temp dir.

Environment: MEMTIDE_GUEST_IMAGE (image dir), MEMTIDE_LIBVIRT_USER (user to
run libvirtd as), MEMTIDE_LIBVIRT_KEEP=1 (keep the temp dir for debugging).
"""

import atexit
import json
import os
import pwd
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "guest"))

import guests  # noqa: E402

SKIP = 77
MIB = 1 << 20
LIBVIRTD = "/usr/sbin/libvirtd"
TEST_USER = "memtide-test"


def skip(why):
    print("SKIP: " + why, flush=True)
    sys.exit(SKIP)


def require_libvirt_daemon():
    """Skips unless libvirtd and virsh are installed."""
    for exe in (LIBVIRTD, shutil.which("virsh") or "virsh"):
        if not os.access(exe, os.X_OK):
            skip("%s not installed (libvirt-daemon, libvirt-clients)" % exe)


def require_libvirt():
    """Skips unless libvirtd, virsh, QEMU and a guest image are there;
    returns the image dir."""
    require_libvirt_daemon()
    if not guests.qemu_binary():
        skip("qemu-system-x86_64 not installed")
    image = os.environ.get("MEMTIDE_GUEST_IMAGE") or guests.image_dir_default()
    try:
        if not guests.image_present(image):
            guests.ensure_image(image, quiet=True)
    except guests.ImageUnavailable as e:
        skip("no guest image: %s" % e)
    return image


def _test_user():
    """(uid, gid) to run libvirtd as."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    name = os.environ.get("MEMTIDE_LIBVIRT_USER") or TEST_USER
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        if name == TEST_USER and shutil.which("useradd"):
            subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir",
                            "/nonexistent", "--shell", "/usr/sbin/nologin", TEST_USER],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            pw = pwd.getpwnam("nobody")
    return pw.pw_uid, pw.pw_gid


_live = set()


def _cleanup_all():
    for lv in list(_live):
        try:
            lv.stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


atexit.register(_cleanup_all)


def _sigterm_exits():
    # meson's timeout sends SIGTERM: make it run atexit (and finally:) so no
    # libvirtd or QEMU outlives the test.
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


class Libvirtd:
    """One private session libvirtd. start(), define_guest(), uri, kill(),
    freeze()/thaw(), stop(); a context manager."""

    def __init__(self, image_dir=None, prefix="memtide-lv-", with_image=True):
        """with_image=False: no guest image (test-driver domains only)."""
        self.image_src = (image_dir or require_libvirt()) if with_image else None
        if not with_image:
            require_libvirt_daemon()
        self.uid, self.gid = _test_user()
        self.dir = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.home = os.path.join(self.dir, "home")
        self.run_dir = os.path.join(self.dir, "run")
        self.image_dir = os.path.join(self.dir, "image")
        self.guest_dir = os.path.join(self.dir, "guests")
        self.log_path = os.path.join(self.dir, "libvirtd.log")
        self.socket = os.path.join(self.run_dir, "libvirt", "libvirt-sock")
        self.proc = None
        self.guests = {}
        self._prepare()
        _live.add(self)
        _sigterm_exits()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def uri(self):
        return "qemu:///session?socket=" + self.socket

    def _prepare(self):
        conf = os.path.join(self.home, ".config", "libvirt")
        for d in (conf, self.run_dir, self.image_dir, self.guest_dir):
            os.makedirs(d, exist_ok=True)
        # QEMU's stdout/stderr to a plain file: no virtlogd to start.
        with open(os.path.join(conf, "qemu.conf"), "w") as f:
            f.write('stdio_handler = "file"\n')
        if self.image_src:
            self._copy_image()
        os.chmod(self.run_dir, 0o700)
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files:
                os.chown(os.path.join(root, n), self.uid, self.gid)
        os.chown(self.dir, self.uid, self.gid)

    def _copy_image(self):
        # The kernel guests.Guest would boot (vmlinux-pvh unless disabled).
        kernel = guests.Guest("probe", self.guest_dir, image_dir=self.image_src).kernel_path()
        for src in (kernel, os.path.join(self.image_src, "initramfs.cpio.gz")):
            shutil.copy(src, self.image_dir)
        self.kernel = os.path.join(self.image_dir, os.path.basename(kernel))
        self.initrd = os.path.join(self.image_dir, "initramfs.cpio.gz")

    def _env(self):
        return {"HOME": self.home, "XDG_RUNTIME_DIR": self.run_dir,
                "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
                "XDG_CACHE_HOME": os.path.join(self.home, ".cache"),
                "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}

    def start(self, timeout=60.0):
        """Starts libvirtd (again, after kill()); returns once virsh gets an
        answer."""
        if self.alive():
            return self
        self.proc = subprocess.Popen(
            [LIBVIRTD, "--timeout", "0"], cwd=self.dir, env=self._env(),
            stdin=subprocess.DEVNULL, stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT,
            user=self.uid, group=self.gid, extra_groups=[] if os.geteuid() == 0 else None,
            preexec_fn=guests._child_setup)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise guests.GuestError("libvirtd exited with %s:\n%s"
                                        % (self.proc.returncode, self.log_text()[-3000:]))
            if os.path.exists(self.socket) and \
                    self.virsh("uri", check=False, timeout=10).returncode == 0:
                return self
            if time.monotonic() > deadline:
                raise guests.GuestError("libvirtd not answering after %.0f s:\n%s"
                                        % (timeout, self.log_text()[-3000:]))
            time.sleep(0.1)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def virsh(self, *args, check=True, timeout=30):
        r = subprocess.run(["virsh", "-q", "-c", self.uri] + list(args), capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise guests.GuestError("virsh %s: %s" % (" ".join(args), r.stderr.strip()))
        return r

    def domstats(self, name, group="--balloon"):
        """virsh domstats GROUP NAME as a dict of str -> int/str."""
        out = {}
        for line in self.virsh("domstats", group, name).stdout.splitlines():
            m = re.match(r"\s*([\w.\-]+)=(.*)", line)
            if m:
                v = m.group(2)
                out[m.group(1)] = int(v) if v.isdigit() else v
        return out

    # --- faults ---

    def kill(self, sig=signal.SIGKILL):
        """Kills libvirtd (guests keep running; a restart picks them up)."""
        if self.alive():
            self.proc.send_signal(sig)
            self.proc.wait()

    def freeze(self):
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.proc.send_signal(signal.SIGCONT)

    # --- guests ---

    def define_guest(self, name, start=True, **kw):
        """Defines (and by default starts) a guest; returns a LibvirtGuest."""
        g = LibvirtGuest(self, name, **kw)
        self.guests[name] = g
        g.define()
        if start:
            g.start()
        return g

    def qemu_pids(self):
        """Pids of the QEMUs this libvirtd started (from its pid files)."""
        pids = []
        d = os.path.join(self.run_dir, "libvirt", "qemu", "run")
        try:
            names = os.listdir(d)
        except OSError:
            return pids
        for n in names:
            if n.endswith(".pid"):
                try:
                    with open(os.path.join(d, n)) as f:
                        pids.append(int(f.read().strip()))
                except (OSError, ValueError):
                    pass
        return pids

    def stop(self):
        """Destroys the guests, stops libvirtd, removes everything. Idempotent."""
        if self.proc is not None and self.proc.poll() is None:
            self.thaw()
            for g in list(self.guests.values()):
                self.virsh("destroy", g.name, check=False, timeout=15)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.qemu_pids():
            _kill_qemu(pid)
        for g in self.guests.values():
            g.disconnect()
        _live.discard(self)
        if os.path.isdir(self.dir) and os.environ.get("MEMTIDE_LIBVIRT_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


def _kill_qemu(pid):
    """SIGKILL pid if it still is a QEMU (pid files can outlive their process)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if b"qemu-system" not in f.read():
                return
        os.kill(pid, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        pass


class LibvirtGuest(guests.Guest):
    """A test guest run by libvirtd instead of by guests.py. The workload
    (serial 1, a Unix socket), console (serial 0, a file) and the waiting
    helpers are guests.Guest's; start/stop/kill and QMP go through libvirt.
    QMP (qmp(), guest_stats()) uses virsh qemu-monitor-command, which
    libvirt marks as tainting the domain."""

    VMEM_ALIAS = "virtiomem0"  # libvirt's own alias for the first virtio-mem device

    def __init__(self, daemon, name, mem_mib=512, max_mib=None, uuid=None,
                 free_page_reporting=True, deflate_on_oom=False, stats_period=1,
                 vmem_mib=0, vmem_block_mib=2, vmem_requested_mib=0, append=None, balloon=True):
        """vmem_mib > 0: a <memory model='virtio-mem'> of that size (libvirt
        wants a NUMA cell for it, ACPI for the guest to find its hotplug
        range, and <maxMemory>), as guests.Guest's options say."""
        super().__init__(name, daemon.guest_dir, mem_mib=mem_mib, deflate_on_oom=deflate_on_oom,
                         free_page_reporting=free_page_reporting, image_dir=daemon.image_dir,
                         uuid=uuid or str(uuidlib.uuid4()), vmem_mib=vmem_mib,
                         vmem_block_mib=vmem_block_mib, vmem_requested_mib=vmem_requested_mib,
                         append=append, balloon=balloon)
        self.daemon = daemon
        self.max_mib = max_mib or mem_mib
        self.stats_period = stats_period
        self._pid = None

    def vmem_plugged_mib(self, dev_id=VMEM_ALIAS):
        return super().vmem_plugged_mib(dev_id)

    def set_vmem_requested_mib(self, mib, dev_id=VMEM_ALIAS):
        return super().set_vmem_requested_mib(mib, dev_id)

    def _memory_xml(self):
        if not self.vmem_mib:
            return ("<memory unit='MiB'>%d</memory>" % self.max_mib, "<cpu mode='maximum'/>",
                    "", "")
        return ("<maxMemory slots='4' unit='MiB'>%d</maxMemory><memory unit='MiB'>%d</memory>"
                % (self.max_mib + self.vmem_mib, self.max_mib + self.vmem_mib),
                "<cpu mode='maximum'><numa><cell id='0' cpus='0-%d' memory='%d' unit='MiB'/>"
                "</numa></cpu>" % (self.smp - 1, self.max_mib) if self.smp > 1 else
                "<cpu mode='maximum'><numa><cell id='0' cpus='0' memory='%d' unit='MiB'/>"
                "</numa></cpu>" % self.max_mib,
                "<features><acpi/></features>",
                "<memory model='virtio-mem'><target><size unit='MiB'>%d</size><node>0</node>"
                "<block unit='MiB'>%d</block><requested unit='MiB'>%d</requested></target>"
                "</memory>" % (self.vmem_mib, self.vmem_block_mib, self.vmem_requested_mib))

    def domain_xml(self):
        balloon = "<memballoon model='virtio' freePageReporting='%s'%s>" % (
            "on" if self.free_page_reporting else "off",
            " deflateOnOOM='on'" if self.deflate_on_oom else "")
        if self.stats_period:
            balloon += "<stats period='%d'/>" % self.stats_period
        balloon += "</memballoon>"
        if not self.balloon:
            balloon = "<memballoon model='none'/>"
        memory, cpu, features, vmem = self._memory_xml()
        cmdline = "console=ttyS0 panic=-1 loglevel=4 no_timer_check"
        if self.append:
            cmdline += " " + self.append
        e = escape
        return """<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  {memory}
  <currentMemory unit='MiB'>{cur}</currentMemory>
  <vcpu>{smp}</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  {features}
  {cpu}
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{qemu}</emulator>
    <controller type='usb' model='none'/>
    <serial type='file'><source path='{console}'/><target port='0'/></serial>
    <serial type='unix'><source mode='bind' path='{ctl}'/><target port='1'/></serial>
    {balloon}
    {vmem}
  </devices>
</domain>
""".format(name=e(self.name), uuid=self.uuid, memory=memory, cur=self.mem_mib, smp=self.smp,
           cmdline=e(cmdline), features=features, cpu=cpu, vmem=vmem,
           kernel=e(self.daemon.kernel), initrd=e(self.daemon.initrd),
           qemu=e(guests.qemu_binary()), console=e(self.console_path), ctl=e(self.ctl_path),
           balloon=balloon)

    def define(self):
        path = os.path.join(self.daemon.dir, self.name + ".xml")
        with open(path, "w") as f:
            f.write(self.domain_xml())
        self.daemon.virsh("define", path)

    @property
    def pid(self):
        return self._pid

    def start(self, timeout=60.0):
        for p in (self.console_path, self.ctl_path):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
        self.disconnect()
        self.daemon.virsh("start", self.name, timeout=timeout)
        self.started_at = time.monotonic()
        pidfile = os.path.join(self.daemon.run_dir, "libvirt", "qemu", "run", self.name + ".pid")
        with open(pidfile) as f:
            self._pid = int(f.read().strip())
        return self

    def is_running(self):
        if not self._pid:
            return False
        try:
            with open("/proc/%d/cmdline" % self._pid, "rb") as f:
                return ("guest=%s," % self.name).encode() in f.read()
        except OSError:
            return False

    def _check_running(self):
        if not self.is_running():
            raise guests.GuestError("QEMU for %s is not running; libvirtd log:\n%s"
                                    % (self.name, self.daemon.log_text()[-2000:]))

    def qemu_log(self):
        try:
            with open(os.path.join(self.daemon.home, ".cache", "libvirt", "qemu", "log",
                                   self.name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def rss_bytes(self):
        self._check_running()
        with open("/proc/%d/status" % self._pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise guests.GuestError("no VmRSS for pid %d" % self._pid)

    # --- through libvirt ---

    def virsh(self, *args, **kw):
        return self.daemon.virsh(*args, **kw)

    def suspend(self):
        self.virsh("suspend", self.name)

    def resume(self):
        self.virsh("resume", self.name)

    def balloon_actual_mib(self):
        return self.daemon.domstats(self.name)["balloon.current"] / 1024

    def set_balloon_mib(self, mib):
        self.virsh("setmem", self.name, "%dM" % mib, "--live")

    def qmp(self, command, args=None, timeout=30.0, raw=False):
        msg = {"execute": command}
        if args is not None:
            msg["arguments"] = args
        r = self.virsh("qemu-monitor-command", self.name, json.dumps(msg), timeout=timeout)
        reply = json.loads(r.stdout)
        if "error" in reply:
            raise guests.QmpError(command, reply["error"])
        return reply if raw else reply["return"]

    def kill(self):
        """Destroys the domain (SIGKILL when libvirtd cannot); idempotent."""
        if self.is_running():
            if not self.daemon.alive() or \
                    self.virsh("destroy", self.name, check=False, timeout=15).returncode != 0:
                _kill_qemu(self._pid)
        self.disconnect()

    def stop(self, timeout=15.0):
        self.kill()
        return 0


class Probe:
    """tests/libvirt-probe (the backend on an sd-event loop) as a child
    process: send() a command and get its reply with the round-trip time;
    results arrive as events, collected by a reader thread."""

    def __init__(self, uri, build_dir=None, args=()):
        build_dir = build_dir or os.environ.get("MEMTIDE_BUILD_DIR")
        if not build_dir:
            skip("MEMTIDE_BUILD_DIR not set (run through meson test)")
        exe = os.path.join(build_dir, "tests", "libvirt-probe")
        fd, self.stderr_path = tempfile.mkstemp(prefix="memtide-probe-", suffix=".stderr")
        self._stderr = os.fdopen(fd, "w")
        self.proc = subprocess.Popen([exe] + list(args) + [uri], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     bufsize=1, preexec_fn=guests._child_setup)
        self.events = []
        self._replies = queue.Queue()
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            if "reply" in m:
                self._replies.put((time.monotonic(), m))
            else:
                m["seen_at"] = time.monotonic()
                with self._cond:
                    self.events.append(m)
                    self._cond.notify_all()
        self._replies.put((time.monotonic(), None))

    def send(self, line, timeout=10.0):
        """Sends a command; returns (reply, round_trip_seconds)."""
        t0 = time.monotonic()
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        try:
            t1, reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("probe did not answer %r within %.0f s" % (line, timeout))
        if reply is None:
            raise AssertionError("probe exited; stderr: %s" % self.stderr_text())
        return reply, t1 - t0

    def status(self):
        return self.send("status")[0]["status"]

    def wait_event(self, pred, timeout, what, start=0):
        """Waits for an event (index >= start) with pred(event) true; returns it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for e in self.events[start:]:
                    if pred(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out after %.0f s waiting for %s; last events: %s"
                                         % (timeout, what, self.events[-5:]))
                self._cond.wait(min(left, 0.5))

    def mark(self):
        """An index for wait_event(start=...): only events after now."""
        with self._cond:
            return len(self.events)

    def stats(self, timeout=30.0):
        """Requests stats and waits for the answer; returns the stats event."""
        reply, _ = self.send("stats")
        assert reply["r"] == 0, reply
        rid = reply["request_id"]
        return self.wait_event(lambda e: e.get("request_id") == rid, timeout, "stats %d" % rid)

    def stderr_text(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def close(self):
        """Ends the probe; returns everything it wrote on stderr (nothing,
        normally: lib/ logs nothing, and libvirt's printing is silenced;
        sanitizer reports at exit end up here too)."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        if not hasattr(self, "final_stderr"):
            self.final_stderr = self.stderr_text()
        try:
            os.unlink(self.stderr_path)
        except OSError:
            pass
        return self.final_stderr


def test_driver_node_file(path, n, prefix="guest"):
    """A test:///FILE.xml node with n running domains named PREFIX1..PREFIXn."""
    with open(path, "w") as f:
        f.write("<node>\n")
        for i in range(1, n + 1):
            f.write("<domain type='test'><name>%s%d</name>"
                    "<uuid>6d656d74-6964-6500-0000-%012x</uuid>"
                    "<memory unit='MiB'>512</memory><currentMemory unit='MiB'>384</currentMemory>"
                    "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>"
                    "<devices><memballoon model='virtio'/></devices></domain>\n" % (prefix, i, i))
        f.write("</node>\n")
